/**
 * Cluster verdicts cached from the collectors (and from the isolate, which repeats the ones it knows
 * for a request's keys). An older verdict never replaces a newer one; an unchanged restatement costs
 * no write unless it moves the verdict's freshness on by a tenth of its time-to-live.
 */
import { BoundedMap } from "../../lib/bounded-map.ts";
import { parseSignature, sameSignature, verdictFreshAt } from "../../lib/cluster/verdict.ts";
import type { CachedVerdict } from "../../lib/decision.ts";
import type { Policy } from "../../lib/policy.ts";
import { insertRows, num, nullableNum, str, type SqlValue } from "./rows.ts";

// Cluster verdicts cached: an account is in a few clusters; more is noise from an over-eager sender.
const VERDICT_CAP = 64;

function parseReasons(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : [];
  } catch {
    // A damaged reasons column loses the reasons, not the verdict.
    return [];
  }
}

export class VerdictStore {
  /** Order of last write (a restatement that moves freshness on is one): the least recently restated is evicted. */
  private readonly verdicts: BoundedMap<string, CachedVerdict>;
  /** Rows of the batch being applied; an eviction in the same batch takes its row out too. */
  private readonly pending = new Map<string, SqlValue[]>();

  constructor(private readonly sql: SqlStorage) {
    this.verdicts = new BoundedMap(VERDICT_CAP, (cluster) => {
      this.pending.delete(cluster);
      this.sql.exec(`DELETE FROM cluster_verdicts WHERE cluster = ?`, cluster);
    });
  }

  load(): void {
    this.verdicts.clear();
    for (const r of this.sql.exec(`SELECT * FROM cluster_verdicts ORDER BY COALESCE(refreshed_at, decided_at), decided_at`)) {
      const verdict = str(r.verdict);
      if (verdict !== "suspect" && verdict !== "confirmed") continue;
      this.verdicts.set(str(r.cluster), {
        cluster: str(r.cluster), verdict, capPerWindow: nullableNum(r.cap_per_window), reasons: parseReasons(str(r.reasons)),
        decidedAt: num(r.decided_at), refreshedAt: nullableNum(r.refreshed_at) ?? undefined, signature: parseSignature(r.signature),
      });
    }
  }

  all(): CachedVerdict[] {
    return [...this.verdicts.values()];
  }

  /** Verdicts within their time-to-live that say something (suspect or confirmed). */
  live(now: number, policy: Policy): CachedVerdict[] {
    const oldest = now - policy.risk.verdictTtlSeconds * 1000;
    return this.all().filter((v) => verdictFreshAt(v) > oldest && (v.verdict === "suspect" || v.verdict === "confirmed"));
  }

  /** Caches verdicts; "none" clears one. `policy` sets how far a restatement must move freshness to be written. */
  apply(verdicts: readonly CachedVerdict[], policy: Policy): void {
    for (const v of verdicts) {
      const existing = this.verdicts.get(v.cluster);
      if (existing && existing.decidedAt > v.decidedAt) continue;
      if (
        existing &&
        existing.decidedAt === v.decidedAt &&
        existing.verdict === v.verdict &&
        existing.capPerWindow === v.capPerWindow &&
        sameSignature(existing.signature, v.signature) &&
        verdictFreshAt(v) - verdictFreshAt(existing) < policy.risk.verdictTtlSeconds * 100
      ) {
        continue;
      }
      if (v.verdict === "none") {
        this.verdicts.delete(v.cluster);
        this.pending.delete(v.cluster);
        this.sql.exec(`DELETE FROM cluster_verdicts WHERE cluster = ?`, v.cluster);
        continue;
      }
      const cached: CachedVerdict = {
        cluster: v.cluster,
        verdict: v.verdict,
        capPerWindow: v.capPerWindow === null ? null : Math.max(0, v.capPerWindow),
        reasons: [...v.reasons],
        decidedAt: v.decidedAt,
        refreshedAt: Math.max(verdictFreshAt(v), existing && existing.decidedAt === v.decidedAt ? verdictFreshAt(existing) : 0),
        signature: v.signature,
      };
      this.pending.set(v.cluster, [
        cached.cluster, cached.verdict, cached.capPerWindow, JSON.stringify(cached.reasons), cached.decidedAt,
        cached.signature ? JSON.stringify(cached.signature) : null, cached.refreshedAt ?? null,
      ]);
      this.verdicts.set(v.cluster, cached);
    }
    insertRows(
      this.sql,
      `INSERT INTO cluster_verdicts (cluster, verdict, cap_per_window, reasons, decided_at, signature, refreshed_at)`,
      `ON CONFLICT (cluster) DO UPDATE SET verdict = excluded.verdict, cap_per_window = excluded.cap_per_window, signature = excluded.signature,
         reasons = excluded.reasons, decided_at = excluded.decided_at, refreshed_at = excluded.refreshed_at`,
      [...this.pending.values()],
    );
    this.pending.clear();
  }

  /** Drops verdicts past their time-to-live. */
  prune(now: number, policy: Policy): void {
    const oldest = now - policy.risk.verdictTtlSeconds * 1000;
    for (const v of this.all()) {
      if (verdictFreshAt(v) <= oldest) {
        this.verdicts.delete(v.cluster);
        this.sql.exec(`DELETE FROM cluster_verdicts WHERE cluster = ?`, v.cluster);
      }
    }
  }
}
