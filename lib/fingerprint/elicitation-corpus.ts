/**
 * The elicitation corpus as labelled prompts: phrasings and ordinary prompts
 * (data/elicitation/*.json) are templates, filled here with varied content
 * drawn from one shared pool, placed as a prefix, a suffix or a system prompt,
 * and normalised exactly as the fingerprint normalises what it scores.
 *
 * The split is by whole phrasing family (families.json) for elicitation, and
 * for ordinary prompts by template and by whole group (a group marked
 * "split": "heldout"), so "held-out" means wording and style the trainer never
 * saw, not fresh samples of wording it did.
 *
 * Pure and seeded: the same data and seed give the same examples everywhere.
 */
import { normalizeText } from "./content.ts";
import { CATEGORIES, type Category } from "./elicitation-features.ts";

export type Split = "train" | "heldout";

export type FamiliesFile = { families: readonly { id: string; split: string; style: string }[] };
export type CategoryFile = { category: string; content: readonly string[]; phrasings: Readonly<Record<string, readonly string[]>> };
export type NegativeGroup = {
  id: string;
  hard: boolean;
  /** "heldout": the whole group is, like a held-out phrasing family: style and wording the trainer never saw. */
  split?: string;
  content: readonly string[];
  templates: readonly string[];
};
export type NegativesFile = { groups: readonly NegativeGroup[] };
export type ContentFile = Readonly<Record<string, unknown>>;

export type CorpusData = {
  families: FamiliesFile;
  content: ContentFile;
  categories: readonly CategoryFile[];
  negatives: NegativesFile;
};

export type Example = {
  /** Normalised text, as the fingerprint hands it to the scorer. */
  text: string;
  /** null: an ordinary prompt. */
  label: Category | null;
  split: Split;
  /** Phrasing family (elicitation) or negative group id (ordinary). */
  family: string;
  /** Hard negative: looks like elicitation on the surface. */
  hard: boolean;
  /** Index of the phrasing within its family, or of the template within its group. */
  template: number;
};

export type GenerateOptions = {
  seed: number;
  /** Prompts generated from each elicitation phrasing. */
  perPhrasing: number;
  /** Prompts generated from each ordinary template. */
  perTemplate: number;
  /** Only these splits (default both). */
  splits?: readonly Split[];
  /**
   * Training-time noise and contrast: some words of an instruction dropped,
   * ordinary prompts used as the varied content, and each elicitation prompt's
   * content also given alone as an ordinary prompt. Makes the model lean on
   * many features of the instruction, not on the subject or a few exact phrases.
   */
  augment?: boolean;
};

// What the fingerprint reads at most (policy.fingerprint.maxContentBytes default).
const MAX_BYTES = 16_384;
// Every third ordinary template is held out, so false positives are measured on wording not trained on.
const HELDOUT_TEMPLATE_EVERY = 3;
const USER_MARK = "<<user>>";
const COUNT_WORDS = ["many", "several", "a few dozen", "a hundred", "lots of", "plenty of", "a large batch of", "twenty", "fifty", "as many as you can"];
const PROGRAMMING_LANGUAGES = ["Python", "TypeScript", "Go", "Rust", "Java", "C++", "Kotlin", "C#", "JavaScript", "Ruby"];

/** mulberry32: tiny, seeded, good enough to draw corpus content. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Draw = {
  random: () => number;
  pick: <T>(items: readonly T[]) => T;
  int: (min: number, max: number) => number;
};

function drawFrom(random: () => number): Draw {
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)];
    if (item === undefined) throw new Error("corpus: empty pool");
    return item;
  };
  return { random, pick, int: (min, max) => min + Math.floor(random() * (max - min + 1)) };
}

function pool(content: ContentFile, kind: string): readonly string[] {
  const items = content[kind];
  if (!Array.isArray(items) || items.length === 0 || !items.every((item) => typeof item === "string")) {
    throw new Error(`corpus: no content pool "${kind}"`);
  }
  return items as readonly string[];
}

const QA_LABELS = [
  ["Question:", "Answer:"],
  ["Q:", "A:"],
  ["User:", "Assistant:"],
  ["Prompt:", "Model answer:"],
  ["[question]", "[response]"],
  ["Input:", "Output:"],
] as const;
const PAIR_LABELS = [
  ["Prompt:", "Response A:", "Response B:"],
  ["Question:", "Answer 1:", "Answer 2:"],
  ["User:", "[A]", "[B]"],
  ["Instruction:", "Completion A:", "Completion B:"],
  ["### Prompt", "### Response 1", "### Response 2"],
] as const;

/** One piece of content of a kind: a pool item, or a question with one or two answers. */
function contentItem(kind: string, content: ContentFile, draw: Draw): string {
  if (kind === "qa") {
    const [q, a] = draw.pick(QA_LABELS);
    return `${q} ${draw.pick(pool(content, "question").concat(pool(content, "problem")))}\n${a} ${draw.pick(pool(content, "answer"))}`;
  }
  if (kind === "pair") {
    const [q, a, b] = draw.pick(PAIR_LABELS);
    const answers = pool(content, "answer");
    return `${q} ${draw.pick(pool(content, "question"))}\n\n${a} ${draw.pick(answers)}\n\n${b} ${draw.pick(answers)}`;
  }
  return draw.pick(pool(content, kind));
}

