// AssemblyScript source of elicitation.wasm: the elicitation model's weighted
// sums over a text's hashed features, the scorer's hot loop.
//
// Built by `npm run build:wasm` (scripts/build-wasm.ts, AssemblyScript 0.28.20;
// `-- --check` fails if the committed binary differs). The extension is not
// .ts so that TypeScript does not read it; the build copies it to one.
//
// The features are the ones lib/fingerprint/elicitation-features.ts defines
// and the trainer reads (featureBuckets): the same hashes, seeds and character
// classes, over the text's UTF-8 bytes decoded back to the UTF-16 code units
// the features are defined over. Instead of listing buckets, each feature is
// looked up at once, and each weighted bucket counts once per text.
//
// Memory, laid out by the caller (lib/fingerprint/elicitation-wasm.ts), every
// region 4-byte aligned:
//   groups   1 bit per group of 8 buckets (4 KB): a feature outside it weighs nothing
//   present  1 bit per bucket (32 KB): the bucket carries a weight
//   before   per 32-bucket word, the weighted buckets in the words before it
//   weights  rows × k int8: the r-th weighted bucket's weight per category
//   seen     rows × u32: the call in which row r was last counted
//   sums     k × i32: the output
//   fixes    (string index, code unit) pairs of lone surrogates, ascending
//   text     the UTF-8 bytes, then one byte of room for the closing space

const BUCKET_MASK: u32 = (1 << 18) - 1;
const GROUP_BITS: u32 = 3;
const CHAR_WINDOW: i32 = 1024;
const STEM_CHARS: i32 = 5;

const OFFSET: u32 = 0x811c9dc5;
const PRIME: u32 = 0x01000193;
const GOLDEN: u32 = 0x9e3779b1;
const SEED_UNIGRAM: u32 = 0x1b873593;
const SEED_BIGRAM: u32 = 0x5bd1e995;
const SEED_STEM: u32 = 0x3c6ef372;
const SEED_STEM_BIGRAM: u32 = 0xa54ff53a;
const SEED_CHAR3: u32 = 0x68e31da4;
const SEED_CHAR4: u32 = 0x7feb352d;
const SEED_CHAR5: u32 = 0x846ca68b;
// A digit run normalised to "0": as a word it says nothing but "a number was here".
const ZERO: u32 = (OFFSET ^ 0x30) * PRIME;
const REPLACEMENT: u32 = 0xfffd;

let groups: usize = 0;
let present: usize = 0;
let before: usize = 0;
let weights: usize = 0;
let seen: usize = 0;
let sums: usize = 0;
let k: i32 = 0;
let mark: u32 = 0;
let replacements: i32 = 0;

// The character window's last four code units (c1 newest) and how many it has seen.
let c1: u32 = 0;
let c2: u32 = 0;
let c3: u32 = 0;
let c4: u32 = 0;
let grams: i32 = 0;

/** Where the tables live; rows is the number of weighted buckets. Clears the seen marks. */
export function setup(groupsAt: usize, presentAt: usize, beforeAt: usize, weightsAt: usize, seenAt: usize, sumsAt: usize, categories: i32, rows: i32): void {
  groups = groupsAt;
  present = presentAt;
  before = beforeAt;
  weights = weightsAt;
  seen = seenAt;
  sums = sumsAt;
  k = categories;
  memory.fill(seen, 0, <usize>rows << 2);
  mark = 0;
}

/** murmur3's finaliser, as bucketOf. */
// @ts-ignore: decorator
@inline function bucketOf(x: u32): u32 {
  let h = x;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h & BUCKET_MASK;
}

/** Adds the weights of the feature hashed to `h`, unless its bucket weighs nothing or was counted in this call. */
// @ts-ignore: decorator
@inline function feature(h: u32): void {
  const bucket = bucketOf(h);
  const group = bucket >>> GROUP_BITS;
  if (((load<u32>(groups + ((group >>> 5) << 2)) >>> (group & 31)) & 1) == 0) return;
  const wordAt = (bucket >>> 5) << 2;
  const word = load<u32>(present + wordAt);
  const bit: u32 = 1 << (bucket & 31);
  if ((word & bit) == 0) return;
  const row = load<u32>(before + wordAt) + popcnt<u32>(word & (bit - 1));
  const seenAt = seen + (<usize>row << 2);
  if (load<u32>(seenAt) == mark) return;
  store<u32>(seenAt, mark);
  const base = weights + <usize>row * <usize>k;
  for (let c = 0; c < k; c++) {
    const at = sums + (<usize>c << 2);
    store<i32>(at, load<i32>(at) + <i32>load<i8>(base + <usize>c));
  }
}

