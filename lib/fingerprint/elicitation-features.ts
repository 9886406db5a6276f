/**
 * What the elicitation model sees, and how its weights are stored.
 *
 * Features are hashed into BUCKETS slots and counted once per text (presence,
 * not frequency, so repeating a phrase 200 times weighs what saying it once does):
 * - word unigrams and bigrams over the whole text, and the same over word
 *   stems (a word's first five characters); a CJK character counts as a word,
 *   since those scripts have no spaces;
 * - character 3-, 4- and 5-grams over the first and last CHAR_WINDOW
 *   characters only, which is where a fixed instruction sits (system prompt,
 *   prefix, suffix) and what keeps 16 KB within budget. An instruction buried
 *   mid-text is still seen through its words.
 *
 * Weights: one int8 per (bucket, category) and one scale and bias per
 * category, stored sparse (varint bucket deltas + int8) in base64.
 */

export const CATEGORIES = ["reasoning_trace", "grader", "preference", "synthetic_data", "agentic_trace", "coding_trace"] as const;
export type Category = (typeof CATEGORIES)[number];

// 2^18: a long text's unseen n-grams must rarely land on a bucket the model weighs; at 2^16 a 16 KB prompt
// of ordinary words hit hundreds, and their noise alone could cross the threshold.
export const BUCKET_BITS = 18;
export const BUCKETS = 1 << BUCKET_BITS;
const MASK = BUCKETS - 1;
// 2 KB at each end: char n-grams cost three hashes per character, words one per ~6.
export const CHAR_WINDOW = 1024;

// The hashing constants and helpers are exported for the reference string walk the tests hold the fast path to.
export const SEED_UNIGRAM = 0x1b873593;
export const SEED_BIGRAM = 0x5bd1e995;
export const SEED_STEM = 0x3c6ef372;
export const SEED_STEM_BIGRAM = 0xa54ff53a;
export const SEED_CHAR3 = 0x68e31da4;
export const SEED_CHAR4 = 0x7feb352d;
export const SEED_CHAR5 = 0x846ca68b;
export const PRIME = 0x01000193;
export const STEM_CHARS = 5;
export const ZERO = Math.imul(0x811c9dc5 ^ 0x30, PRIME);

/** murmur3's finaliser: spreads every input bit over the bucket bits. */
export function bucketOf(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & MASK;
}

// ASCII answered by a table: the word loop visits every character of 16 KB.
const ASCII_WORD = new Uint8Array(128);
for (let code = 0x61; code <= 0x7a; code++) ASCII_WORD[code] = 1;
for (let code = 0x30; code <= 0x39; code++) ASCII_WORD[code] = 1;

export function isWordChar(code: number): boolean {
  if (code < 0x80) return ASCII_WORD[code] === 1;
  return code >= 0xc0 && !isCjk(code) && !isPunctuationBlock(code);
}

export function isCjk(code: number): boolean {
  return (code >= 0x3040 && code <= 0x9fff) || (code >= 0xac00 && code <= 0xd7af) || (code >= 0xf900 && code <= 0xfaff);
}

// General punctuation, CJK symbols and full-width forms break words like ASCII punctuation does.
function isPunctuationBlock(code: number): boolean {
  return (code >= 0x2000 && code <= 0x206f) || (code >= 0x3000 && code <= 0x303f) || (code >= 0xff00 && code <= 0xffef);
}

/**
 * Buckets in groups of 2^GROUP_BITS, as a bitmap with one bit per group (bit
 * g % 32 of word g / 32). Groups, not buckets: a 16 KB text's ~14,000
 * features test the bitmap at random places, and at one bit per group of 8 it
 * is 4 KB, which stays in the CPU's nearest cache; one bit per bucket (32 KB)
 * does not, and each miss costs more than the hashing.
 */
export type BucketGroups = Int32Array;
export const GROUP_BITS = 3;

/** The groups of `buckets`. */
export function groupsOf(buckets: Iterable<number>): BucketGroups {
  const groups = new Int32Array(BUCKETS >>> (GROUP_BITS + 5));
  for (const bucket of buckets) {
    const group = bucket >>> GROUP_BITS;
    groups[group >>> 5] = (groups[group >>> 5] ?? 0) | (1 << (group & 31));
  }
  return groups;
}

/** Every group: what the trainer reads. */
export const ALL_GROUPS: BucketGroups = new Int32Array(BUCKETS >>> (GROUP_BITS + 5)).fill(-1);

const encoder = new TextEncoder();
let bytes = new Uint8Array(4096);
let buffer = new Int32Array(4096);
const REPLACEMENT = 0xfffd;

