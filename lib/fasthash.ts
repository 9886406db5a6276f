/**
 * Fast, non-cryptographic hashes: 64-bit for fingerprint keys, 32-bit for
 * sharding and sketches.
 *
 * Why not SHA-256 everywhere: keys are built several times per request and
 * crypto.subtle is async with a per-call cost of tens of microseconds. Why a
 * non-crypto hash is safe here: every input is something the client controls
 * anyway, so an attacker who wants to share (or avoid) a key just sends (or
 * changes) the features; a forged collision buys nothing a copy doesn't.
 */

/** Two independent 32-bit multiply-xor lanes (cyrb53-style), finalised together. */
export function hash64(input: string, seed = 0): [hi: number, lo: number] {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x9e3779b1);
    h2 = Math.imul(h2 ^ c, 0x5f356495);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  return [h2 >>> 0, h1 >>> 0];
}

export function hex32(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}

/** 16 hex characters. */
export function hash64Hex(input: string): string {
  const [hi, lo] = hash64(input);
  return hex32(hi) + hex32(lo);
}

/**
 * Hashes a list of feature values; null and "" hash differently, and the unit
 * separator keeps ["ab","c"] apart from ["a","bc"].
 */
export function hashFields(fields: readonly (string | number | boolean | null)[]): string {
  let joined = "";
  for (const field of fields) joined += (field === null ? "\u0000" : String(field)) + "\u001f";
  return hash64Hex(joined);
}

/** murmur3's 32-bit finaliser: full avalanche, so low bits are usable for buckets. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a 32-bit over UTF-16 code units: stable across runtimes, so shard assignment never moves. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** FNV-1a then fmix32: FNV alone clusters its low bits, which sketches index by. */
export function hash32(text: string): number {
  return fmix32(fnv1a32(text));
}
