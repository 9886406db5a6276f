/**
 * Prompts of a given shape: fixed wording (a system prompt, an instruction
 * before or after) wrapped around content that varies per request, with the
 * varied part's share of the text set by the caller. This is what a campaign
 * family or an honest service sends; which wording, which shape and which
 * share is the family's choice (sim/families), never the gateway's.
 *
 * Shares are counted in characters of the text the gateway reads: the system
 * prompt (when sent) plus the user turn. Pure; runs on Node and in workerd.
 */
import type { Rng } from "./rng.ts";
import {
  ADJECTIVES,
  CONCEPTS,
  ITEMS,
  LANGS,
  NAMES,
  NOUNS,
  PEOPLE,
  PROBLEMS,
  TOPICS,
  VERBS,
  codeSnippet,
  humanPrompt,
  paragraph,
  sentence,
} from "./prompts.ts";

export const CONTENT_KINDS = ["math", "code", "logic", "question", "response-pair", "agent-task", "document"] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

const CITIES = ["Lisbon", "Osaka", "Denver", "Nairobi", "Oslo", "Lima", "Hanoi", "Porto", "Quito", "Tbilisi", "Perth", "Gdansk", "Accra", "Cusco"];
const REPOS = ["billing-api", "ledger", "web-shop", "ingest-worker", "auth-service", "mobile-app", "data-pipeline", "search-indexer", "notifier"];
const SHAPES = ["triangle", "rectangle", "circle", "trapezoid", "hexagon", "cylinder", "cone", "sphere"];
const UNITS = ["kilometres", "litres", "hours", "euros", "kilograms", "metres", "minutes", "dollars"];

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const PIECES: Record<ContentKind, (rng: Rng) => string> = {
  math: (rng) =>
    rng.pick([
      () => `${rng.pick(NAMES)} buys ${rng.int(2, 90)} ${rng.pick(ITEMS)} at ${rng.int(2, 40)} ${rng.pick(UNITS)} each and sells a third of them to ${rng.pick(PEOPLE)} for ${rng.int(5, 300)}. What is the profit per ${rng.pick(ITEMS).replace(/s$/, "")}?`,
      () => `A ${rng.pick(SHAPES)} has sides of ${rng.int(2, 60)} and ${rng.int(2, 60)} ${rng.pick(UNITS)}. If each side grows by ${rng.int(2, 30)} percent, by how much does its area change?`,
      () => `Two trains leave ${rng.pick(CITIES)} and ${rng.pick(CITIES)} at ${rng.int(1, 12)}:${rng.int(10, 59)}, going ${rng.int(40, 180)} and ${rng.int(40, 180)} per hour towards each other over ${rng.int(100, 900)} ${rng.pick(UNITS)}. When do they meet?`,
      () => `Find every integer n below ${rng.int(50, 5000)} such that n squared plus ${rng.int(2, 99)} is divisible by ${rng.int(3, 41)}.`,
      () => `The ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} fund grows ${rng.int(2, 15)} percent a year, compounded ${rng.pick(["monthly", "quarterly", "daily"])}. After how many years does ${rng.int(100, 9000)} become ${rng.int(10_000, 90_000)}?`,
      () => `A bag holds ${rng.int(2, 20)} red, ${rng.int(2, 20)} blue and ${rng.int(2, 20)} green ${rng.pick(ITEMS)}. ${rng.pick(NAMES)} draws ${rng.int(2, 5)} without replacement. What is the chance that all are the same colour?`,
      () => `Prove that for every positive integer k the sum of the first k ${rng.pick(["odd numbers", "cubes", "triangular numbers", "powers of two"])} satisfies the closed form you derive.`,
    ])(),
  code: (rng) =>
    rng.pick([
      () => `Write a ${rng.pick(LANGS)} function that ${rng.pick(VERBS)}s a list of ${rng.pick(NOUNS)} records and returns the ${rng.pick(ADJECTIVES)} ones grouped by ${rng.pick(NOUNS)}.`,
      () => `This ${rng.pick(LANGS)} code ${rng.pick(PROBLEMS)}:\n${codeSnippet(rng, rng.pick(LANGS))}`,
      () => `Implement an LRU cache for ${rng.pick(NOUNS)} lookups in ${rng.pick(LANGS)} with a capacity of ${rng.int(8, 4096)} and O(1) operations.`,
      () => `Design a ${rng.pick(LANGS)} module that reads ${rng.pick(NOUNS)} events from a queue, deduplicates them by id and writes a ${rng.pick(["daily", "hourly", "weekly"])} summary to a ${rng.pick(NOUNS)} table.`,
      () => `Given a grid of ${rng.int(3, 900)} by ${rng.int(3, 900)} cells where some cells are ${rng.pick(ADJECTIVES)}, count the islands of connected ${rng.pick(NOUNS)} cells.`,
      () => `Refactor the ${rng.pick(REPOS)} ${rng.pick(NOUNS)} handler so it no longer ${rng.pick(PROBLEMS)}; keep the public API of ${rng.pick(VERBS)}${capital(rng.pick(NOUNS).replace(/[^a-z]/g, ""))}().`,
    ])(),
  logic: (rng) => {
    const people = [...new Set(Array.from({ length: 5 }, () => rng.pick(NAMES)))];
    return rng.pick([
      () => `${people.join(", ")} sit around a table. ${people[0] ?? "A"} is not next to ${people[1] ?? "B"}; the ${rng.pick(ADJECTIVES)} one sits opposite the owner of the ${rng.pick(NOUNS)}. Who sits where?`,
      () => `Exactly one of these statements is true: the ${rng.pick(NOUNS)} is ${rng.pick(ADJECTIVES)}; ${rng.pick(NAMES)} lied about the ${rng.pick(NOUNS)}; the ${rng.pick(NOUNS)} was moved on ${rng.pick(["Monday", "Friday", "Sunday"])}. Which one?`,
      () => `A knight always tells the truth and a knave always lies. ${people[0] ?? "A"} says ${people[1] ?? "B"} owns the ${rng.pick(NOUNS)}; ${people[1] ?? "B"} says they are both ${rng.pick(["knights", "knaves"])}. What are they?`,
      () => `Order the ${rng.pick(NOUNS)}s ${people.slice(0, 4).join(", ")} brought, given that the ${rng.pick(ADJECTIVES)} one came before the ${rng.pick(NOUNS)} and after ${rng.pick(NAMES)}.`,
    ])();
  },
  question: (rng) => humanPrompt(rng, false),
  "response-pair": (rng) =>
    `Prompt: ${humanPrompt(rng, false).slice(0, 240)}\nResponse A: ${paragraph(rng, rng.int(1, 3))}\nResponse B: ${paragraph(rng, rng.int(1, 3))}`,
  "agent-task": (rng) =>
    rng.pick([
      () => `Ticket: in the ${rng.pick(REPOS)} repository, find why the ${rng.pick(NOUNS)} job ${rng.pick(PROBLEMS)}, patch it, run the tests and open a pull request.`,
      () => `Task: find the ${rng.int(2, 5)} cheapest ${rng.pick(["flights", "hotels", "trains", "rental cars"])} from ${rng.pick(CITIES)} to ${rng.pick(CITIES)} for ${rng.int(1, 9)} people, check the weather there and book the best option.`,
      () => `Task: pull the ${rng.pick(["weekly", "monthly", "quarterly"])} ${rng.pick(NOUNS)} numbers from the warehouse, compare them with the ${rng.pick(ADJECTIVES)} forecast and email ${rng.pick(PEOPLE)} a summary.`,
      () => `Ticket: migrate the ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} table in ${rng.pick(REPOS)} to the new schema without downtime; write the migration and a rollback.`,
    ])(),
  document: (rng) => `${capital(rng.pick(CONCEPTS))}: ${paragraph(rng, rng.int(2, 4))} ${sentence(rng)} This matters for ${rng.pick(TOPICS)}.`,
};

