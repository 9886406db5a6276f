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

// 4 system prompts per user turn: one short first turn ("hi", a pasted error) is sent under the system
// prompts of several apps, and each keeps its entry instead of evicting the others' on every request.
const MAX_PER_USER_TURN = 4;

export class ContentMemo<V> {
  /** By first user turn, the entries for each system prompt sent with it, oldest first. */
  private readonly entries = new Map<string, Entry<V>[]>();
  private count = 0;
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  /** What was kept for exactly this system prompt, first user turn and budget, if anything. */
  get(system: string | null, user: string, maxBytes: number): V | undefined {
    const held = this.entries.get(user);
    if (held === undefined) return undefined;
    for (const entry of held) if (entry.system === system && entry.maxBytes === maxBytes) return entry.value;
    return undefined;
  }

  set(system: string | null, user: string, maxBytes: number, value: V): void {
    const chars = user.length + (system?.length ?? 0);
    // One prompt bigger than the whole budget would evict everything and still not fit.
    if (chars > this.maxChars) return;
    let held = this.entries.get(user);
    if (held === undefined) {
      held = [];
      this.entries.set(user, held);
    }
    const same = held.findIndex((entry) => entry.system === system && entry.maxBytes === maxBytes);
    if (same !== -1) this.forget(held, same);
    else if (held.length >= MAX_PER_USER_TURN) this.forget(held, 0);
    held.push({ system, maxBytes, chars, value });
    this.count++;
    this.chars += chars;
    while (this.count > this.maxEntries || this.chars > this.maxChars) {
      const oldest = this.entries.entries().next();
      if (oldest.done) break;
      const [turn, list] = oldest.value;
      this.forget(list, 0);
      if (list.length === 0) this.entries.delete(turn);
    }
  }

  clear(): void {
    this.entries.clear();
    this.count = 0;
    this.chars = 0;
  }

  /** Entries and characters held (tests, diagnostics). */
  get size(): { entries: number; chars: number } {
    return { entries: this.count, chars: this.chars };
  }

  private forget(list: Entry<V>[], at: number): void {
    const [gone] = list.splice(at, 1);
    if (gone === undefined) return;
    this.count--;
    this.chars -= gone.chars;
  }
}
