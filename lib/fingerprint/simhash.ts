/**
 * 64-bit SimHash over words (1-word shingles), and LSH band keys for near-duplicates.
 *
 * Why single words: campaign templates vary a name, a number or a topic word per
 * request. With 3-word shingles one substituted word changes 3 of ~60 shingles
 * and moved a 68-word template by a mean Hamming distance of 5.6 (18 % within 3);
 * with single words 95 % stayed within 3, while unrelated prompts still sat a
 * mean of 27 bits apart (minimum 18). Word order is lost, which costs nothing
 * here: a template is recognised by its vocabulary.
 *
 * Bands: the 64 bits are split into 4 bands of 16. Two hashes at Hamming
 * distance d ≤ 3 differ in at most 3 bands (each differing bit sits in one
 * band), so by pigeonhole at least one of the 4 bands is identical and the two
 * requests share that band key. Distance 4 may or may not share one. Unrelated
 * texts sit near distance 32, where the chance of sharing any of the 4 bands is
 * about 4 / 65536.
 *
 * Speed: the usual per-shingle loop over 64 bits is replaced by 8 byte-value
 * histograms (8 increments per shingle); the bit counts are recovered from the
 * histograms once at the end, a fixed 2048-entry pass.
 */
import { fmix32, hex32 } from "../fasthash.ts";

export const SIMHASH_BANDS = 4;
/** Hamming distance up to which two texts are guaranteed to share a band key. */
export const SIMHASH_NEAR_DISTANCE = SIMHASH_BANDS - 1;
export const EMPTY_SIMHASH = "0000000000000000";

const SHINGLE_WORDS = 1;
const histogram = new Int32Array(8 * 256);

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function bump(index: number): void {
  histogram[index] = (histogram[index] ?? 0) + 1;
}

function addShingle(w0: number, w1: number, w2: number): void {
  // Two lanes from differently weighted combinations, so the 64 output bits
  // are not two copies of one 32-bit state; rotations keep word order significant.
  const lo = fmix32(w0 ^ Math.imul(rotl(w1, 10), 0x9e3779b1) ^ Math.imul(rotl(w2, 20), 0x85ebca77));
  const hi = fmix32(Math.imul(w0, 0xcc9e2d51) ^ rotl(Math.imul(w1, 0x1b873593), 15) ^ Math.imul(w2 ^ 0x27d4eb2f, 0x165667b1));
  bump(lo & 0xff);
  bump(0x100 | ((lo >>> 8) & 0xff));
  bump(0x200 | ((lo >>> 16) & 0xff));
  bump(0x300 | (lo >>> 24));
  bump(0x400 | (hi & 0xff));
  bump(0x500 | ((hi >>> 8) & 0xff));
  bump(0x600 | ((hi >>> 16) & 0xff));
  bump(0x700 | (hi >>> 24));
}

const ones = new Int32Array(64);

/** Per-bit counts from the byte histograms, then the majority vote: bit set where more than half the shingles had it. */
function majorityBits(total: number): [hi: number, lo: number] {
  ones.fill(0);
  for (let lane = 0; lane < 8; lane++) {
    const base = lane << 8;
    for (let value = 1; value < 256; value++) {
      const count = histogram[base | value] ?? 0;
      if (count === 0) continue;
      // Visit only the set bits of `value`.
      for (let bits = value; bits !== 0; bits &= bits - 1) {
        const bit = (lane << 3) | (31 - Math.clz32(bits & -bits));
        ones[bit] = (ones[bit] ?? 0) + count;
      }
    }
  }
  let lo = 0;
  let hi = 0;
  for (let bit = 0; bit < 32; bit++) {
    if ((ones[bit] ?? 0) * 2 > total) lo |= 1 << bit;
    if ((ones[bit + 32] ?? 0) * 2 > total) hi |= 1 << bit;
  }
  return [hi >>> 0, lo >>> 0];
}

/**
 * SimHash of normalised text (words separated by single spaces, as
 * `normalizeText` produces). 
 */
export function simhash(text: string): { hex: string; shingles: number } {
  if (text.length === 0) return { hex: EMPTY_SIMHASH, shingles: 0 };
  histogram.fill(0);
  let shingles = 0;
  let words = 0;
  let w0 = 0;
  let w1 = 0;
  // FNV-1a over the word's UTF-16 code units; a seed keeps "" distinct from absent.
  let h = 0x811c9dc5;
  let inWord = false;
  const length = text.length;
  for (let i = 0; i <= length; i++) {
    const c = i < length ? text.charCodeAt(i) : 0x20;
    if (c !== 0x20) {
      h = Math.imul(h ^ c, 0x01000193);
      inWord = true;
      continue;
    }
    if (!inWord) continue;
    const word = h >>> 0;
    words++;
    if (words >= SHINGLE_WORDS) {
      addShingle(SHINGLE_WORDS === 1 ? 0 : w0, SHINGLE_WORDS === 1 ? 0 : w1, word);
      shingles++;
    }
    w0 = w1;
    w1 = word;
    h = 0x811c9dc5;
    inWord = false;
  }
  if (words === 0) return { hex: EMPTY_SIMHASH, shingles: 0 };
  if (shingles === 0) {
    // One or two words: w1 holds the last word, w0 the one before (0 if none).
    addShingle(0, w0, w1);
    shingles = 1;
  }
  const [hi, lo] = majorityBits(shingles);
  return { hex: hex32(hi) + hex32(lo), shingles };
}

/** `tpl:<band>:<4 hex>` for each 16-bit band of a 16-hex-digit SimHash. */
export function bandKeys(hex: string): string[] {
  const keys: string[] = [];
  for (let band = 0; band < SIMHASH_BANDS; band++) keys.push(`tpl:${band}:${hex.slice(band * 4, band * 4 + 4)}`);
  return keys;
}

function popcount32(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

const HEX16 = /^[0-9a-f]{16}$/i;

/** Bits that differ between two 16-hex-digit SimHashes; 64 (as far apart as possible) when either is malformed. */
export function hammingDistance(a: string, b: string): number {
  if (!HEX16.test(a) || !HEX16.test(b)) return 64;
  const hi = parseInt(a.slice(0, 8), 16) ^ parseInt(b.slice(0, 8), 16);
  const lo = parseInt(a.slice(8), 16) ^ parseInt(b.slice(8), 16);
  return popcount32(hi) + popcount32(lo);
}
