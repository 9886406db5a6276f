/**
 * The elicitation model's per-category sums, computed in WebAssembly
 * (lib/fingerprint/wasm/elicitation.as, built to elicitation.wasm by `npm run
 * build:wasm`): hashing ≈ 14,000 features per 16 KB was 97 % of the model's
 * time in JavaScript (0.249 of 0.258 ms in one bench run).
 *
 * The sums are integers (int8 weights added once per distinct weighted
 * bucket), so the probabilities made from them are the same floats as the
 * JavaScript sums gave; test/lib/fingerprint/elicitation-fast-path.test.ts
 * holds them to the reference string walk.
 *
 * Workers cannot compile WebAssembly from bytes: the module is imported as a
 * .wasm file, which wrangler (and the vitest plugin) hand over as a compiled
 * WebAssembly.Module. Under Node, scripts/node-wasm.ts gives the same import.
 */
import { BUCKETS, groupsOf, type Model } from "./elicitation-features.ts";
import elicitationWasm from "./wasm/elicitation.wasm";

type ScorerExports = {
  memory: WebAssembly.Memory;
  setup(groups: number, present: number, before: number, weights: number, seen: number, sums: number, categories: number, rows: number): void;
  score(text: number, bytes: number, units: number, fixes: number, fixCount: number): number;
};

/** One instance per model: its memory holds the model's tables, then the text. */
type Scorer = {
  exports: ScorerExports;
  categories: number;
  sumsAt: number;
  textAt: number;
  /** A view of the whole memory, replaced whenever the memory grows (growing detaches the old buffer). */
  bytes: Uint8Array;
};

const PAGE = 65_536;
const GROUPS_AT = 0;
const PRESENT_AT = GROUPS_AT + (BUCKETS >>> 3 >>> 5) * 4;
const BEFORE_AT = PRESENT_AT + (BUCKETS >>> 5) * 4;
const SUMS_AT = BEFORE_AT + (BUCKETS >>> 5) * 4;
const align4 = (n: number) => (n + 3) & ~3;

// A lone surrogate: TextEncoder writes it as U+FFFD, and the features are defined over the string's own code unit.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SCORERS = new WeakMap<Model, Scorer>();
const encoder = new TextEncoder();

function scorerOf(model: Model): Scorer {
  const cached = SCORERS.get(model);
  if (cached !== undefined) return cached;
  const k = model.categories.length;
  const rows: number[] = [];
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    for (let c = 0; c < k; c++) {
      if ((model.weights[bucket * k + c] ?? 0) !== 0) {
        rows.push(bucket);
        break;
      }
    }
  }
  const weightsAt = align4(SUMS_AT + 4 * k);
  const seenAt = align4(weightsAt + rows.length * k);
  const textAt = seenAt + 4 * rows.length;
  const exports = new WebAssembly.Instance(elicitationWasm).exports as unknown as ScorerExports;
  const scorer: Scorer = { exports, categories: k, sumsAt: SUMS_AT, textAt, bytes: new Uint8Array(0) };
  reserve(scorer, textAt + PAGE);

  const memory = scorer.exports.memory.buffer;
  new Int32Array(memory, GROUPS_AT, BUCKETS >>> 8).set(groupsOf(rows));
  const present = new Int32Array(memory, PRESENT_AT, BUCKETS >>> 5);
  for (const bucket of rows) present[bucket >>> 5] = (present[bucket >>> 5] ?? 0) | (1 << (bucket & 31));
  const before = new Int32Array(memory, BEFORE_AT, BUCKETS >>> 5);
  for (let w = 1; w < before.length; w++) before[w] = (before[w - 1] ?? 0) + bitCount(present[w - 1] ?? 0);
  const weights = new Int8Array(memory, weightsAt, rows.length * k);
  rows.forEach((bucket, row) => {
    for (let c = 0; c < k; c++) weights[row * k + c] = model.weights[bucket * k + c] ?? 0;
  });
  exports.setup(GROUPS_AT, PRESENT_AT, BEFORE_AT, weightsAt, seenAt, SUMS_AT, k, rows.length);
  SCORERS.set(model, scorer);
  return scorer;
}

/** Grows the scorer's memory to at least `size` bytes. */
function reserve(scorer: Scorer, size: number): void {
  const memory = scorer.exports.memory;
  if (memory.buffer.byteLength < size) memory.grow(Math.ceil((size - memory.buffer.byteLength) / PAGE));
  if (scorer.bytes.buffer !== memory.buffer) scorer.bytes = new Uint8Array(memory.buffer);
}

function bitCount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Per category of `model`, the sum of its weights over the distinct weighted buckets of `text`'s features. */
export function weightSums(model: Model, text: string): Int32Array {
  const scorer = scorerOf(model);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit; one more for the space the scorer closes the text with.
  const bound = 3 * text.length + 1;
  reserve(scorer, scorer.textAt + bound);
  const { exports, textAt } = scorer;
  const written = encoder.encodeInto(text, scorer.bytes.subarray(textAt, textAt + bound)).written;
  if (exports.score(textAt, written, text.length, 0, 0) > 0) {
    // Rare: U+FFFD in the bytes, which may stand for lone surrogates; score again, told where they are.
    const lone = [...text.matchAll(LONE_SURROGATE)];
    if (lone.length > 0) {
      const fixesAt = align4(textAt + bound);
      reserve(scorer, fixesAt + 8 * lone.length);
      const fixes = new Int32Array(scorer.bytes.buffer, fixesAt, 2 * lone.length);
      lone.forEach((match, i) => {
        fixes[2 * i] = match.index;
        fixes[2 * i + 1] = match[0].charCodeAt(0);
      });
      exports.score(textAt, written, text.length, fixesAt, lone.length);
    }
  }
  return new Int32Array(scorer.bytes.buffer, scorer.sumsAt, scorer.categories).slice();
}
