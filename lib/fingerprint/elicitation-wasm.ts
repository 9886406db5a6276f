/**
 * The elicitation model's per-category sums, computed in WebAssembly
 * (lib/fingerprint/wasm/elicitation.as, built to elicitation.wasm by `npm run
 * build:wasm`): hashing ≈ 14,000 features per 16 KB is the scorer's whole
 * cost, and the same loop in JavaScript took 0.25 ms of it.
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
  anchors(text: number, bytes: number, stems: number, stemCount: number, hits: number, keep: number): void;
};

/** An instance's memory as a byte view, replaced whenever the memory grows (growing detaches the old buffer). */
type Instance = { exports: ScorerExports; bytes: Uint8Array };

/** One instance per model: its memory holds the model's tables, then the text. */
type Scorer = Instance & { categories: number; sumsAt: number; textAt: number };

/** One instance per list of anchor stems: the stems, the hits, then the text. */
type AnchorScanner = Instance & { stems: readonly string[]; hitsAt: number; keep: number; textAt: number };

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
  const exports = instantiate();
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

/** Grows the instance's memory to at least `size` bytes. */
function reserve(instance: Instance, size: number): void {
  const memory = instance.exports.memory;
  if (memory.buffer.byteLength < size) memory.grow(Math.ceil((size - memory.buffer.byteLength) / PAGE));
  if (instance.bytes.buffer !== memory.buffer) instance.bytes = new Uint8Array(memory.buffer);
}

function instantiate(): ScorerExports {
  return new WebAssembly.Instance(elicitationWasm).exports as unknown as ScorerExports;
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

// 16 bytes per stem in the scanner's table: a length, then up to 15 ASCII characters starting with a letter.
const STEM_STRIDE = 16;
const ANCHOR_STEM = /^[a-z][\x20-\x7e]{0,14}$/;
const SCANNERS = new WeakMap<readonly string[], AnchorScanner>();

function scannerOf(stems: readonly string[], keep: number): AnchorScanner {
  const cached = SCANNERS.get(stems);
  if (cached !== undefined && cached.keep === keep) return cached;
  const hitsAt = STEM_STRIDE * stems.length;
  const textAt = hitsAt + 4 * (keep + 1) * stems.length;
  const scanner: AnchorScanner = { exports: instantiate(), bytes: new Uint8Array(0), stems, hitsAt, keep, textAt };
  reserve(scanner, textAt + PAGE);
  stems.forEach((stem, s) => {
    if (!ANCHOR_STEM.test(stem)) throw new Error(`anchor stem ${JSON.stringify(stem)}: the scanner reads up to 15 ASCII characters starting with a letter`);
    scanner.bytes[s * STEM_STRIDE] = stem.length;
    encoder.encodeInto(stem, scanner.bytes.subarray(s * STEM_STRIDE + 1, (s + 1) * STEM_STRIDE));
  });
  SCANNERS.set(stems, scanner);
  return scanner;
}

/**
 * Where each of `stems` starts in `text` as `\b(?:stem|…)` finds it: per stem
 * with a hit, the string indices of its first `keep` hits, ascending (a stem
 * with `keep` of them may have more).
 */
export function anchorHits(text: string, stems: readonly string[], keep: number): Map<string, number[]> {
  const scanner = scannerOf(stems, keep);
  const bound = 3 * text.length;
  reserve(scanner, scanner.textAt + bound);
  const written = encoder.encodeInto(text, scanner.bytes.subarray(scanner.textAt, scanner.textAt + bound)).written;
  scanner.exports.anchors(scanner.textAt, written, 0, stems.length, scanner.hitsAt, keep);
  const hits = new Int32Array(scanner.bytes.buffer, scanner.hitsAt, (keep + 1) * stems.length);
  const out = new Map<string, number[]>();
  stems.forEach((stem, s) => {
    const count = Math.min(hits[s * (keep + 1)] ?? 0, keep);
    if (count > 0) out.set(stem, Array.from(hits.subarray(s * (keep + 1) + 1, s * (keep + 1) + 1 + count)));
  });
  return out;
}
