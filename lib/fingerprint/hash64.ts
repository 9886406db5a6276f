/**
 * A fast, non-cryptographic 64-bit string hash for fingerprint keys.
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
