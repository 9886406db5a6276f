/**
 * Prompt text. Honest users write about everything in their own words, so
 * their prompts share little beyond common phrases; a distillation campaign
 * fills one template (a few slots varied: names, numbers, languages) and asks
 * for the reasoning to be written out. The gateway's SimHash and elicitation
 * scoring see exactly that difference, nothing the simulator labels for them.
 */
import type { Rng } from "./rng.ts";

export const NOUNS = [
  "invoice", "schedule", "dataset", "report", "migration", "budget", "recipe", "itinerary", "lease", "contract", "playlist",
  "garden", "warehouse", "sensor", "pipeline", "spreadsheet", "newsletter", "presentation", "tournament", "podcast",
  "database", "server", "cluster", "roadmap", "backlog", "survey", "thesis", "grant", "workshop", "curriculum", "lesson",
  "inventory", "shipment", "forecast", "portfolio", "mortgage", "tax return", "wedding", "conference", "hackathon",
  "microservice", "dashboard", "webhook", "queue", "cache", "index", "query", "scheduler", "parser", "compiler", "theme",
  "bicycle", "apartment", "neighbourhood", "library", "museum", "orchestra", "choir", "bakery", "vineyard", "harbour",
];
export const ADJECTIVES = [
  "quarterly", "legacy", "noisy", "flaky", "urgent", "overdue", "shared", "encrypted", "seasonal", "regional", "draft",
  "final", "internal", "public", "weekly", "experimental", "cheap", "fragile", "verbose", "tiny", "huge", "slow", "cozy",
  "friendly", "formal", "messy", "confusing", "outdated", "vegan", "gluten-free", "remote", "hybrid", "annual", "rough",
];
export const VERBS = [
  "parse", "summarize", "rename", "migrate", "schedule", "translate", "compare", "refactor", "debug", "plan", "price",
  "rewrite", "shorten", "organize", "review", "validate", "deploy", "estimate", "document", "benchmark", "simplify",
];
export const PEOPLE = [
  "my manager", "our landlord", "a new hire", "the school board", "my sister", "a customer", "our accountant", "the vendor",
  "my thesis advisor", "the hiring committee", "my neighbour", "the product team", "an investor", "the city council",
];
export const LANGS = ["TypeScript", "Python", "Go", "Rust", "Java", "SQL", "Bash", "Kotlin", "C#", "Ruby", "Elixir", "Swift"];
export const HUMAN_LANGS = ["French", "German", "Spanish", "Japanese", "Portuguese", "Korean", "Italian", "Polish", "Swedish"];
export const PROBLEMS = [
  "returns duplicates", "times out on large inputs", "crashes on an empty list", "leaks memory overnight",
  "gives the wrong total when the month changes", "is too slow", "fails only in CI", "ignores the timezone",
  "breaks when the file has a BOM", "drops the last row", "rounds money badly", "deadlocks under load",
];
export const TOPICS = [
  "moving the release date", "a refund that never arrived", "splitting the rent", "the broken heating", "a conference talk",
  "switching to a four-day week", "the onboarding checklist", "a late shipment", "renewing the lease", "a team offsite",
  "our carbon footprint", "the new parking rules", "a scholarship application", "volunteering at the food bank",
];
export const CONCEPTS = [
  "eventual consistency", "compound interest", "photosynthesis", "the CAP theorem", "inflation", "gradient descent",
  "public key cryptography", "supply and demand", "plate tectonics", "vaccines", "index funds", "B-trees", "TCP slow start",
  "the immune system", "Bayes' rule", "carbon capture", "database normalization", "black holes", "opportunity cost",
];
export const AUDIENCES = ["a ten year old", "my grandmother", "a new engineer", "a sales team", "a board of directors", "a first-year student"];

export function words(rng: Rng, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rng.chance(0.35) ? rng.pick(ADJECTIVES) : rng.pick(NOUNS));
  return out.join(" ");
}