/**
 * The varied part: usually one item, sometimes a batch, sometimes behind
 * context paragraphs, and now and then long enough that the instruction is a
 * small share of the text (what a fixed wrapper around varied content looks like).
 */
function variedContent(kinds: readonly string[], content: ContentFile, draw: Draw): string {
  const kind = draw.pick(kinds);
  const roll = draw.random();
  const items = roll < 0.2 ? draw.int(2, 4) : 1;
  let text = Array.from({ length: items }, (_, i) => (items > 1 ? `${i + 1}. ` : "") + contentItem(kind, content, draw)).join("\n\n");
  if (roll > 0.8) {
    const paragraphs = roll > 0.93 ? draw.int(12, 40) : draw.int(1, 3);
    const context = Array.from({ length: paragraphs }, () => draw.pick(pool(content, "text")));
    text = draw.random() < 0.5 ? `${context.join("\n\n")}\n\n${text}` : `${text}\n\n${context.join("\n\n")}`;
  }
  return text;
}

function fillSlots(template: string, content: ContentFile, draw: Draw, varied: () => string): string {
  return template.replace(/\{(content|n|id|lang|topic|tools)\}/g, (_, slot: string) => {
    if (slot === "content") return varied();
    // Reader, ticket and order numbers: ordinary requests are numbered too, and a number must not read as "a batch".
    if (slot === "id") return String(draw.int(1, draw.pick([20, 999, 99_999])));
    // Counts are often words: a digit run normalises to "0", and a model that learnt "0" means "data" flags every prompt with a number.
    if (slot === "n") return draw.random() < 0.5 ? String(draw.pick([5, 10, 20, 25, 50, 100, 200, 500, 1000])) : draw.pick(COUNT_WORDS);
    if (slot === "lang") return draw.pick(PROGRAMMING_LANGUAGES);
    if (slot === "topic") return draw.pick(pool(content, "topic"));
    return draw.pick(pool(content, "tools"));
  });
}

/** The text the fingerprint scores: system and user turn normalised apart and joined by one space. */
export function scoredText(system: string | null, user: string): string {
  const parts = [system ?? "", user].map((part) => normalizeText(part, MAX_BYTES).text).filter((part) => part !== "");
  return utf8Cap(parts.join(" "));
}

function utf8Cap(text: string): string {
  return text.length <= MAX_BYTES / 3 ? text : normalizeText(text, MAX_BYTES).text;
}

/** An elicitation phrasing around content: inline where it has a {content} slot, else prefix, suffix or system prompt. */
type Prompt = { system: string | null; user: string };

/**
 * An elicitation phrasing around content: inline where it has a {content}
 * slot, else prefix, suffix or system prompt. Also returns the varied content
 * alone, which training uses as a matched ordinary prompt.
 */
function phrasingPrompt(phrasing: string, kinds: readonly string[], content: ContentFile, draw: Draw, ordinary: (() => string) | null): { prompt: Prompt; varied: string } {
  let last = "";
  const varied = () => {
    last = ordinary !== null && draw.random() < 0.3 ? ordinary() : variedContent(kinds, content, draw);
    return last;
  };
  const instruction = fillSlots(ordinary === null ? phrasing : dropWords(phrasing, draw), content, draw, varied);
  const prompt = ((): Prompt => {
    if (phrasing.includes("{content}")) return draw.random() < 0.25 ? { system: instruction, user: varied() } : { system: null, user: instruction };
    // A phrasing that already names its subject ({topic}) often stands alone.
    if (phrasing.includes("{topic}") && draw.random() < 0.5) return draw.random() < 0.3 ? { system: instruction, user: "Go." } : { system: null, user: instruction };
    const place = draw.random();
    if (place < 0.34) return { system: null, user: `${instruction}\n\n${varied()}` };
    if (place < 0.67) return { system: null, user: `${varied()}\n\n${instruction}` };
    return { system: instruction, user: varied() };
  })();
  return { prompt, varied: last === "" ? variedContent(kinds, content, draw) : last };
}

