/**
 * When an account object's alarm should next fire: the earliest pending work (handing the outbox to
 * the collector, the cluster report, a lease expiring, counters leaving their window), and never when
 * nothing is pending, so an idle account costs nothing. Times are the object's clock, in ms.
 */

/** How the last hand-off to the collector went; null when the alarm did not run one. */
export type FlushOutcome = "idle" | "flushed" | "more" | "failed";

// Audit rows wait up to 5 s so a burst of decisions becomes one hand-off instead of many.
export const AUDIT_FLUSH_DELAY_MS = 5_000;
// Counts alone are per minute: waiting 30 s folds a busy account's traffic into one hand-off instead of twelve.
export const COUNTS_FLUSH_DELAY_MS = 30_000;
export const FLUSH_RETRY_MS = 30_000;
/**
 * What the account object writes behind (fingerprint counts, the recent decisions, the rows of given-back
 * allowances) waits in memory at most this long: half the time an idle object lives before eviction (a
 * minute or more), so it is in storage well before an idle object can lose it, and at the same cadence
 * as the decision counts' hand-off. One alarm writes all of them.
 */
export const WRITE_BEHIND_DELAY_MS = 30_000;
// Pruning alone is never urgent: a minute past the last expiry, so one alarm prunes everything at once.
export const PRUNE_SLACK_MS = 60_000;

export type AlarmState = {
  now: number;
  /** Audit rows or decision counts wait for the hand-off. */
  writesPending: boolean;
  /** When the outbox asked to be handed over; null = no deadline of its own. */
  flushDueAt: number | null;
  lastFlush: FlushOutcome | null;
  /** The earliest open lease's expiry; Infinity when none is open. */
  nextLeaseExpiry: number;
  reportDueAt: number | null;
  /** When what is written behind (fingerprint counts, recent decisions, given-back allowances) is due in storage; null = nothing waits. */
  writeBehindDueAt: number | null;
  /** When the last stored counter or place leaves its window; -Infinity when there is none. */
  lastExpiry: number;
};

export function nextAlarmAt(s: AlarmState): number | null {
  let due = Number.POSITIVE_INFINITY;
  if (s.writesPending) {
    if (s.lastFlush === "more") due = s.now;
    else if (s.lastFlush === "failed") due = s.now + FLUSH_RETRY_MS;
    else due = s.flushDueAt ?? s.now + AUDIT_FLUSH_DELAY_MS;
  }
  due = Math.min(due, s.nextLeaseExpiry, s.reportDueAt ?? Number.POSITIVE_INFINITY, s.writeBehindDueAt ?? Number.POSITIVE_INFINITY);
  // Housekeeping waits until every counter has left its window: an account in use prunes as its buckets
  // roll over, so an idle one (most of a hydra's, after its few requests) is woken once, not per window.
  if (Number.isFinite(s.lastExpiry)) due = Math.min(due, Math.max(s.lastExpiry, s.now) + PRUNE_SLACK_MS);
  return Number.isFinite(due) ? due : null;
}