/*
 * Speed: words are read from the text's UTF-8 bytes, which TextEncoder writes
 * in one native call, because charCodeAt on a normalised (concatenated) string
 * costs several times a typed-array read, and the word loop visits every
 * character. A multi-byte sequence is decoded back to the UTF-16 code units
 * the features are defined over (a character past U+FFFF is two), so the
 * buckets are those of a walk over the string. The character windows are 2 KB
 * at most and are read from the string itself.
 */

/**
 * The buckets of every feature of `text` (normalised) whose group `keep`
 * holds, duplicates included, in a shared buffer valid until the next call;
 * returns [buffer, count]. What the trainer reads (every group); the scorer
 * computes the same features in WebAssembly (elicitation-wasm.ts), held to
 * this function's reference walk by the fast-path test.
 */
export function featureBuckets(text: string, keep: BucketGroups = ALL_GROUPS): [Int32Array, number] {
  const length = text.length;
  const bound = 4 * length + 3 * Math.min(length, 2 * CHAR_WINDOW) + 8;
  if (buffer.length < bound) buffer = new Int32Array(bound);
  if (bytes.length <= 3 * length) bytes = new Uint8Array(3 * length + 1);
  const out = buffer;
  const utf8 = bytes;
  const end = encoder.encodeInto(text, utf8).written;
  // A space after the last byte ends the last word.
  utf8[end] = 0x20;
  let count = 0;

  // Words: FNV-1a per token; a bigram mixes the previous token's hash with this
  // one's. A word's first STEM_CHARS characters are a second, coarser token
  // ("reasoning", "reasons" → "reaso"), with bigrams of their own.
  let word = 0x811c9dc5;
  let stem = 0;
  let chars = 0;
  let previous = 0;
  let previousStem = 0;
  // Code units of the string minus bytes read, so p + units is the string index of byte p.
  let units = 0;
  for (let p = 0; p <= end; ) {
    const b0 = utf8[p] ?? 0;
    let code = b0;
    if (b0 < 0x80) {
      p += 1;
      if (ASCII_WORD[b0] === 1) {
        word = Math.imul(word ^ b0, PRIME);
        if (++chars === STEM_CHARS) stem = word;
        continue;
      }
    } else {
      if (b0 < 0xe0) {
        code = ((b0 & 0x1f) << 6) | ((utf8[p + 1] ?? 0) & 0x3f);
        units -= 1;
        p += 2;
      } else if (b0 < 0xf0) {
        code = ((b0 & 0x0f) << 12) | (((utf8[p + 1] ?? 0) & 0x3f) << 6) | ((utf8[p + 2] ?? 0) & 0x3f);
        // TextEncoder writes a lone surrogate as U+FFFD; the string still holds the surrogate.
        if (code === REPLACEMENT) code = text.charCodeAt(p + units);
        units -= 2;
        p += 3;
      } else {
        // Past U+FFFF: a surrogate pair, both halves word characters, so the high one is hashed here.
        const point = ((b0 & 0x07) << 18) | (((utf8[p + 1] ?? 0) & 0x3f) << 12) | (((utf8[p + 2] ?? 0) & 0x3f) << 6) | ((utf8[p + 3] ?? 0) & 0x3f);
        word = Math.imul(word ^ (0xd800 + ((point - 0x10000) >> 10)), PRIME);
        if (++chars === STEM_CHARS) stem = word;
        code = 0xdc00 + ((point - 0x10000) & 0x3ff);
        units -= 2;
        p += 4;
      }
      if (isWordChar(code)) {
        word = Math.imul(word ^ code, PRIME);
        if (++chars === STEM_CHARS) stem = word;
        continue;
      }
    }
    // Here a run of word characters ends, and a CJK character is a word of its
    // own: up to two words, emitted from one place in the loop (a second copy
    // of the emission would no longer be inlined into it).
    const cjk = code >= 0x3040 && isCjk(code);
    for (let w = chars > 0 ? 0 : 1; w < (cjk ? 2 : 1); w++) {
      if (w === 1) {
        word = Math.imul(0x811c9dc5 ^ code, PRIME);
        stem = word;
        chars = 1;
      } else if (chars <= STEM_CHARS) {
        stem = word;
      }
      // Digit runs are all "0" after normalising: as a word it says nothing but "a number was here".
      if (word !== ZERO) {
        count = put(out, count, keep, bucketOf(word ^ SEED_UNIGRAM));
        if (chars > STEM_CHARS) count = put(out, count, keep, bucketOf(stem ^ SEED_STEM));
        if (previous !== 0) {
          count = put(out, count, keep, bucketOf(Math.imul(previous, 0x9e3779b1) ^ word ^ SEED_BIGRAM));
          count = put(out, count, keep, bucketOf(Math.imul(previousStem, 0x9e3779b1) ^ stem ^ SEED_STEM_BIGRAM));
        }
      }
      previous = word;
      previousStem = stem;
      word = 0x811c9dc5;
      chars = 0;
    }
    // Punctuation ends a phrase: no bigram spans it.
    if (!cjk && code !== 0x20) {
      previous = 0;
      previousStem = 0;
    }
  }

  count = charGrams(text, 0, Math.min(length, CHAR_WINDOW), out, count, keep);
  if (length > CHAR_WINDOW) count = charGrams(text, Math.max(CHAR_WINDOW, length - CHAR_WINDOW), length, out, count, keep);
  return [out, count];
}