export function sentence(rng: Rng): string {
  const forms = [
    () => `The ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} needs to ${rng.pick(VERBS)} the ${rng.pick(NOUNS)} before ${rng.pick(TOPICS)}.`,
    () => `We tried to ${rng.pick(VERBS)} the ${rng.pick(NOUNS)} last ${rng.pick(["week", "month", "Tuesday", "sprint"])} but ${rng.pick(PEOPLE)} objected.`,
    () => `${rng.pick(PEOPLE)} asked whether the ${words(rng, 2)} could wait until ${rng.int(1, 28)} ${rng.pick(["March", "June", "October", "December"])}.`,
    () => `Our ${rng.pick(NOUNS)} has ${rng.int(2, 900)} ${rng.pick(NOUNS)}s and about ${rng.int(2, 60)} of them are ${rng.pick(ADJECTIVES)}.`,
    () => `I keep thinking about ${rng.pick(CONCEPTS)} and how it relates to the ${words(rng, 3)}.`,
  ];
  return rng.pick(forms)();
}

export function paragraph(rng: Rng, sentences: number): string {
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) out.push(sentence(rng));
  return out.join(" ");
}

export function codeSnippet(rng: Rng, lang: string): string {
  const fn = `${rng.pick(VERBS)}${rng.pick(NOUNS).replace(/[^a-z]/g, "").replace(/^./, (c) => c.toUpperCase())}`;
  const lines = [`function ${fn}(items, opts) {`];
  for (let i = 0; i < rng.int(3, 9); i++) {
    const a = rng.pick(NOUNS).replace(/[^a-z]/g, "");
    const b = rng.pick(NOUNS).replace(/[^a-z]/g, "");
    lines.push(`  const ${a}${i} = items.filter((x) => x.${b} > ${rng.int(0, 99)}).map((x) => x.${a});`);
  }
  lines.push(`  return ${rng.pick(["items", "opts.total", "result", "null"])};`, "}");
  return `\`\`\`${lang.toLowerCase()}\n${lines.join("\n")}\n\`\`\``;
}

/**
 * An honest user's message: one of many everyday tasks, its details drawn fresh each time.
 * `stepPhrase` is how this user asks for steps (a built-in phrase when not given).
 */
export function humanPrompt(rng: Rng, askForSteps: boolean, stepPhrase = "Can you go step by step?"): string {
  const kinds = [
    () => `I have a ${rng.pick(LANGS)} function that should ${rng.pick(VERBS)} each ${rng.pick(NOUNS)} but it ${rng.pick(PROBLEMS)}. ${sentence(rng)}\n\n${codeSnippet(rng, rng.pick(LANGS))}\n\nWhat am I missing?`,
    () => `Write a ${rng.pick(["short", "polite", "firm", "friendly", "formal"])} email to ${rng.pick(PEOPLE)} about ${rng.pick(TOPICS)}. Mention the ${words(rng, 2)} and that ${sentence(rng).toLowerCase()} Keep it under ${rng.int(80, 250)} words.`,
    () => `Summarize this in ${rng.int(3, 6)} bullet points:\n\n${paragraph(rng, rng.int(3, 7))}`,
    () => `Explain ${rng.pick(CONCEPTS)} to ${rng.pick(AUDIENCES)}, with an analogy about a ${words(rng, 2)}.`,
    () => `Translate into ${rng.pick(HUMAN_LANGS)}: "${paragraph(rng, rng.int(1, 3))}"`,
    () => `Here is a CSV of our ${rng.pick(NOUNS)} data:\nname,${rng.pick(NOUNS)},${rng.pick(NOUNS)}\n${Array.from({ length: rng.int(3, 8) }, () => `${rng.pick(NOUNS)},${rng.int(1, 999)},${rng.int(1, 99)}`).join("\n")}\nWhich rows look ${rng.pick(ADJECTIVES)} and why?`,
    () => `Help me ${rng.pick(VERBS)} a ${words(rng, 2)} for ${rng.pick(TOPICS)}. ${paragraph(rng, rng.int(1, 3))}`,
    () => `Give me ${rng.int(3, 10)} name ideas for a ${words(rng, 2)}.`,
  ];
  const text = rng.pick(kinds)();
  // Honest users ask for steps too, now and then: one phrase alone must not make anyone a distiller.
  return askForSteps ? `${text} ${stepPhrase}` : text;
}

/**
 * The long system prompt of a popular coding tool: hundreds of honest accounts
 * send it verbatim, each with their own question after it.
 */
