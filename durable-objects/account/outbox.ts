/**
 * What the account hands to its cluster collector and shows its operator: audit rows of every decision
 * that was not a plain allow, decision counts per minute (allow included), and the last 50 decisions.
 *
 * Audit rows are stored at once and deleted only after the collector has stored them, so a failed
 * hand-off loses nothing. Counts live in memory, like the cluster report they travel with: statistics,
 * where a row write per request would cost more than the decision; a crash loses at most one
 * hand-off's worth. Recent decisions are written behind, as one row holding the list, by the alarm that
 * writes the fingerprint counts (WRITE_BEHIND_DELAY_MS after the oldest decision not yet stored), not at
 * every hand-off: an operator's view, which a crash may leave up to that much behind, like the counts.
 */
import { AUDIT_FLUSH_DELAY_MS, COUNTS_FLUSH_DELAY_MS, WRITE_BEHIND_DELAY_MS } from "../../lib/account-alarm.ts";
import type { AuditHandoff } from "../../lib/audit.ts";
import { ACTIONS, type AccountState, type Action, type AdmitResult } from "../../lib/decision.ts";
import { BoundedMap } from "../../lib/bounded-map.ts";
import { nullableNum, nullableStr, num, str } from "./rows.ts";

const RECENT_DECISIONS = 50;
// Distinct decisions folded per minute: an account makes a handful; past this, new ones get rows of their own.
const REPEAT_KEYS = 64;
// If the collector is unreachable for long, keep the newest 5,000 audit rows rather than growing without bound.
const OUTBOX_CAP = 5_000;
// Rows per hand-off to the collector; the next follows at once when more remain.
const FLUSH_BATCH = 100;

type RecentDecision = AccountState["recentDecisions"][number] & { seq: number };
type DecisionCount = { minute: number; action: string; enforced: number; count: number };
export type AuditEntry = {
  requestId: string;
  action: Action;
  enforced: boolean;
  reasons: string[];
  risk: number;
  country: string;
  cluster: string | null;
  detail: Record<string, unknown>;
};
/** One hand-off as taken from the outbox: what to send, and how to acknowledge it. */
export type Handoff = { audit: AuditHandoff; lastId: number };

function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}

