/**
 * Generated prompts for measuring wrapper keys: campaigns that wrap a fixed
 * instruction around varied content (problems, code, essays) at a chosen
 * share of the text, and honest prompts written the many ways people open and
 * close a request. Seeded, so a measurement is the same on every run.
 * Shared by test/lib/fingerprint/wrapper.test.ts and bench/wrapper.ts.
 */
import { normalizeText } from "../../../lib/fingerprint/content.ts";
import { bandKeys, simhash } from "../../../lib/fingerprint/simhash.ts";
import { type WrapperOptions, wrapperKeys } from "../../../lib/fingerprint/wrapper.ts";

export type Rng = () => number;

/** mulberry32: small, seedable, good enough to draw words. */
export function rngOf(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rng: Rng, list: readonly T[]): T {
  const item = list[Math.floor(rng() * list.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const NOUNS = (
  "apple river engine teacher garden market window signal bridge planet budget doctor lantern harbor violin tractor " +
  "glacier recipe ticket sensor ladder museum orchard battery canyon pilot blanket compass factory meadow ribbon " +
  "server kernel packet router cursor buffer thread socket matrix vector tensor graph queue stack parser token " +
  "contract invoice tenant landlord manager client vendor student parent neighbour patient athlete farmer author " +
  "village island desert forest valley castle temple station airport library kitchen bakery clinic theatre stadium " +
  "storm harvest festival voyage treaty rebellion empire dynasty election protest merger audit lawsuit mortgage"
).split(" ");
const VERBS = (
  "carry build measure paint repair deliver collect sort compare borrow launch follow protect design cancel " +
  "schedule translate summarise debug refactor deploy migrate compress encrypt index render train predict " +
  "negotiate approve reject publish review explain estimate balance harvest plant bake sail climb"
).split(" ");
const ADJECTIVES = (
  "quiet rapid ancient fragile wealthy narrow hollow bright bitter gentle frozen crowded rural urban modern " +
  "broken hidden golden rusty silent heavy shallow steep humid noisy stubborn curious reliable obsolete"
).split(" ");
const NAMES = "Alice Bruno Chen Dana Emeka Farah Goran Hana Ivan Jun Kofi Lena Mateo Nadia Omar Priya Quinn Rosa Sami Tomas".split(" ");
const UNITS = "minutes hours days kilometres litres kilograms dollars metres seconds weeks".split(" ");

function nounPhrase(rng: Rng): string {
  return rng() < 0.5 ? `the ${pick(rng, ADJECTIVES)} ${pick(rng, NOUNS)}` : `a ${pick(rng, NOUNS)}`;
}

/** One sentence of ordinary prose on a random subject. */
function proseSentence(rng: Rng): string {
  const forms = [
    () => `${capitalise(nounPhrase(rng))} ${pick(rng, VERBS)}s ${nounPhrase(rng)} near ${nounPhrase(rng)}.`,
    () => `When ${pick(rng, NAMES)} tried to ${pick(rng, VERBS)} ${nounPhrase(rng)}, ${nounPhrase(rng)} was ${pick(rng, ADJECTIVES)}.`,
    () => `In ${int(rng, 1700, 2024)} ${nounPhrase(rng)} began to ${pick(rng, VERBS)} every ${pick(rng, NOUNS)} in ${nounPhrase(rng)}.`,
    () => `Most people think ${nounPhrase(rng)} is ${pick(rng, ADJECTIVES)}, but ${nounPhrase(rng)} tells another story.`,
    () => `${capitalise(pick(rng, ADJECTIVES))} ${pick(rng, NOUNS)}s and ${pick(rng, ADJECTIVES)} ${pick(rng, NOUNS)}s rarely ${pick(rng, VERBS)} together.`,
  ];
  return pick(rng, forms)();
}

function problemSentence(rng: Rng): string {
  const forms = [
    () => `${pick(rng, NAMES)} has ${int(rng, 2, 90)} ${pick(rng, NOUNS)}s and gives ${int(rng, 1, 9)} to each ${pick(rng, NOUNS)}.`,
    () => `A ${pick(rng, NOUNS)} travels ${int(rng, 10, 900)} ${pick(rng, UNITS)} in ${int(rng, 2, 12)} ${pick(rng, UNITS)}.`,
    () => `Let f(x) = ${int(rng, 2, 9)}x^2 + ${int(rng, 1, 20)}x - ${int(rng, 1, 50)}.`,
    () => `The ${pick(rng, NOUNS)} costs ${int(rng, 3, 500)} dollars after a ${int(rng, 5, 40)} percent discount.`,
    () => `A ${pick(rng, ADJECTIVES)} ${pick(rng, NOUNS)} is ${int(rng, 2, 30)} metres wide and ${int(rng, 2, 30)} metres long.`,
  ];
  return pick(rng, forms)();
}

function problemQuestion(rng: Rng): string {
  const forms = [
    () => `How many ${pick(rng, NOUNS)}s are left?`,
    () => `What is the value of x when f(x) = ${int(rng, 0, 99)}?`,
    () => `Find the original price of the ${pick(rng, NOUNS)}.`,
    () => `How long does the ${pick(rng, NOUNS)} take to cover ${int(rng, 10, 500)} ${pick(rng, UNITS)}?`,
    () => `Prove that the area is at least ${int(rng, 4, 400)} square metres.`,
  ];
  return pick(rng, forms)();
}

const IDENTIFIERS = "total count items result index value node cache left right buffer acc parts row col key item scores".split(" ");

function codeLine(rng: Rng): string {
  const a = pick(rng, IDENTIFIERS);
  const b = pick(rng, IDENTIFIERS);
  const forms = [
    () => `    ${a} = ${b} + ${int(rng, 1, 99)}`,
    () => `    for ${a} in ${b}:`,
    () => `        ${a}.append(${b}[${int(rng, 0, 9)}])`,
    () => `    if ${a} > ${b}:`,
    () => `        return ${a} * ${b}`,
    () => `    ${a} = ${pick(rng, VERBS)}_${pick(rng, NOUNS)}(${b}, ${int(rng, 0, 9)})`,
  ];
  return pick(rng, forms)();
}

export type ContentKind = "problem" | "code" | "essay";

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w !== "").length;
}

/** Varied content of about `words` words, ending as such content does (a question mark, a full stop, a code line). */
export function contentOf(kind: ContentKind, words: number, rng: Rng): string {
  if (kind === "code") {
    const lines = [`def ${pick(rng, VERBS)}_${pick(rng, NOUNS)}(${pick(rng, IDENTIFIERS)}, ${pick(rng, IDENTIFIERS)}):`];
    for (let total = 3; total < words; ) {
      const line = codeLine(rng);
      lines.push(line);
      total += wordCount(line);
    }
    return "```python\n" + lines.join("\n") + "\n```";
  }
  if (kind === "problem") {
    const sentences: string[] = [];
    for (let total = 0; total + 6 < words; ) {
      const sentence = problemSentence(rng);
      sentences.push(sentence);
      total += wordCount(sentence);
    }
    sentences.push(problemQuestion(rng));
    return sentences.join(" ");
  }
  const paragraphs: string[] = [];
  let paragraph: string[] = [];
  let total = 0;
  while (total < words) {
    const s = proseSentence(rng);
    paragraph.push(s);
    total += wordCount(s);
    if (paragraph.length >= int(rng, 3, 6)) {
      paragraphs.push(paragraph.join(" "));
      paragraph = [];
    }
  }
  if (paragraph.length > 0) paragraphs.push(paragraph.join(" "));
  return paragraphs.join("\n\n");
}

const INSTRUCTION_SENTENCES = [
  "Think through the problem carefully before you answer",
  "Write out every intermediate step of your reasoning in full detail",
  "Explain why each step follows from the previous one",
  "Check your work twice and correct any mistake you find along the way",
  "Give the final answer on its own line after the word ANSWER",
  "You are grading a response written by another assistant",
  "Score the response from 1 to 10 for accuracy, completeness and clarity",
  "List every factual error and explain how it should have been stated",
  "Return your verdict as JSON with the fields score, errors and rationale",
  "Rewrite the passage below as a high quality training example for a tutoring model",
  "Produce two alternative answers and say which one a careful expert would prefer",
  "Describe the tools you would call, their arguments and what you expect each to return",
  "Show the chain of thought you used, including dead ends you considered and rejected",
  "Keep the explanation rigorous but readable for an advanced undergraduate",
  "Do not skip any algebra even if it seems obvious",
  "Review the code below for bugs, performance problems and unclear names",
  "For each issue quote the line, explain the problem and propose a fix",
  "Summarise the text below in five bullet points and then critique its argument",
  "Answer in English and keep the whole response under 400 words",
  "Begin with a one sentence restatement of the task in your own words",
];

export type Position = "prefix" | "suffix" | "both";

export type CampaignSpec = {
  position: Position;
  /** Words of fixed instruction (split over both ends for "both"). */
  wrapperWords: number;
  content: ContentKind;
  /** Share of the text's words that are varied content, 0..1. */
  share: number;
  /** What joins instruction and content. */
  separator: string;
  /** How the instruction ends: "" leaves no sentence boundary of its own. */
  terminator: string;
};

/** Exactly `words` words of instruction, from sentences a campaign's author might write, ending with `terminator`. */
export function instructionOf(words: number, terminator: string, rng: Rng): string {
  const out: string[] = [];
  while (out.length < words) {
    const sentence = pick(rng, INSTRUCTION_SENTENCES).split(" ");
    sentence[sentence.length - 1] += ".";
    out.push(...sentence);
  }
  out.length = words;
  const last = (out[words - 1] ?? "").replace(/\.$/, "");
  out[words - 1] = last + terminator;
  return out.join(" ");
}

const ZERO_WIDTH = ["\u200b", "\u200c", "\u2060", "\ufeff"];

/** The variations a campaign's tooling adds for free: numbers, spacing, an invisible character. */
function jitter(text: string, rng: Rng): string {
  let out = text.replace(/[0-9]+/g, () => String(int(rng, 1, 999)));
  if (rng() < 0.3) {
    const at = out.indexOf(" ", int(rng, 0, Math.max(0, out.length - 1)));
    if (at > 0) out = out.slice(0, at) + pick(rng, ZERO_WIDTH) + out.slice(at);
  }
  return out;
}

/** A campaign: one fixed wrapper, `count` requests of fresh content around it. */
export function campaignPrompts(spec: CampaignSpec, count: number, rng: Rng): string[] {
  const sides = spec.position === "both" ? [Math.ceil(spec.wrapperWords / 2), Math.floor(spec.wrapperWords / 2)] : [spec.wrapperWords];
  const wrappers = sides.map((w) => instructionOf(w, spec.terminator, rng));
  const contentWords = Math.max(2, Math.round((spec.wrapperWords * spec.share) / (1 - spec.share)));
  const prompts: string[] = [];
  for (let i = 0; i < count; i++) {
    const content = contentOf(spec.content, contentWords, rng);
    const trailing = pick(rng, ["", " ", "\n", "  \n"]);
    const [first = "", second = ""] = wrappers.map((w) => jitter(w, rng));
    const text =
      spec.position === "prefix"
        ? `${first}${spec.separator}${content}`
        : spec.position === "suffix"
          ? `${content}${spec.separator}${first}`
          : `${first}${spec.separator}${content}${spec.separator}${second}`;
    prompts.push(text + trailing);
  }
  return prompts;
}

const GREETINGS = ["Hi,", "Hello!", "Hey there,", "Good morning.", "Hi Claude,", "Quick question:", "Hello, hope you are well."];
const OPENINGS = [
  "Can you help me",
  "Could you help me",
  "Can you please help me",
  "I need you to",
  "I need help to",
  "Please",
  "I want to",
  "I'm trying to",
  "I am trying to",
  "Help me",
  "Would you",
  "Could you",
  "Can you",
  "I would like you to",
  "My manager asked me to",
  "For my class I have to",
  "I'd love it if you could",
  "Is it possible to",
];
const TASKS = [
  "write an email to my landlord about",
  "write an email to my boss explaining",
  "write a cover letter for a job at",
  "write a short story about",
  "write a poem about",
  "write a python function that",
  "write a SQL query that finds",
  "explain the difference between",
  "summarise this article about",
  "translate this paragraph about",
  "fix this bug in my code where",
  "plan a trip to",
  "come up with a name for",
  "make a workout plan for",
  "draft a speech for",
  "create a lesson plan about",
  "compare two laptops for",
  "rewrite this paragraph about",
  "give me feedback on my essay about",
  "design a database for",
];
const QUESTIONS = [
  "What is the best way to",
  "How do I",
  "How can I",
  "What's the difference between",
  "Why does",
  "Is it true that",
  "What should I do if",
  "Explain how to",
  "Tell me how to",
  "Write a",
  "Write me a",
  "Give me",
  "List",
  "Summarize",
];
const CLOSINGS = [
  "",
  "",
  "",
  "Thanks!",
  "Thanks in advance.",
  "Thank you so much!",
  "Please keep it short.",
  "Use bullet points.",
  "Explain like I'm five.",
  "Make it funny.",
  "Be concise.",
  "Any help is appreciated!",
  "Please be detailed.",
  "Keep it under 200 words.",
  "Thanks, you're the best.",
];

function subjectClause(rng: Rng): string {
  const forms = [
    () => `${nounPhrase(rng)} that keeps trying to ${pick(rng, VERBS)} ${nounPhrase(rng)}`,
    () => `how ${nounPhrase(rng)} can ${pick(rng, VERBS)} ${nounPhrase(rng)}`,
    () => `${pick(rng, NAMES)} and ${nounPhrase(rng)} in ${nounPhrase(rng)}`,
    () => `${pick(rng, ADJECTIVES)} ${pick(rng, NOUNS)}s for ${nounPhrase(rng)}`,
    () => `the ${pick(rng, NOUNS)} ${pick(rng, NOUNS)} at work`,
    () => `${pick(rng, NOUNS)}s`,
  ];
  return pick(rng, forms)();
}

/** One honest prompt: an opening people share, their own subject and details, maybe pasted material, maybe a sign-off. */
export function honestPrompt(rng: Rng): string {
  const parts: string[] = [];
  if (rng() < 0.25) parts.push(pick(rng, GREETINGS) + (rng() < 0.5 ? "\n" : " "));
  const ask =
    rng() < 0.55
      ? `${pick(rng, OPENINGS)} ${pick(rng, TASKS)} ${subjectClause(rng)}${pick(rng, ["?", ".", "", "!"])}`
      : `${pick(rng, QUESTIONS)} ${pick(rng, VERBS)} ${subjectClause(rng)}${pick(rng, ["?", ".", ""])}`;
  parts.push(ask);
  const details = int(rng, 0, 4);
  for (let i = 0; i < details; i++) parts.push(" " + proseSentence(rng));
  const pasted = rng();
  if (pasted < 0.15) parts.push("\n\n" + contentOf("code", int(rng, 10, 120), rng));
  else if (pasted < 0.3) parts.push("\n\n" + contentOf("essay", int(rng, 30, 300), rng));
  else if (pasted < 0.4) parts.push("\n\n" + contentOf("problem", int(rng, 15, 60), rng));
  const closing = pick(rng, CLOSINGS);
  if (closing !== "") parts.push(pick(rng, [" ", "\n", "\n\n"]) + closing);
  return parts.join("");
}

export function honestPrompts(count: number, rng: Rng): string[] {
  return Array.from({ length: count }, () => honestPrompt(rng));
}

/** Share of prompts carrying the most common key, and the key. */
export function concentration(keysPerPrompt: readonly string[][]): { share: number; key: string | null } {
  const counts = new Map<string, number>();
  for (const keys of keysPerPrompt) for (const key of new Set(keys)) counts.set(key, (counts.get(key) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [key, n] of counts) if (n > bestCount) [best, bestCount] = [key, n];
  return { share: keysPerPrompt.length === 0 ? 0 : bestCount / keysPerPrompt.length, key: best };
}

/** Share of prompts that carry a key at least one other prompt carries too. */
export function collisionRate(keysPerPrompt: readonly string[][]): number {
  const counts = new Map<string, number>();
  for (const keys of keysPerPrompt) for (const key of new Set(keys)) counts.set(key, (counts.get(key) ?? 0) + 1);
  const colliding = keysPerPrompt.filter((keys) => keys.some((key) => (counts.get(key) ?? 0) > 1)).length;
  return keysPerPrompt.length === 0 ? 0 : colliding / keysPerPrompt.length;
}

export const SHARES = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const CONTENTS: readonly ContentKind[] = ["problem", "code", "essay"];
const JOINS: readonly { separator: string; terminator: string }[] = [
  { separator: "\n\n", terminator: "." },
  { separator: "\n", terminator: ":" },
  { separator: " ", terminator: "." },
  { separator: "\n\n", terminator: "" },
];
// Instruction run straight into the content, no line break or punctuation between: reported apart,
// as the start of such a text has no boundary to anchor on (the end still does: content ends a sentence).
export const UNSEPARATED = [{ separator: " ", terminator: "" }];

/** Every campaign shape at one share: positions × contents × wrapper lengths × joins. */
export function campaignSpecs(share: number, joins = JOINS): CampaignSpec[] {
  const specs: CampaignSpec[] = [];
  for (const position of ["prefix", "suffix", "both"] as const satisfies readonly Position[]) {
    // Both ends: 10 words a side at least, as each end is found on its own.
    const lengths = position === "both" ? [20, 40, 60] : [10, 15, 25, 40, 60];
    for (const content of CONTENTS) for (const wrapperWords of lengths) for (const join of joins) specs.push({ position, wrapperWords, content, share, ...join });
  }
  return specs;
}

export type ShareRow = {
  share: number;
  campaigns: number;
  meanConcentration: number;
  minConcentration: number;
  below90: number;
  /** The same campaigns seen through the whole-prompt SimHash: share on the most common template band (when measured). */
  meanBandConcentration: number | null;
};

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/**
 * Every campaign shape at one share, `requests` prompts each. `bands` also
 * measures the whole-prompt SimHash on the same prompts (slower), for contrast.
 */
export function measureShare(
  share: number,
  options: WrapperOptions,
  { requests = 40, joins = JOINS, bands = false }: { requests?: number; joins?: typeof JOINS; bands?: boolean } = {},
): ShareRow {
  const rng = rngOf(Math.round(share * 1000));
  const wrapped: number[] = [];
  const banded: number[] = [];
  for (const spec of campaignSpecs(share, joins)) {
    const prompts = campaignPrompts(spec, requests, rng);
    wrapped.push(concentration(prompts.map((p) => wrapperKeys(p, options))).share);
    if (bands) banded.push(concentration(prompts.map((p) => bandKeys(simhash(normalizeText(p, 16_384).text).hex))).share);
  }
  return {
    share,
    campaigns: wrapped.length,
    meanConcentration: mean(wrapped),
    minConcentration: Math.min(...wrapped),
    below90: wrapped.filter((v) => v < 0.9).length,
    meanBandConcentration: bands ? mean(banded) : null,
  };
}

export function measureHonest(options: WrapperOptions, count = 500): { prompts: number; maxKeyShare: number; collisionRate: number; keysPerPrompt: number } {
  const keys = honestPrompts(count, rngOf(17)).map((p) => wrapperKeys(p, options));
  return {
    prompts: count,
    maxKeyShare: concentration(keys).share,
    collisionRate: collisionRate(keys),
    keysPerPrompt: keys.reduce((n, k) => n + k.length, 0) / count,
  };
}