export const TOOL_SYSTEM_PROMPT = [
  "You are Quillpad, an AI pair programmer that runs inside the user's editor.",
  "You help with reading, writing and refactoring code in the user's open workspace.",
  "Follow the user's coding conventions: match indentation, naming and comment style of the surrounding file.",
  "When you propose a change, show a minimal unified diff and explain the change in one or two sentences.",
  "Never invent APIs: if you are unsure a function exists, say so and suggest how to check.",
  "Prefer small, reviewable edits over rewrites. Keep secrets out of code and logs.",
  "If a request is ambiguous, ask one clarifying question before editing files.",
  "Tools available: read_file(path), search(query), apply_patch(diff), run_tests(pattern).",
  "Answer in the language of the user's message. Use Markdown code fences for code.",
].join("\n");

// ─────────────────────────────── campaign templates ───────────────────────────────

export const ATTACK_TEMPLATES = ["math-cot", "code-cot", "agentic-cot", "grader"] as const;
export type AttackTemplate = (typeof ATTACK_TEMPLATES)[number];

export const NAMES = [
  "Alice", "Bilal", "Chen", "Dmitri", "Elena", "Farah", "Goran", "Hana", "Ivan", "Jonas", "Kenji", "Lucia", "Mateo", "Nadia",
  "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zara",
];
export const ITEMS = ["marbles", "apples", "coins", "stamps", "tickets", "books", "pencils", "cards"];

export type TemplatedPrompt = { system: string | null; user: string; tools: boolean };

/**
 * A campaign's templated request. Digits and names change per request (the
 * gateway normalises digit runs, so numbers alone would not even vary the
 * text); the scaffolding and the chain-of-thought instruction stay fixed.
 */
export function templatedPrompt(template: AttackTemplate, rng: Rng): TemplatedPrompt {
  const n = () => rng.int(2, 9_999);
  switch (template) {
    case "math-cot": {
      // A campaign's generator fills one slot per entity; the scaffolding around it never changes.
      return {
        system: null,
        tools: false,
        user:
          `You are a meticulous competition mathematician. Think step by step and show all your reasoning: write out every intermediate step, ` +
          `explain why each step follows from the previous one, and check the result before giving the final answer inside <answer> tags.\n\n` +
          `Problem ${n()} (set by ${rng.pick(NAMES)}): a box holds ${n()} ${rng.pick(ITEMS)}. Someone adds ${n()} more, then the contents are shared equally among ${n()} ` +
          `friends and the remainder stays in the box. How many does each friend get, and how many stay in the box? Show your complete chain of thought.`,
      };
    }
    case "code-cot": {
      const lang = rng.pick(["Python", "TypeScript", "Go", "Rust"]);
      return {
        system: "You are an expert software engineer who always explains the full reasoning behind every decision.",
        tools: false,
        user:
          `Task ${n()}: implement a function that takes a list of ${n()} integers and returns the length of the longest strictly increasing ` +
          `subsequence whose sum is below ${n()}. Before writing any code, think step by step and show your complete reasoning: list every edge case, ` +
          `compare at least two approaches with their complexity, and explain each step of the algorithm. Then write the final solution in ${lang} with tests.`,
      };
    }
    case "agentic-cot": {
      const city = rng.pick(["Lisbon", "Osaka", "Denver", "Nairobi", "Oslo", "Lima"]);
      return {
        system:
          "You are an autonomous research agent. Before every tool call, write out your full internal reasoning in <thinking> tags: what you know, " +
          "what you need, and why this tool call is the best next step. After the final tool result, show your reasoning again before answering.",
        tools: true,
        user: `Ticket ${n()}: find the three cheapest direct flights from ${city} next week for ${n()} passengers, check the weather at arrival, and book the best one. Show all your reasoning.`,
      };
    }
    case "grader": {
      return {
        system: "You are an impartial grader acting as a reward model for preference data.",
        tools: false,
        user:
          `Compare the two responses to prompt ${n()} below. Think step by step and show your reasoning for each criterion of the rubric, then score each response ` +
          `on a scale of 1 to 10 and say which response is better.\n\nResponse A: ${rng.pick(NAMES)} says the answer is ${n()}.\nResponse B: ${rng.pick(NAMES)} says the answer is ${n()}.`,
      };
    }
  }
}

/** The tool list an agentic template sends: the capability the campaign harvests. */
export const AGENT_TOOLS = [
  { name: "search_flights", description: "Search flights", input_schema: { type: "object", properties: { from: { type: "string" }, date: { type: "string" } } } },
  { name: "get_weather", description: "Weather forecast", input_schema: { type: "object", properties: { city: { type: "string" } } } },
  { name: "book", description: "Book a flight", input_schema: { type: "object", properties: { flight: { type: "string" } } } },
];
