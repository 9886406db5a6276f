/**
 * A Map that never holds more than `capacity` entries: inserting past it evicts the oldest-inserted
 * (or, with `touch`, least-recently-used) entries and hands each to `onEvict`, so a caller that mirrors
 * the map in storage deletes the same rows. Map iteration order is insertion order, so the oldest entry
 * is always the first: eviction is O(1) per entry.
 *
 * Every per-object and per-isolate cache here that a client can grow (fingerprint keys, places, cached
 * verdicts, the key→account cache) is one of these, so "how big can this get" has one answer per cache.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private capacity: number,
    private readonly onEvict: (key: K, value: V) => void = () => {},
  ) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Get and mark as most recently used. */
  touch(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Inserts or replaces (a replaced entry becomes the newest), then evicts past the capacity. */
  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, value);
    this.trim();
    return this;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** A new capacity (a policy change): shrinking evicts at once. */
  resize(capacity: number): void {
    this.capacity = capacity;
    this.trim();
  }

  get size(): number {
    return this.entries.size;
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries[Symbol.iterator]();
  }

  private trim(): void {
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.entries().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value[0]);
      this.onEvict(oldest.value[0], oldest.value[1]);
    }
  }
}