/** Varied text of about `chars` characters (cut there): pieces of one kind, joined as a list would be. */
export function variedContent(kind: ContentKind, rng: Rng, chars: number): string {
  const target = Math.max(1, Math.round(chars));
  const parts: string[] = [];
  let length = 0;
  while (length < target) {
    const piece = PIECES[kind](rng);
    parts.push(piece);
    length += piece.length + 2;
  }
  return parts.join("\n\n").slice(0, target).trimEnd();
}

export type WrapperShape = {
  /** Null: no system prompt on this request. */
  system: string | null;
  instruction: string;
  placement: "prefix" | "suffix" | "system";
  content: ContentKind;
  /** The varied part's share of the text, 0..1 exclusive. */
  variedShare: number;
};

export type WrappedPrompt = { system: string | null; user: string; fixedChars: number; variedChars: number };

// Between the instruction and the content, as people paste them.
const SEPARATOR = "\n\n";

/** A request's system prompt and user turn: the fixed wording around varied content of the asked share. */
export function wrappedPrompt(shape: WrapperShape, rng: Rng): WrappedPrompt {
  const system = shape.placement === "system" ? [shape.system, shape.instruction].filter((s) => s !== null).join("\n\n") : shape.system;
  const inUser = shape.placement === "system" ? "" : shape.instruction;
  const fixedChars = (system?.length ?? 0) + inUser.length + (inUser === "" ? 0 : SEPARATOR.length);
  const share = Math.min(0.95, Math.max(0.05, shape.variedShare));
  const content = variedContent(shape.content, rng, (fixedChars * share) / (1 - share));
  const user = inUser === "" ? content : shape.placement === "prefix" ? `${inUser}${SEPARATOR}${content}` : `${content}${SEPARATOR}${inUser}`;
  return { system, user, fixedChars, variedChars: content.length };
}
