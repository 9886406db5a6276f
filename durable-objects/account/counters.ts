/**
 * The account's counters: one table of buckets, one scope per window. The sliding window counts
 * requests and tokens; the day counts exchanges as its requests. Buckets are kept in memory; the
 * buckets a call changed are written at its end (`flush`), one row upsert each however often the
 * call changed them (an admit that applies settles, gives back an allowance and counts itself
 * touches one window bucket several times). A bucket leaves when its window has passed it.
 */
import { bucketStartFor, type Bucket, type CounterSeries } from "../../lib/quota/index.ts";
import { insertRows, num, str } from "./rows.ts";

export type CounterScope = "window" | "day";
export type Amounts = { requests: number; inputTokens: number; outputTokens: number };
export type BucketBounds = { start: number; end: number };
type Row = BucketBounds & Amounts & { expiresAt: number };

export class CounterStore {
  private rows: Record<CounterScope, Row[]> = { window: [], day: [] };
  /** Rows changed since the last flush. */
  private readonly dirty = new Map<Row, CounterScope>();

  constructor(private readonly sql: SqlStorage) {}

  load(): void {
    this.rows = { window: [], day: [] };
    this.dirty.clear();
    for (const r of this.sql.exec(`SELECT * FROM counter_buckets`)) {
      const scope = str(r.scope);
      if (scope !== "window" && scope !== "day") continue;
      this.rows[scope].push({
        start: num(r.start_ms), end: num(r.end_ms), expiresAt: num(r.expires_at),
        requests: num(r.requests), inputTokens: num(r.input_tokens), outputTokens: num(r.output_tokens),
      });
    }
  }

  /** Every counter as the buckets of its own window, for the quota arithmetic. */
  series(): CounterSeries {
    const of = (scope: CounterScope, field: keyof Amounts): Bucket[] => this.rows[scope].map((r) => ({ start: r.start, end: r.end, value: r[field] }));
    return { requests: of("window", "requests"), inputTokens: of("window", "inputTokens"), outputTokens: of("window", "outputTokens"), exchanges: of("day", "requests") };
  }

  /**
   * Adds to the bucket `at` falls in (by default now; an allowance's pre-debit goes to a later one),
   * pruning that scope at `now` on rollover; returns that bucket.
   */
  add(scope: CounterScope, now: number, windowMs: number, widthMs: number, amounts: Amounts, at = now): BucketBounds {
    const start = bucketStartFor(at, widthMs);
    const end = start + widthMs;
    let row = this.rows[scope].find((r) => r.start === start && r.end === end);
    if (!row) {
      this.pruneScope(scope, now);
      row = { start, end, expiresAt: end + windowMs, requests: 0, inputTokens: 0, outputTokens: 0 };
      this.rows[scope].push(row);
    }
    row.requests += amounts.requests;
    row.inputTokens += amounts.inputTokens;
    row.outputTokens += amounts.outputTokens;
    row.expiresAt = Math.max(row.expiresAt, end + windowMs);
    this.write(scope, row);
    return { start: row.start, end: row.end };
  }

  /** Corrects a reservation in the window bucket it was made in; false when that bucket has left the window. */
  correct(bucket: BucketBounds, inputTokens: number, outputTokens: number): boolean {
    return this.adjust("window", bucket, { requests: 0, inputTokens, outputTokens });
  }

  /** Adds (or, negative, takes back) amounts in the bucket they were counted in; false when it has left its window. */
  adjust(scope: CounterScope, bucket: BucketBounds, amounts: Amounts): boolean {
    const row = this.rows[scope].find((r) => r.start === bucket.start && r.end === bucket.end);
    if (!row) return false;
    const requests = Math.max(0, row.requests + amounts.requests);
    const inputTokens = Math.max(0, row.inputTokens + amounts.inputTokens);
    const outputTokens = Math.max(0, row.outputTokens + amounts.outputTokens);
    // Nothing to write for an adjustment that changes nothing: an allowance given back fully used takes nothing back from the day.
    if (requests === row.requests && inputTokens === row.inputTokens && outputTokens === row.outputTokens) return true;
    row.requests = requests;
    row.inputTokens = inputTokens;
    row.outputTokens = outputTokens;
    this.write(scope, row);
    return true;
  }

  /** Writes every bucket changed since the last flush: call at the end of each call that counts. */
  flush(): void {
    if (this.dirty.size === 0) return;
    const rows = [...this.dirty].map(([r, scope]) => [scope, r.start, r.end, r.expiresAt, r.requests, r.inputTokens, r.outputTokens]);
    this.dirty.clear();
    insertRows(
      this.sql,
      `INSERT INTO counter_buckets (scope, start_ms, end_ms, expires_at, requests, input_tokens, output_tokens)`,
      `ON CONFLICT (scope, start_ms, end_ms) DO UPDATE SET expires_at = excluded.expires_at, requests = excluded.requests,
         input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens`,
      rows,
    );
  }

  prune(now: number): void {
    this.pruneScope("window", now);
    this.pruneScope("day", now);
  }

  /** When the last bucket leaves its window (-Infinity when there is none): housekeeping waits for it. */
  lastExpiry(): number {
    let last = Number.NEGATIVE_INFINITY;
    for (const r of [...this.rows.window, ...this.rows.day]) last = Math.max(last, r.expiresAt);
    return last;
  }

  private pruneScope(scope: CounterScope, now: number): void {
    if (!this.rows[scope].some((r) => r.expiresAt <= now)) return;
    for (const r of this.rows[scope]) if (r.expiresAt <= now) this.dirty.delete(r);
    this.rows[scope] = this.rows[scope].filter((r) => r.expiresAt > now);
    this.sql.exec(`DELETE FROM counter_buckets WHERE scope = ? AND expires_at <= ?`, scope, now);
  }

  private write(scope: CounterScope, row: Row): void {
    this.dirty.set(row, scope);
  }
}