/** One code unit of a character window: its 3-, 4- and 5-grams once it has that many units. */
// @ts-ignore: decorator
@inline function charUnit(c0: u32): void {
  if (grams >= 2) {
    const h3 = ((c2 * PRIME) ^ c1) * PRIME ^ c0;
    feature(h3 ^ SEED_CHAR3);
    if (grams >= 3) {
      const h4 = ((c3 * PRIME) ^ h3) * PRIME;
      feature(h4 ^ SEED_CHAR4);
      if (grams >= 4) feature(((c4 * PRIME) ^ h4) * PRIME ^ SEED_CHAR5);
    }
  }
  c4 = c3;
  c3 = c2;
  c2 = c1;
  c1 = c0;
  grams++;
}

// @ts-ignore: decorator
@inline function isCjk(code: u32): bool {
  return (code >= 0x3040 && code <= 0x9fff) || (code >= 0xac00 && code <= 0xd7af) || (code >= 0xf900 && code <= 0xfaff);
}

/** A non-ASCII code unit's class: everything from U+00C0 except CJK and the punctuation blocks. */
// @ts-ignore: decorator
@inline function isWideWordChar(code: u32): bool {
  return code >= 0xc0 && !isCjk(code) && !((code >= 0x2000 && code <= 0x206f) || (code >= 0x3000 && code <= 0x303f) || (code >= 0xff00 && code <= 0xffef));
}

/**
 * The sums of the weights of `text`'s distinct weighted buckets, per category,
 * at `sums`. `text` holds `bytes` UTF-8 bytes of a string of `units` UTF-16
 * code units. Returns how many U+FFFD sequences it read: TextEncoder writes a
 * lone surrogate as one, so the caller passes the string's lone surrogates in
 * `fixes` when that is not 0.
 */
export function score(text: usize, bytes: i32, units: i32, fixes: usize, fixCount: i32): i32 {
  memory.fill(sums, 0, <usize>k << 2);
  if (++mark == 0) {
    // Once in 2^32 calls: marks wrap, and a row marked long ago must not read as counted in this call.
    mark = 1;
  }
  replacements = 0;
  // A space after the last byte ends the last word.
  store<u8>(text + <usize>bytes, 0x20);
  let fix = 0;

  let word = OFFSET;
  let stem: u32 = 0;
  let chars = 0;
  let previous: u32 = 0;
  let previousStem: u32 = 0;
  // String index minus byte index: p + shift is the string index of byte p.
  let shift = 0;
  for (let p = 0; p <= bytes; ) {
    const b0 = <u32>load<u8>(text + <usize>p);
    const index = p + shift;
    let code = b0;
    if (b0 < 0x80) {
      p += 1;
      if (b0 - 0x61 < 26 || b0 - 0x30 < 10) {
        word = (word ^ b0) * PRIME;
        if (++chars == STEM_CHARS) stem = word;
        continue;
      }
    } else {
      if (b0 < 0xe0) {
        code = ((b0 & 0x1f) << 6) | (<u32>load<u8>(text + <usize>p + 1) & 0x3f);
        shift -= 1;
        p += 2;
      } else if (b0 < 0xf0) {
        code = ((b0 & 0x0f) << 12) | ((<u32>load<u8>(text + <usize>p + 1) & 0x3f) << 6) | (<u32>load<u8>(text + <usize>p + 2) & 0x3f);
        if (code == REPLACEMENT) {
          replacements++;
          if (fix < fixCount && load<i32>(fixes + (<usize>fix << 3)) == index) {
            code = load<u32>(fixes + (<usize>fix << 3) + 4);
            fix++;
          }
        }
        shift -= 2;
        p += 3;
      } else {
        // Past U+FFFF: a surrogate pair, both halves word characters, so the high one is hashed here.
        const point = ((b0 & 0x07) << 18) | ((<u32>load<u8>(text + <usize>p + 1) & 0x3f) << 12) | ((<u32>load<u8>(text + <usize>p + 2) & 0x3f) << 6) | (<u32>load<u8>(text + <usize>p + 3) & 0x3f);
        const high = 0xd800 + ((point - 0x10000) >> 10);
        word = (word ^ high) * PRIME;
        if (++chars == STEM_CHARS) stem = word;
        code = 0xdc00 + ((point - 0x10000) & 0x3ff);
        shift -= 2;
        p += 4;
        word = (word ^ code) * PRIME;
        if (++chars == STEM_CHARS) stem = word;
        continue;
      }
      if (isWideWordChar(code)) {
        word = (word ^ code) * PRIME;
        if (++chars == STEM_CHARS) stem = word;
        continue;
      }
    }
    // A run of word characters ends here, and a CJK character is a word of its own.
    if (chars > 0) {
      if (chars <= STEM_CHARS) stem = word;
      emitWord(word, stem, chars > STEM_CHARS, previous, previousStem);
      previous = word;
      previousStem = stem;
      word = OFFSET;
      chars = 0;
    }
    const cjk = code >= 0x3040 && isCjk(code);
    if (cjk) {
      const single = (OFFSET ^ code) * PRIME;
      emitWord(single, single, false, previous, previousStem);
      previous = single;
      previousStem = single;
    } else if (code != 0x20) {
      // Punctuation ends a phrase: no bigram spans it.
      previous = 0;
      previousStem = 0;
    }
  }

  // The character windows: the first CHAR_WINDOW code units, and the last
  // CHAR_WINDOW of a longer text (never before the first window ends), each
  // on its own, in passes of their own: tested in the loop above, they cost
  // more than the words.
  charWindow(text, 0, 0, 0, units < CHAR_WINDOW ? units : CHAR_WINDOW, fixes, fixCount);
  if (units > CHAR_WINDOW) {
    const tail = units - CHAR_WINDOW > CHAR_WINDOW ? units - CHAR_WINDOW : CHAR_WINDOW;
    // Back from the end to the character holding code unit `tail`.
    let p = bytes;
    let index = units;
    while (index > tail) {
      p--;
      const b = <u32>load<u8>(text + <usize>p);
      if ((b & 0xc0) != 0x80) index -= b >= 0xf0 ? 2 : 1;
    }
    charWindow(text, p, index, tail, units, fixes, fixCount);
  }
  return replacements;
}

