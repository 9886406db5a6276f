/**
 * What the content steps made of one exact prompt, kept for the next request
 * that sends the same one. A conversation resends its system prompt and its
 * first user turn on every turn, and an agent does so on every step, so the
 * SHA-256 of the system prompt, the normalising, the SimHash, the wrapper keys
 * and the elicitation score would otherwise be redone, byte for byte, on text
 * already seen. Every one of them is a pure function of the raw text and the
 * byte budget, so a hit gives exactly what the work would have given.
 *
 * Keyed by the exact raw strings (the first user turn as the map key, the
 * system prompt compared on a hit): a lookup costs one hash of the user text
 * and, on a hit, one comparison of each string, against NFKC normalising,
 * regular expressions and the scorer over the same text on a miss.
 *
 * Bounded twice: in entries, and in the characters the entries hold, so a flood
 * of long distinct prompts cycles the memo instead of growing it. Oldest first
 * out (no reordering on a hit): a hit then costs no map writes.
 *
 * Pure: no bindings; one memo per isolate, like the scorer's own tables.
 */

type Entry<V> = { system: string | null; maxBytes: number; chars: number; value: V };

export class ContentMemo<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  /** What was kept for exactly this system prompt, first user turn and budget, if anything. */
  get(system: string | null, user: string, maxBytes: number): V | undefined {
    const entry = this.entries.get(user);
    return entry !== undefined && entry.system === system && entry.maxBytes === maxBytes ? entry.value : undefined;
  }

  set(system: string | null, user: string, maxBytes: number, value: V): void {
    const chars = user.length + (system?.length ?? 0);
    // One prompt bigger than the whole budget would evict everything and still not fit.
    if (chars > this.maxChars) return;
    const held = this.entries.get(user);
    if (held !== undefined) {
      this.entries.delete(user);
      this.chars -= held.chars;
    }
    this.entries.set(user, { system, maxBytes, chars, value });
    this.chars += chars;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      const oldest = this.entries.entries().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value[0]);
      this.chars -= oldest.value[1].chars;
    }
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
  }

  /** Entries and characters held (tests, diagnostics). */
  get size(): { entries: number; chars: number } {
    return { entries: this.entries.size, chars: this.chars };
  }
}
