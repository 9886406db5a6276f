/**
 * The elicitation features as first shipped (commit 7773103): a string walk
 * with charCodeAt, every bucket written out, then looked up one by one. Kept
 * only as the specification the fast path in lib/fingerprint must match
 * bucket for bucket; slow on purpose, and never used outside tests.
 */
import {
  bucketOf,
  CHAR_WINDOW,
  isCjk,
  isWordChar,
  type Model,
  PRIME,
  SEED_BIGRAM,
  SEED_CHAR3,
  SEED_CHAR4,
  SEED_CHAR5,
  SEED_STEM,
  SEED_STEM_BIGRAM,
  SEED_UNIGRAM,
  STEM_CHARS,
  ZERO,
} from "../../../lib/fingerprint/elicitation-features.ts";

// The hash constants and character classes are the module's own; what this file keeps apart is the walk.

/** The buckets of every feature of `text`, duplicates included, in the order the original scorer produced them. */
export function referenceBuckets(text: string): Int32Array {
  const length = text.length;
  const out = new Int32Array(4 * length + 3 * Math.min(length, 2 * CHAR_WINDOW) + 8);
  let count = 0;

  // Words: FNV-1a per token; a bigram mixes the previous token's hash with this
  // one's. A word's first STEM_CHARS characters are a second, coarser token
  // ("reasoning", "reasons" → "reaso"), with bigrams of their own.
  let word = 0x811c9dc5;
  let stem = 0;
  let chars = 0;
  let previous = 0;
  let previousStem = 0;
  for (let i = 0; i <= length; i++) {
    const code = i < length ? text.charCodeAt(i) : 0x20;
    if (isWordChar(code)) {
      word = Math.imul(word ^ code, PRIME);
      if (++chars === STEM_CHARS) stem = word;
      continue;
    }
    if (chars > 0) {
      if (chars <= STEM_CHARS) stem = word;
      // Digit runs are all "0" after normalising: as a word it says nothing but "a number was here".
      if (word !== ZERO) count = emitWord(out, count, word, stem, chars > STEM_CHARS, previous, previousStem);
      previous = word;
      previousStem = stem;
      word = 0x811c9dc5;
      chars = 0;
    }
    if (isCjk(code)) {
      const single = Math.imul(0x811c9dc5 ^ code, PRIME);
      count = emitWord(out, count, single, single, false, previous, previousStem);
      previous = single;
      previousStem = single;
    } else if (code !== 0x20) {
      // Punctuation ends a phrase: no bigram spans it.
      previous = 0;
      previousStem = 0;
    }
  }

  count = charGrams(text, 0, Math.min(length, CHAR_WINDOW), out, count);
  if (length > CHAR_WINDOW) count = charGrams(text, Math.max(CHAR_WINDOW, length - CHAR_WINDOW), length, out, count);
  return out.slice(0, count);
}

function emitWord(out: Int32Array, count: number, word: number, stem: number, longer: boolean, previous: number, previousStem: number): number {
  let n = count;
  out[n++] = bucketOf(word ^ SEED_UNIGRAM);
  if (longer) out[n++] = bucketOf(stem ^ SEED_STEM);
  if (previous !== 0) {
    out[n++] = bucketOf(Math.imul(previous, 0x9e3779b1) ^ word ^ SEED_BIGRAM);
    out[n++] = bucketOf(Math.imul(previousStem, 0x9e3779b1) ^ stem ^ SEED_STEM_BIGRAM);
  }
  return n;
}

function charGrams(text: string, start: number, end: number, out: Int32Array, count: number): number {
  // c0 is the newest character; a gram is only taken once all its characters lie in [start, end).
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  let c4 = 0;
  for (let i = start; i < end; i++) {
    const c0 = text.charCodeAt(i);
    const seen = i - start;
    if (seen >= 2) {
      const h3 = Math.imul(Math.imul(c2, PRIME) ^ c1, PRIME) ^ c0;
      out[count++] = bucketOf(h3 ^ SEED_CHAR3);
      if (seen >= 3) {
        const h4 = Math.imul(Math.imul(c3, PRIME) ^ h3, PRIME);
        out[count++] = bucketOf(h4 ^ SEED_CHAR4);
        if (seen >= 4) out[count++] = bucketOf(Math.imul(Math.imul(c4, PRIME) ^ h4, PRIME) ^ SEED_CHAR5);
      }
    }
    c4 = c3;
    c3 = c2;
    c2 = c1;
    c1 = c0;
  }
  return count;
}

/** Each category's probability from the dense weights: one sum over the text's distinct buckets. */
export function referenceProbabilities(model: Model, text: string): Float64Array {
  const k = model.categories.length;
  const sums = new Float64Array(k);
  for (const bucket of new Set(referenceBuckets(text))) {
    for (let c = 0; c < k; c++) sums[c] = (sums[c] ?? 0) + (model.weights[bucket * k + c] ?? 0);
  }
  return sums.map((sum, c) => 1 / (1 + Math.exp(-((model.biases[c] ?? 0) + sum * (model.scales[c] ?? 0)))));
}