/**
 * The n-grams of code units [from, to), decoding from byte `p`, where code
 * unit `index` (≤ from) starts. Lone surrogates come from `fixes`, as in score().
 */
function charWindow(text: usize, p: i32, index: i32, from: i32, to: i32, fixes: usize, fixCount: i32): void {
  grams = 0;
  let fix = 0;
  while (fix < fixCount && load<i32>(fixes + (<usize>fix << 3)) < index) fix++;
  while (index < to) {
    const b0 = <u32>load<u8>(text + <usize>p);
    if (b0 < 0x80) {
      charUnit(b0);
      p += 1;
      index += 1;
      continue;
    }
    let code: u32;
    if (b0 < 0xe0) {
      code = ((b0 & 0x1f) << 6) | (<u32>load<u8>(text + <usize>p + 1) & 0x3f);
      p += 2;
    } else if (b0 < 0xf0) {
      code = ((b0 & 0x0f) << 12) | ((<u32>load<u8>(text + <usize>p + 1) & 0x3f) << 6) | (<u32>load<u8>(text + <usize>p + 2) & 0x3f);
      if (code == REPLACEMENT && fix < fixCount && load<i32>(fixes + (<usize>fix << 3)) == index) {
        code = load<u32>(fixes + (<usize>fix << 3) + 4);
        fix++;
      }
      p += 3;
    } else {
      const point = ((b0 & 0x07) << 18) | ((<u32>load<u8>(text + <usize>p + 1) & 0x3f) << 12) | ((<u32>load<u8>(text + <usize>p + 2) & 0x3f) << 6) | (<u32>load<u8>(text + <usize>p + 3) & 0x3f);
      // A window edge may fall between the two halves: only the half inside counts.
      if (index >= from) charUnit(0xd800 + ((point - 0x10000) >> 10));
      index += 1;
      code = 0xdc00 + ((point - 0x10000) & 0x3ff);
      p += 4;
    }
    if (index >= from && index < to) charUnit(code);
    index += 1;
  }
}

/** A word's unigram, its stem's (when the stem is shorter than the word), and both bigrams with the word before it. */
// @ts-ignore: decorator
@inline function emitWord(word: u32, stem: u32, long: bool, previous: u32, previousStem: u32): void {
  if (word == ZERO) return;
  feature(word ^ SEED_UNIGRAM);
  if (long) feature(stem ^ SEED_STEM);
  if (previous != 0) {
    feature((previous * GOLDEN) ^ word ^ SEED_BIGRAM);
    feature((previousStem * GOLDEN) ^ stem ^ SEED_STEM_BIGRAM);
  }
}