// Slots are never dropped: they carry the content.
function dropWords(phrasing: string, draw: Draw): string {
  if (draw.random() < 0.3) return phrasing;
  const rate = draw.pick([0.1, 0.2, 0.3]);
  return phrasing
    .split(" ")
    .filter((word) => word.includes("{") || draw.random() >= rate)
    .join(" ");
}

function ordinaryPrompt(template: string, kinds: readonly string[], content: ContentFile, draw: Draw): Prompt {
  const varied = () => variedContent(kinds, content, draw);
  const mark = template.indexOf(USER_MARK);
  if (mark < 0) return { system: null, user: fillSlots(template, content, draw, varied) };
  return { system: fillSlots(template.slice(0, mark), content, draw, varied), user: fillSlots(template.slice(mark + USER_MARK.length), content, draw, varied) };
}

function isHeldOutTemplate(group: NegativeGroup, index: number): boolean {
  return group.split === "heldout" || index % HELDOUT_TEMPLATE_EVERY === HELDOUT_TEMPLATE_EVERY - 1;
}

function ordinaryText(entry: { group: NegativeGroup; template: string }, content: ContentFile, draw: Draw): string {
  const prompt = ordinaryPrompt(entry.template, entry.group.content, content, draw);
  return prompt.system === null ? prompt.user : `${prompt.system}\n\n${prompt.user}`;
}

function isCategory(value: string): value is Category {
  return (CATEGORIES as readonly string[]).includes(value);
}

/** Every labelled example of the corpus, in a fixed order. */
export function generateExamples(data: CorpusData, options: GenerateOptions): Example[] {
  const splits = options.splits ?? ["train", "heldout"];
  const splitOf = new Map(data.families.families.map((family) => [family.id, family.split === "heldout" ? "heldout" : "train"] as const));
  const examples: Example[] = [];
  const trainTemplates = data.negatives.groups.flatMap((group) => group.templates.filter((_, index) => !isHeldOutTemplate(group, index)).map((template) => ({ group, template })));
  for (const file of data.categories) {
    if (!isCategory(file.category)) throw new Error(`corpus: unknown category "${file.category}"`);
    for (const [family, phrasings] of Object.entries(file.phrasings)) {
      const split = splitOf.get(family);
      if (split === undefined) throw new Error(`corpus: ${file.category} uses unknown family "${family}"`);
      if (!splits.includes(split)) continue;
      phrasings.forEach((phrasing, index) => {
        // Seeded per phrasing, so adding one phrasing leaves every other's prompts unchanged.
        const draw = drawFrom(seededRandom(hashSeed(options.seed, `${file.category}/${family}/${index}`)));
        // Answers to grade and pairs to compare are part of what those requests look like, not neutral content.
        const matched = file.content.every((kind) => kind !== "qa" && kind !== "pair");
        const ordinary = options.augment === true ? () => ordinaryText(draw.pick(trainTemplates), data.content, draw) : null;
        for (let i = 0; i < options.perPhrasing; i++) {
          const { prompt, varied } = phrasingPrompt(phrasing, file.content, data.content, draw, ordinary);
          examples.push({ text: scoredText(prompt.system, prompt.user), label: file.category as Category, split, family, hard: false, template: index });
          // The same content without the instruction: whatever the content says, it is not what elicits.
          if (options.augment === true && matched) examples.push({ text: scoredText(null, varied), label: null, split, family: "matched-content", hard: false, template: index });
        }
      });
    }
  }
  for (const group of data.negatives.groups) {
    group.templates.forEach((template, index) => {
      const split: Split = isHeldOutTemplate(group, index) ? "heldout" : "train";
      if (!splits.includes(split)) return;
      const draw = drawFrom(seededRandom(hashSeed(options.seed, `none/${group.id}/${index}`)));
      for (let i = 0; i < options.perTemplate; i++) {
        const prompt = ordinaryPrompt(template, group.content, data.content, draw);
        examples.push({ text: scoredText(prompt.system, prompt.user), label: null, split, family: group.id, hard: group.hard, template: index });
      }
    });
  }
  return examples;
}

/** FNV-1a of the key, mixed with the seed. */
export function hashSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return h;
}