/**
 * Writes `bucket` at out[count]; returns count + 1 if `keep` holds its group,
 * else count, so the next write takes the slot. No branch: which features a
 * text keeps is close to random, and a mispredicted branch per feature costs
 * more than the write.
 */
function put(out: Int32Array, count: number, keep: BucketGroups, bucket: number): number {
  const group = bucket >>> GROUP_BITS;
  out[count] = bucket;
  return count + (((keep[group >>> 5] ?? 0) >>> (group & 31)) & 1);
}

function charGrams(text: string, start: number, end: number, out: Int32Array, count: number, keep: BucketGroups): number {
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
      count = put(out, count, keep, bucketOf(h3 ^ SEED_CHAR3));
      if (seen >= 3) {
        const h4 = Math.imul(Math.imul(c3, PRIME) ^ h3, PRIME);
        count = put(out, count, keep, bucketOf(h4 ^ SEED_CHAR4));
        if (seen >= 4) count = put(out, count, keep, bucketOf(Math.imul(Math.imul(c4, PRIME) ^ h4, PRIME) ^ SEED_CHAR5));
      }
    }
    c4 = c3;
    c3 = c2;
    c2 = c1;
    c1 = c0;
  }
  return count;
}

/** A model as shipped: per category a scale and a bias, and the sparse int8 weights of every category in base64. */
export type PackedModel = {
  buckets: number;
  categories: readonly string[];
  scales: readonly number[];
  biases: readonly number[];
  weights: string;
};

/** Weights laid out bucket-major: weights[bucket * categories + category]. */
export type Model = {
  categories: readonly Category[];
  scales: Float64Array;
  biases: Float64Array;
  weights: Int8Array;
};

/** Sparse int8 weights, category by category: a varint count, then (varint bucket delta, int8 weight) pairs. */
export function packWeights(weights: Int8Array, categoryCount: number): string {
  const bytes: number[] = [];
  const varint = (value: number) => {
    let v = value;
    while (v >= 0x80) {
      bytes.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    bytes.push(v);
  };
  const buckets = weights.length / categoryCount;
  for (let c = 0; c < categoryCount; c++) {
    const kept: number[] = [];
    for (let b = 0; b < buckets; b++) if (weights[b * categoryCount + c] !== 0) kept.push(b);
    varint(kept.length);
    let last = 0;
    for (const b of kept) {
      varint(b - last);
      last = b;
      bytes.push((weights[b * categoryCount + c] ?? 0) & 0xff);
    }
  }
  return toBase64(Uint8Array.from(bytes));
}

export function unpackModel(packed: PackedModel): Model {
  if (packed.buckets !== BUCKETS) throw new Error(`elicitation model has ${packed.buckets} buckets, features use ${BUCKETS}: retrain`);
  const categories = packed.categories.map((name) => {
    const category = CATEGORIES.find((known) => known === name);
    if (category === undefined) throw new Error(`elicitation model: unknown category ${name}`);
    return category;
  });
  const k = categories.length;
  const weights = new Int8Array(BUCKETS * k);
  const bytes = fromBase64(packed.weights);
  let pos = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[pos++] ?? 0;
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
      shift += 7;
    }
  };
  for (let c = 0; c < k; c++) {
    const kept = varint();
    let bucket = 0;
    for (let i = 0; i < kept; i++) {
      bucket += varint();
      weights[bucket * k + c] = ((bytes[pos++] ?? 0) << 24) >> 24;
    }
  }
  return { categories, scales: Float64Array.from(packed.scales), biases: Float64Array.from(packed.biases), weights };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// Decoding runs once per isolate start, over ~24 KB: a table, not indexOf per character.
const SEXTET = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;

function toBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63);
    out += i + 1 < bytes.length ? ALPHABET.charAt((n >> 6) & 63) : "=";
    out += i + 2 < bytes.length ? ALPHABET.charAt(n & 63) : "=";
  }
  return out;
}

function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let pos = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | (SEXTET[clean.charCodeAt(i) & 0x7f] ?? 0);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = (value >> bits) & 0xff;
    }
  }
  return out;
}
