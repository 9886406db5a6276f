/**
 * The retention job (cron, beside the linker): deletes what D1 no longer needs to keep, as the policy's
 * `retention` section says, at most `deletesPerRun` rows per table per run. A backlog (a first run on a
 * big table, a shortened retention) drains over several runs instead of one long one; every run deletes
 * the oldest first, so what is kept is always the newest.
 *
 *   audit_log             rows older than auditDays (by `at`, ISO text)
 *   decision_counts       minutes older than decisionCountDays
 *   account_fingerprints  edges whose last_seen is older than edgeDays (collectors refresh a live
 *                         edge hourly, so only an account that stopped using a key loses the edge; the
 *                         linker's next run then no longer links through it)
 *   fingerprint_keys      key snapshots not rewritten for edgeDays (a root rewrites its key's snapshot
 *                         while the key is in use, so only a key nobody sends any more goes; its edges
 *                         have aged out by then too, and the root writes it again if it comes back)
 */
import type { Policy } from "../../lib/policy/index.ts";

const DAY_MS = 86_400_000;

export type RetentionStats = { audit: number; decisionCounts: number; edges: number; keys: number };

export async function applyRetention(db: D1Database, policy: Policy, now = Date.now()): Promise<RetentionStats> {
  const r = policy.retention;
  const limit = r.deletesPerRun;
  // Each statement picks its victims in a bounded subquery: D1's SQLite has no DELETE … LIMIT.
  const results = await db.batch([
    db.prepare(`DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY id LIMIT ?)`)
      .bind(new Date(now - r.auditDays * DAY_MS).toISOString(), limit),
    db.prepare(`DELETE FROM decision_counts WHERE rowid IN (SELECT rowid FROM decision_counts WHERE minute < ? ORDER BY minute LIMIT ?)`)
      .bind(now - r.decisionCountDays * DAY_MS, limit),
    db.prepare(`DELETE FROM account_fingerprints WHERE rowid IN (SELECT rowid FROM account_fingerprints WHERE last_seen < ? ORDER BY last_seen LIMIT ?)`)
      .bind(now - r.edgeDays * DAY_MS, limit),
    db.prepare(`DELETE FROM fingerprint_keys WHERE fp_key IN (SELECT fp_key FROM fingerprint_keys WHERE updated_at < ? ORDER BY updated_at LIMIT ?)`)
      .bind(now - r.edgeDays * DAY_MS, limit),
  ]);
  const changed = (i: number) => results[i]?.meta.changes ?? 0;
  const stats = { audit: changed(0), decisionCounts: changed(1), edges: changed(2), keys: changed(3) };
  console.log(JSON.stringify({ msg: "retention run", ...stats, limit }));
  return stats;
}
