/**
 * Per-isolate caches whose entries also expire: a BoundedMap (lib/bounded-map.ts, the one eviction
 * mechanism) in recency order, each value with its own deadline. An expired entry is dropped when read.
 */
import { BoundedMap } from "../lib/bounded-map.ts";

export class ExpiringLru<K, V> {
  private readonly entries: BoundedMap<K, { value: V; expiresAt: number }>;

  constructor(maxEntries: number) {
    this.entries = new BoundedMap(maxEntries);
  }

  get(key: K, now: number): V | undefined {
    const entry = this.entries.touch(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V, expiresAt: number): void {
    this.entries.set(key, { value, expiresAt });
  }

  /** A new bound (a policy change): shrinking evicts the least recently used at once. */
  resize(maxEntries: number): void {
    this.entries.resize(maxEntries);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
