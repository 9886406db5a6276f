/**
 * Allowances granted to isolates (lib/quota/allowance.ts): what each pre-debited and where, and the
 * slots it holds until it is given back. One row per grant, written when granted, so a restarted object
 * still counts the slots of allowances that isolates hold. One whose isolate never gives it back is
 * dropped at its deadline (its ttl plus limits.leaseSeconds, the longest a request admitted within it
 * may run); what it pre-debited then stays counted.
 *
 * The row of an allowance given back is not deleted at once: the next grant takes it over (one row
 * rewritten instead of one deleted and one inserted: at steady state every renewal gives one back and
 * takes the next), and the alarm deletes what no grant took over, with the other writes behind
 * (WRITE_BEHIND_DELAY_MS). A restart before then finds such a row and counts it as held until its
 * deadline, as it counts an allowance whose isolate went away: its slots stay taken that long (never
 * over-admission); its pre-debit is not counted twice, the counters took back its unused part when it
 * was given back.
 */
import type { OutstandingAllowance } from "../../lib/decision.ts";
import type { PreDebit } from "../../lib/quota/index.ts";
import { WRITE_BEHIND_DELAY_MS } from "../../lib/account-alarm.ts";
import type { BucketBounds } from "./counters.ts";
import { num, str } from "./rows.ts";

// Durable Object SQLite binds at most 100 parameters per statement.
const IDS_PER_DELETE = 100;

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
  /** Rows of allowances given back that are still stored, with their deadlines; the oldest first. */
  private freed: { id: string; deadline: number }[] = [];
  private freedSince: number | null = null;

  constructor(private readonly sql: SqlStorage) {}

  load(): void {
    this.held = new Map();
    this.reported = new Map();
    this.freed = [];
    this.freedSince = null;
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

  /** Stores a grant, in the row of one given back when there is one. */
  open(a: Allowance): void {
    this.held.set(a.id, a);
    const values = [a.id, a.holder, a.expiresAt, a.deadline, a.window.start, a.window.end, a.day.start, a.day.end, a.requests, a.inputTokens, a.outputTokens, a.slots];
    const reuse = this.freed.pop();
    if (this.freed.length === 0) this.freedSince = null;
    if (reuse) {
      const updated = this.sql.exec(
        `UPDATE allowances SET id = ?, holder = ?, expires_at = ?, deadline = ?, window_start = ?, window_end = ?, day_start = ?, day_end = ?,
           requests = ?, input_tokens = ?, output_tokens = ?, slots = ? WHERE id = ?`,
        ...values, reuse.id,
      );
      if (updated.rowsWritten > 0) return;
    }
    this.sql.exec(
      `INSERT INTO allowances (id, holder, expires_at, deadline, window_start, window_end, day_start, day_end, requests, input_tokens, output_tokens, slots)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...values,
    );
  }

  /** Removes and returns it; null when unknown (given back already, or dropped at its deadline). Its row waits for the next grant. */
  take(id: string, now: number): Allowance | null {
    const a = this.held.get(id);
    if (!a) return null;
    this.held.delete(id);
    this.reported.delete(id);
    this.freed.push({ id, deadline: a.deadline });
    this.freedSince ??= now;
    return a;
  }

  /** When the rows of allowances given back and not taken over are due to be deleted; null when none waits. */
  get freedDueAt(): number | null {
    return this.freedSince === null ? null : this.freedSince + WRITE_BEHIND_DELAY_MS;
  }

  /** Deletes the rows of allowances given back that no grant took over (the alarm, once what is written behind is due). */
  deleteFreed(): void {
    for (let i = 0; i < this.freed.length; i += IDS_PER_DELETE) {
      const ids = this.freed.slice(i, i + IDS_PER_DELETE).map((f) => f.id);
      this.sql.exec(`DELETE FROM allowances WHERE id IN (${ids.map(() => "?").join(", ")})`, ...ids);
    }
    this.freed = [];
    this.freedSince = null;
  }

  /** Drops those past their deadline: their slots come back, their pre-debit stays counted. */
  reclaimExpired(now: number): void {
    if (now < this.nextDeadlineAt() && !this.freed.some((f) => f.deadline <= now)) return;
    for (const a of [...this.held.values()]) {
      if (a.deadline > now) continue;
      this.held.delete(a.id);
      this.reported.delete(a.id);
    }
    // Rows given back past their deadline go with them.
    this.freed = this.freed.filter((f) => f.deadline > now);
    if (this.freed.length === 0) this.freedSince = null;
    this.sql.exec(`DELETE FROM allowances WHERE deadline <= ?`, now);
  }
}
