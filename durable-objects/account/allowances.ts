/**
 * Allowances granted to isolates (lib/quota/allowance.ts): what each pre-debited and where, and the
 * slots it holds until it is given back. One row per grant, written when granted and deleted when
 * given back, so a restarted object still counts the slots of allowances that isolates hold. One
 * whose isolate never gives it back is dropped at its deadline (its ttl plus limits.leaseSeconds,
 * the longest a request admitted within it may run); what it pre-debited then stays counted.
 */
import type { OutstandingAllowance } from "../../lib/decision.ts";
import type { PreDebit } from "../../lib/quota/index.ts";
import type { BucketBounds } from "./counters.ts";
import { num, str } from "./rows.ts";

export type Allowance = {
  id: string;
  /** The isolate that holds it. */
  holder: string;
  /** No local admission within it after this (the grant's end). */
  expiresAt: number;
  deadline: number;
  /** The window bucket and the day bucket the pre-debit went to. */
  window: BucketBounds;
  day: BucketBounds;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  slots: number;
};

export class AllowanceStore {
  private held = new Map<string, Allowance>();
  /**
   * Local admissions reported so far, per allowance. In memory: an operator's view only, and a row
   * write per report would cost what the reports save; after a restart it counts from zero again.
   */
  private reported = new Map<string, number>();

  constructor(private readonly sql: SqlStorage) {}

  load(): void {
    this.held = new Map();
    this.reported = new Map();
    for (const r of this.sql.exec(`SELECT * FROM allowances`)) {
      const a: Allowance = {
        id: str(r.id), holder: str(r.holder), expiresAt: num(r.expires_at), deadline: num(r.deadline),
        window: { start: num(r.window_start), end: num(r.window_end) }, day: { start: num(r.day_start), end: num(r.day_end) },
        requests: num(r.requests), inputTokens: num(r.input_tokens), outputTokens: num(r.output_tokens), slots: num(r.slots),
      };
      this.held.set(a.id, a);
    }
  }

  /** Slots held by every allowance out: admission counts them as requests in flight. */
  get slots(): number {
    let n = 0;
    for (const a of this.held.values()) n += a.slots;
    return n;
  }

  get count(): number {
    return this.held.size;
  }

  /** The pre-debits still counted in the window, for the snapshot the client is shown. */
  preDebits(): PreDebit[] {
    return [...this.held.values()].map((a) => ({ ...a.window, requests: a.requests, inputTokens: a.inputTokens, outputTokens: a.outputTokens }));
  }

  /** Counts local admissions a report brought for this allowance (unknown ones are ignored). */
  noteAdmitted(id: string): void {
    if (this.held.has(id)) this.reported.set(id, (this.reported.get(id) ?? 0) + 1);
  }

  /** Every allowance out, soonest to end first. */
  list(): OutstandingAllowance[] {
    return [...this.held.values()]
      .map((a) => ({
        id: a.id, holder: a.holder,
        requests: a.requests,
        // The granting request was the object's own; the rest are the holder's to admit.
        remaining: Math.max(0, a.requests - 1 - (this.reported.get(a.id) ?? 0)),
        inputTokens: a.inputTokens, outputTokens: a.outputTokens, slots: a.slots,
        expiresAt: a.expiresAt, deadline: a.deadline,
      }))
      .sort((x, y) => x.expiresAt - y.expiresAt);
  }

  nextDeadlineAt(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const a of this.held.values()) next = Math.min(next, a.deadline);
    return next;
  }

  open(a: Allowance): void {
    this.held.set(a.id, a);
    this.sql.exec(
      `INSERT INTO allowances (id, holder, expires_at, deadline, window_start, window_end, day_start, day_end, requests, input_tokens, output_tokens, slots)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      a.id, a.holder, a.expiresAt, a.deadline, a.window.start, a.window.end, a.day.start, a.day.end, a.requests, a.inputTokens, a.outputTokens, a.slots,
    );
  }

  /** Removes and returns it; null when unknown (given back already, or dropped at its deadline). */
  take(id: string): Allowance | null {
    const a = this.held.get(id);
    if (!a) return null;
    this.held.delete(id);
    this.reported.delete(id);
    this.sql.exec(`DELETE FROM allowances WHERE id = ?`, id);
    return a;
  }

  /** Drops those past their deadline: their slots come back, their pre-debit stays counted. */
  reclaimExpired(now: number): void {
    if (now < this.nextDeadlineAt()) return;
    for (const a of [...this.held.values()]) {
      if (a.deadline > now) continue;
      this.held.delete(a.id);
      this.reported.delete(a.id);
    }
    this.sql.exec(`DELETE FROM allowances WHERE deadline <= ?`, now);
  }
}
