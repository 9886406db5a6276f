/**
 * Cluster verdicts cached from the collectors (and from the isolate, which repeats the ones it knows
 * for a request's keys). An older verdict never replaces a newer one; an unchanged restatement costs
 * no write unless it moves the verdict's freshness on by a tenth of its time-to-live.
 *
 * Beside them, in memory, the collector's verdict feed as far as this account has read it: verdicts
 * on any key the collector holds, most of them not this account's. The feed is not the account's
 * evidence; it is passed on to the isolate (each admit answer brings the changes after the version
 * the isolate has seen) and lands here only on a request that carries its key, so a campaign's
 * confirmation reaches every edge that serves any account that reported after it. An eviction loses
 * the feed; the next report reads it again from the start.
 */
import { BoundedMap } from "../../lib/bounded-map.ts";
import { isExactContentKey, keyKind, parseSignature, sameSignature, verdictApplies, verdictFreshAt } from "../../lib/cluster/verdict.ts";
import type { CachedVerdict, FeedVerdict, ReportAnswer, VerdictFeed } from "../../lib/decision.ts";
import type { Policy } from "../../lib/policy/index.ts";
import { insertRows, num, nullableNum, str, type SqlValue } from "./rows.ts";

// Cluster verdicts cached: an account is in a few clusters; more is noise from an over-eager sender.
const VERDICT_CAP = 64;
// Feed entries kept: two report answers' worth. A campaign confirms a few dozen keys at once; an edge
// further behind than this misses the oldest, which the members' own answers still carry.
const FEED_CAP = 128;

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
  /**
   * When each recently cleared verdict ("none") was decided: a copy of the confirmed verdict it ended,
   * still held by an edge that has not heard of the end, must not bring it back. In memory: after an
   * eviction the feed and the members' report answers carry the end again.
   */
  private readonly cleared = new BoundedMap<string, number>(VERDICT_CAP);
  /** The collector's feed as far as read, by key, and the collector it came from. */
  private readonly feed = new BoundedMap<string, FeedVerdict>(FEED_CAP);
  private feedVersion = 0;
  private feedSource: string | null = null;

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

  /**
   * The live verdicts that land on a request (verdictApplies), and, on an account that is itself a
   * member of a confirmed campaign by its content — it holds the confirmed verdict on one of the
   * campaign's exact content keys (its wrapper or system prompt), which it learned only by carrying
   * the key — the same verdict on the account's requests that no longer carry that key but still
   * look like the campaign: its template bands, another of its wrappers or prompts, or its
   * elicitation, as a component verdict lands on a member. A campaign that rotates its wording or
   * drops its system prompt after its wrapper was confirmed does not shed the verdict that way,
   * while an account's requests that look like none of it (a reseller's ordinary customers) stay
   * outside it. A component verdict and the keys the request carries are judged as before.
   */
  landing(request: { keys: readonly string[]; elicitation: number }, now: number, policy: Policy, landsAt: number): CachedVerdict[] {
    return this.live(now, policy).filter((v) => {
      if (verdictApplies(v, request, landsAt)) return true;
      if (v.verdict !== "confirmed" || v.cluster.startsWith("cc:") || !isExactContentKey(v.cluster)) return false;
      // Membership is what holding the key's verdict proved: judged as a component of one.
      return verdictApplies({ cluster: `cc:${v.cluster}`, signature: v.signature }, request, landsAt);
    });
  }

  /** Caches verdicts; "none" clears one. `policy` sets how far a restatement must move freshness to be written. */
  apply(verdicts: readonly CachedVerdict[], policy: Policy): void {
    for (const v of verdicts) {
      const existing = this.verdicts.get(v.cluster);
      if (existing && existing.decidedAt > v.decidedAt) continue;
      const clearedAt = this.cleared.get(v.cluster);
      if (clearedAt !== undefined && clearedAt >= v.decidedAt && v.verdict !== "none") continue;
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
        this.cleared.set(v.cluster, Math.max(v.decidedAt, clearedAt ?? 0));
        // The end of a verdict this account never held: remembered, nothing to delete.
        if (!existing) continue;
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

  // ---------------------------------------------------------------------------------------------
  // The collector's verdict feed

  /** The feed version to report to `collector` with: 0 when the feed read so far came from another one. */
  feedSinceFor(collector: string): number {
    return collector === this.feedSource ? this.feedVersion : 0;
  }

  /**
   * A report answer from `collector`: the verdicts on this account's keys, and the feed after the
   * version reported, whose entries this account holds a verdict for are applied too (so the end of a
   * verdict reaches a member with any report, not only one that still carries the key).
   */
  receive(answer: ReportAnswer, collector: string, policy: Policy): void {
    if (collector !== this.feedSource) {
      this.feed.clear();
      this.feedSource = collector;
    }
    for (const v of answer.feed.verdicts) this.feed.set(v.cluster, v);
    this.feedVersion = answer.feed.version;
    const held = answer.feed.verdicts.filter((v) => this.verdicts.has(v.cluster));
    this.apply([...answer.verdicts, ...held], policy);
  }

  /** The feed entries after `since` (the isolate's version), oldest first; undefined when there is nothing newer. */
  feedAfter(since: number | undefined): VerdictFeed | undefined {
    if (since === undefined || since >= this.feedVersion) return undefined;
    const verdicts = [...this.feed.values()].filter((v) => v.version > since).sort((a, b) => a.version - b.version);
    return { version: this.feedVersion, verdicts };
  }

  /**
   * Applies what is known for a request's keys: the verdicts the isolate sent, and the feed's entries
   * on the keys (the newer of the two per key), so an account is treated as a member from the first
   * request that carries a confirmed key, whoever learned of the confirmation.
   */
  applyKnown(fromIsolate: readonly CachedVerdict[] | undefined, keys: readonly string[], policy: Policy): void {
    const known = new Map<string, CachedVerdict>();
    // Only the request's own keys, as the isolate sends them: holding a content key's verdict is what
    // proves an account a member of its campaign (landing), so none arrives for a key it did not carry.
    const carried = new Set(keys);
    for (const v of fromIsolate ?? []) if (carried.has(v.cluster)) known.set(v.cluster, v);
    if (this.feed.size > 0) {
      for (const key of keys) {
        const fed = this.feed.get(key);
        const other = known.get(key);
        if (fed && (!other || fed.decidedAt >= other.decidedAt)) known.set(key, fed);
      }
    }
    if (known.size > 0) this.apply([...known.values()], policy);
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