/** The stored list, read defensively: an entry that is not a decision is skipped. */
function parseRecent(text: string): RecentDecision[] {
  if (text === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: RecentDecision[] = [];
  for (const item of parsed as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const r = item as Record<string, unknown>;
    const action = str(r.action);
    if (!isAction(action)) continue;
    const reasons = Array.isArray(r.reasons) ? r.reasons.filter((x): x is string => typeof x === "string") : [];
    out.push({ seq: num(r.seq), at: num(r.at), requestId: str(r.requestId), action, enforced: r.enforced === true, reasons, risk: num(r.risk) });
  }
  return out.sort((a, b) => a.seq - b.seq).slice(-RECENT_DECISIONS);
}

export class OutboxStore {
  private size = 0;
  private dueAt: number | null = null;
  private counts = new Map<string, DecisionCount>();
  private recent: RecentDecision[] = [];
  /** The newest entries of `recent` not yet in storage, and when the oldest of them was remembered. */
  private recentUnwritten = 0;
  private recentSince: number | null = null;
  private seq = 0;
  /**
   * This minute's audit rows by what they decided, so a repeat adds to its row's count instead of
   * adding a row. Only rows not yet handed over are folded into: a row in flight to the collector
   * is not changed under it (ids at or below `handedThrough`).
   */
  private readonly repeats = new BoundedMap<string, number>(REPEAT_KEYS);
  private repeatsMinute = -1;
  private handedThrough = 0;

  constructor(private readonly sql: SqlStorage) {}

  load(now: number): void {
    this.recent = [];
    const stored = this.sql.exec(`SELECT decisions FROM recent_list WHERE id = 1`).toArray()[0];
    for (const d of parseRecent(str(stored?.decisions))) this.recent.push(d);
    this.recentUnwritten = 0;
    this.recentSince = null;
    this.seq = this.recent.at(-1)?.seq ?? 0;
    const outbox = this.sql.exec(`SELECT COUNT(*) AS n, MIN(at) AS oldest FROM audit_outbox`).toArray()[0];
    this.size = num(outbox?.n);
    // Counts stored by earlier versions (which wrote a row per decision) join the ones in memory.
    this.counts = new Map();
    for (const c of this.sql.exec(`SELECT minute, action, enforced, count FROM decision_counts`)) {
      this.add(num(c.minute), str(c.action), num(c.enforced), num(c.count));
    }
    if (this.counts.size > 0) this.sql.exec(`DELETE FROM decision_counts`);
    this.dueAt = this.size > 0 ? num(outbox?.oldest) + AUDIT_FLUSH_DELAY_MS : this.counts.size > 0 ? now : null;
  }

  /** Rows or counts wait to be handed over (recent decisions have their own deadline, `recentDueAt`). */
  get pending(): boolean {
    return this.size > 0 || this.counts.size > 0;
  }

  /** When the recent decisions not yet stored are due in storage; null when the stored list is up to date. */
  get recentDueAt(): number | null {
    return this.recentSince === null ? null : this.recentSince + WRITE_BEHIND_DELAY_MS;
  }

  /** When the outbox wants its next hand-off; null = no deadline of its own. */
  get flushDueAt(): number | null {
    return this.dueAt;
  }

  // ---------------------------------------------------------------------------------------------
  // Recent decisions

  remember(now: number, requestId: string, result: Pick<AdmitResult, "action" | "enforced" | "reasons" | "risk">): void {
    const seq = ++this.seq;
    this.recent.push({ seq, at: now, requestId, action: result.action, enforced: result.enforced, reasons: result.reasons, risk: result.risk });
    if (this.recent.length > RECENT_DECISIONS) this.recent.shift();
    this.recentUnwritten = Math.min(this.recent.length, this.recentUnwritten + 1);
    this.recentSince ??= now;
  }

  /** Newest first. */
  recentDecisions(): AccountState["recentDecisions"] {
    return [...this.recent].sort((a, b) => b.seq - a.seq).map(({ seq: _seq, ...d }) => d);
  }

  /** Stores the list as one row, when anything new was remembered (the alarm, once what is written behind is due). */
  writeRecent(): void {
    this.recentSince = null;
    if (this.recentUnwritten === 0) return;
    this.sql.exec(
      `INSERT INTO recent_list (id, decisions) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET decisions = excluded.decisions`,
      JSON.stringify(this.recent),
    );
    this.recentUnwritten = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Audit rows and decision counts

  /** Stores a decision's audit row, or counts it on this minute's row of the same decision. */
  enqueueAudit(now: number, row: AuditEntry, accountId: string | null): void {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.repeatsMinute) {
      this.repeats.clear();
      this.repeatsMinute = minute;
    }
    const key = JSON.stringify([row.action, row.enforced, row.reasons, row.cluster, row.detail.rule ?? null, row.detail.shadowAction ?? null]);
    const folded = this.repeats.get(key);
    // A row the outbox cap dropped updates nothing: the repeat then starts a row again.
    if (folded !== undefined && folded > this.handedThrough) {
      if (this.sql.exec(`UPDATE audit_outbox SET count = count + 1 WHERE id = ?`, folded).rowsWritten > 0) return;
    }
    const inserted = this.sql.exec<{ id: number }>(
      `INSERT INTO audit_outbox (at, kind, request_id, action, enforced, reasons, risk, country, cluster, detail, count)
       VALUES (?, 'decision', ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id`,
      now, row.requestId, row.action, row.enforced ? 1 : 0, row.reasons.join(","), row.risk, row.country, row.cluster, JSON.stringify(row.detail),
    ).one();
    this.repeats.set(key, inserted.id);
    this.size++;
    this.dueAt = Math.min(this.dueAt ?? Number.POSITIVE_INFINITY, now + AUDIT_FLUSH_DELAY_MS);
    if (this.size > OUTBOX_CAP) {
      const drop = this.size - OUTBOX_CAP;
      this.sql.exec(`DELETE FROM audit_outbox WHERE id IN (SELECT id FROM audit_outbox ORDER BY id LIMIT ?)`, drop);
      this.size = OUTBOX_CAP;
      console.error(JSON.stringify({ msg: "audit outbox full; oldest rows dropped", account: accountId, dropped: drop }));
    }
  }

  countDecision(now: number, action: Action, enforced: boolean): void {
    this.add(Math.floor(now / 60_000) * 60_000, action, enforced ? 1 : 0, 1);
    this.dueAt ??= now + COUNTS_FLUSH_DELAY_MS;
  }

  /** The next hand-off: up to 100 audit rows and every count; null when nothing waits. */
  take(accountId: string): Handoff | null {
    const rows = this.size > 0 ? this.sql.exec(`SELECT * FROM audit_outbox ORDER BY id LIMIT ?`, FLUSH_BATCH).toArray() : [];
    // A snapshot: `add` replaces entries, never changes them, so these stay what was sent.
    const counts = [...this.counts.values()];
    this.handedThrough = Math.max(this.handedThrough, num(rows.at(-1)?.id));
    if (rows.length === 0 && counts.length === 0) {
      this.size = 0;
      this.dueAt = null;
      return null;
    }
    return {
      audit: {
        accountId,
        rows: rows.map((r) => ({
          at: num(r.at), kind: str(r.kind), requestId: nullableStr(r.request_id), action: nullableStr(r.action),
          enforced: nullableNum(r.enforced), reasons: nullableStr(r.reasons), risk: nullableNum(r.risk),
          country: nullableStr(r.country), cluster: nullableStr(r.cluster), detail: nullableStr(r.detail), count: num(r.count, 1),
        })),
        counts,
      },
      lastId: num(rows.at(-1)?.id),
    };
  }

  /**
   * Deletes what the collector has stored. Rows admitted while the call was in flight have larger ids
   * and stay for the next hand-off; counts that grew meanwhile keep only what was not yet sent.
   */
  acknowledge(handoff: Handoff, now: number): "flushed" | "more" {
    const rowsSent = handoff.audit.rows.length;
    const deleted = rowsSent > 0 ? this.sql.exec(`DELETE FROM audit_outbox WHERE id <= ?`, handoff.lastId).rowsWritten : 0;
    for (const c of handoff.audit.counts) this.add(c.minute, c.action, c.enforced, -c.count);
    this.size = Math.max(0, this.size - deleted);
    this.dueAt = this.size > 0 ? now + AUDIT_FLUSH_DELAY_MS : this.counts.size > 0 ? now + COUNTS_FLUSH_DELAY_MS : null;
    return this.size > 0 && rowsSent === FLUSH_BATCH ? "more" : "flushed";
  }

  /** Adds to (or, with a negative n, takes from) one minute's count; a count at zero is gone. */
  private add(minute: number, action: string, enforced: number, n: number): void {
    const key = `${minute}|${action}|${enforced}`;
    const count = (this.counts.get(key)?.count ?? 0) + n;
    if (count > 0) this.counts.set(key, { minute, action, enforced, count });
    else this.counts.delete(key);
  }
}
