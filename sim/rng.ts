/**
 * Seeded randomness for the simulator. Every scenario is reproducible from its
 * seed: the same file gives the same accounts, prompts and schedule on Node and
 * in workerd, so a report can be regenerated and a test replays what the CLI ran.
 */

/** sfc32: small, fast, passes PractRand to 2^40; Math.random cannot be seeded. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The seed this stream started from: forks derive from it, not from how far the stream has run. */
  readonly seed: number;

  constructor(seed: number | string) {
    const s = typeof seed === "number" ? seed >>> 0 : hashString(seed);
    this.seed = s;
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = s;
    // The first outputs of a freshly seeded sfc32 are correlated with the seed.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of entries) total += Math.max(0, w);
    let x = this.next() * total;
    for (const [value, w] of entries) {
      x -= Math.max(0, w);
      if (x < 0) return value;
    }
    const last = entries[entries.length - 1];
    if (last === undefined) throw new Error("weighted pick from an empty list");
    return last[0];
  }

  /** Exponential with the given mean: gaps between independent human actions. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  hex(length: number): string {
    let out = "";
    while (out.length < length) out += ((this.next() * 4294967296) >>> 0).toString(16).padStart(8, "0");
    return out.slice(0, length);
  }

  /** A child generator: independent stream per account/request, stable when other parts change. */
  fork(label: string | number): Rng {
    return new Rng(hashString(`${this.seed}:${label}`));
  }
}

/** FNV-1a 32-bit of a string: turns labels into seeds. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
