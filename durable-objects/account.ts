/**
 * AccountDO — one per account: sliding-window counters, concurrency leases,
 * risk with decay, operator overrides, cached cluster verdicts, fingerprints
 * and places seen, and an outbox of audit rows. The alarm hands the outbox
 * and, once per `clusters.reportIntervalSeconds`, the account's fingerprint
 * keys to its cluster collector in one call (the collector writes audit rows
 * to D1 for many accounts at once) and caches the verdicts that come back, so
 * no cluster object and no D1 write is ever on the request path.
 *
 * `admit` runs start to finish without an await: SQLite storage is
 * synchronous, so reading the counters, deciding and counting happen as one
 * step and concurrent requests can never both take the last slot. Hot state
 * lives in memory and every change is written through as a small SQL update;
 * nothing is rewritten wholesale. All the arithmetic is in lib/quota.
 */
import { DurableObject } from "cloudflare:workers";
import type {
  AccountState,
  Action,
  AdmitRequest,
  AdmitResult,
  CachedVerdict,
  Override,
  RateLimitSnapshot,
  SettleRequest,
} from "../lib/decision.ts";
import type { AuditHandoff } from "../lib/audit.ts";
import { ReportBuffer } from "../lib/cluster/report.ts";
import { ACCOUNT_SCHEMA, MIGRATIONS } from "./account-schema.ts";
import { parseSignature, sameSignature, verdictApplies, verdictFreshAt } from "../lib/cluster/verdict.ts";
import { ACTIONS } from "../lib/decision.ts";
import { clusterCollectorName, collectorIndex } from "../lib/names.ts";
import { DEFAULT_POLICY, isShadow, PolicyFromText, policyText, RISK_SIGNALS, type Policy, type RiskSignal } from "../lib/policy.ts";
import {
  admissionFindings,
  applySignals,
  bucketStartFor,
  bucketWidthMs,
  decide,
  decayedPoints,
  effectiveLimits,
  isSpent,
  msUntilBelow,
  msUntilEmpty,
  msUntilClusterShareFits,
  msUntilFits,
  riskScore,
  windowUsage,
  type Bucket,
  type QuotaCounter,
  type SignalState,
} from "../lib/quota/index.ts";
import { wanderSignals } from "../lib/region/index.ts";

// 256 keys: far more than one honest client shows, small enough that a rotating proxy pool cannot grow storage.
const FINGERPRINT_CAP = 256;
// Keys looked at per request: fingerprinting emits a handful; a bound keeps a malformed list from costing writes.
const FINGERPRINT_KEYS_PER_REQUEST = 32;
// A known key's row is rewritten at most once a minute: a busy account's dozen keys would otherwise cost a
// dozen row writes per request for a "last seen" nobody needs to the millisecond. An eviction loses at most a
// minute of counts for keys already stored.
const FINGERPRINT_WRITE_EVERY_MS = 60_000;
// Durable Object SQLite binds at most 100 parameters per statement.
const MAX_BOUND_PARAMETERS = 100;
// Places per kind per day: wander thresholds are single or double digits, so 256 distinct is already "everywhere".
const PLACE_CAP = 256;
// Cluster verdicts cached: an account is in a few clusters; more is noise from an over-eager sender.
const VERDICT_CAP = 64;
const RECENT_DECISIONS = 50;
// If the collector is unreachable for long, keep the newest 5,000 audit rows rather than growing without bound.
const OUTBOX_CAP = 5_000;
// Rows per hand-off to the collector; the next follows at once when more remain.
const FLUSH_BATCH = 100;
// Audit rows wait up to 5 s so a burst of decisions becomes one hand-off instead of many.
const AUDIT_FLUSH_DELAY_MS = 5_000;
// Counts alone are per minute: waiting 30 s folds a busy account's traffic into one hand-off instead of twelve.
const COUNTS_FLUSH_DELAY_MS = 30_000;
const FLUSH_RETRY_MS = 30_000;
// Pruning alone is never urgent: a minute past the last expiry, so one alarm prunes everything at once.
const PRUNE_SLACK_MS = 60_000;

type WindowRow = { start: number; end: number; expiresAt: number; requests: number; inputTokens: number; outputTokens: number };
type DayRow = { start: number; end: number; expiresAt: number; exchanges: number };
type Lease = {
  id: string;
  createdAt: number;
  expiresAt: number;
  bucketStart: number;
  bucketEnd: number;
  inputReserved: number;
  outputReserved: number;
};
type Fingerprint = { key: string; firstSeen: number; lastSeen: number; count: number; writtenAt: number };
type PlaceKind = "country" | "prefix";
type Place = { lastSeen: number; expiresAt: number };
type RecentDecision = AccountState["recentDecisions"][number] & { seq: number };


function num(value: unknown, fallback = 0): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}
function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}
function nullableStr(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
function nullableNum(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
/** Token counts from the edge or the origin: anything but a finite positive number counts as 0. */
function tokens(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : 0;
}

function isRiskSignal(value: string): value is RiskSignal {
  return (RISK_SIGNALS as readonly string[]).includes(value);
}
function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}
function isOverrideKind(value: string): value is Override["kind"] {
  return value === "block" || value === "allow" || value === "quota";
}
function overrideActive(o: Override, now: number): boolean {
  return o.expiresAt === null || o.expiresAt > now;
}

export class AccountDO extends DurableObject<Env> {
  private loaded = false;
  private initError: unknown = null;

  private accountId: string | null = null;
  /** When the last request reached the origin: paces a fractional share of a cluster cap. */
  private lastForwardedAt: number | null = null;
  /** The policy of the latest admit: the alarm and inspect have no request to take it from. */
  private policy: Policy = DEFAULT_POLICY;
  private readonly policies = new PolicyFromText();
  /** Until an admit brings the real policy, decay-based pruning would judge by the defaults: skip it. */
  private policySeen = false;
  private windowRows: WindowRow[] = [];
  private dayRows: DayRow[] = [];
  private leases = new Map<string, Lease>();
  private nextLeaseExpiry = Number.POSITIVE_INFINITY;
  private signals = new Map<RiskSignal, SignalState>();
  private overrides = new Map<Override["kind"], Override>();
  private verdicts = new Map<string, CachedVerdict>();
  /** Insertion order = recency (touched keys are re-inserted), so the first entry is the one to evict. */
  private fingerprints = new Map<string, Fingerprint>();
  private places: Record<PlaceKind, Map<string, Place>> = { country: new Map(), prefix: new Map() };
  private recent: RecentDecision[] = [];
  /** The newest entries of `recent` not yet in storage: written together by the next alarm. */
  private recentUnwritten = 0;
  private decisionSeq = 0;
  private outboxSize = 0;
  /**
   * Decisions per minute, action and enforcement, until the next hand-off to the collector. In memory,
   * like the cluster report they travel with: statistics, where a row write per request cost more than
   * the decision, and a crash loses at most one hand-off's worth (audit rows stay in the outbox).
   */
  private counts = new Map<string, { minute: number; action: string; enforced: number; count: number }>();
  private outboxDueAt: number | null = null;
  private lastLimits: RateLimitSnapshot | null = null;
  /**
   * Requests since the last cluster report. In memory only: a report is a statistical sample, and
   * losing a few seconds of it on eviction costs less than a row write per request would.
   */
  private reports = new ReportBuffer();
  private reportDueAt: number | null = null;
  /** Real-time ms of the scheduled alarm, as far as this instance knows. */
  private alarmAt: number | null = null;

  // Test hooks (refused unless ENVIRONMENT is "test"): a movable clock and injected failures.
  private clockOffsetMs = 0;
  private failAdmits = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.waitUntil(
      ctx.blockConcurrencyWhile(async () => {
        // Caught here so a failed init never wedges the input gate; the next call retries and rethrows.
        try {
          this.load();
          this.alarmAt = await ctx.storage.getAlarm();
        } catch (err) {
          this.initError = err;
          console.error(JSON.stringify({ msg: "account object init failed", error: String(err) }));
        }
      }),
    );
  }

  /** The object's clock: wall time, plus an offset only tests can move. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  // ---------------------------------------------------------------------------------------------
  // RPC

  admit(req: AdmitRequest): AdmitResult {
    this.ready();
    // Piggybacked settles first, so the slots and tokens they give back count for this decision.
    for (const settled of req.settles ?? []) this.settle(settled);
    if (this.failAdmits > 0) {
      this.failAdmits--;
      throw new Error("account object failure injected by a test");
    }
    const now = this.now();
    const policy = this.policies.read(req.policyJson);
    this.policy = policy;
    this.policySeen = true;
    this.rememberAccount(req.account.id);
    const windowMs = policy.limits.windowSeconds * 1000;
    const dayMs = policy.limits.dayWindowSeconds * 1000;
    this.reclaimExpiredLeases(now);

    // Evidence: what the edge saw, where the account has been today, what its clusters say.
    const signals: RiskSignal[] = [...req.signals];
    const evidence: string[] = [...req.reasons];
    this.trackFingerprints(req.fingerprint.keys, now);
    const seen = this.trackPlaces(req, now, dayMs);
    const exempt = policy.regions.exemptAccounts.includes(req.account.id) || policy.regions.exemptTiers.includes(req.account.tier);
    if (!exempt) {
      const wander = wanderSignals(seen, policy);
      signals.push(...wander.signals);
      evidence.push(...wander.reasons);
    }
    // Verdicts the isolate already knows for this request's keys: a fresh account of a known campaign
    // is treated as one from its first request, not only after its first cluster report.
    if (req.verdicts && req.verdicts.length > 0) this.applyClusterVerdicts(req.verdicts);
    const verdicts = this.liveVerdicts(now, policy).filter((v) =>
      verdictApplies(v, req.fingerprint, policy.fingerprint.elicitationThreshold),
    );
    let clusterCap: number | null = null;
    // Pacing a member's share starts at the verdict at the latest: an account the campaign had not used
    // yet gets no free first request.
    let capSince = 0;
    for (const v of verdicts) {
      if (v.verdict === "confirmed") {
        signals.push("cluster_verdict");
        evidence.push("cluster.confirmed");
        if (v.capPerWindow !== null && v.capPerWindow < (clusterCap ?? Number.POSITIVE_INFINITY)) {
          clusterCap = v.capPerWindow;
          capSince = v.decidedAt;
        }
      } else {
        signals.push("cluster_member");
        evidence.push("cluster.suspect");
      }
    }
    const update = applySignals(this.signals, signals, now, policy.risk);
    this.writeSignals(update.changed);
    const risk = update.score;

    // Limits and what each rule makes of this request.
    const quotaOverride = this.activeOverride("quota", now);
    const limits = effectiveLimits(policy, req.account, risk, quotaOverride ? (quotaOverride.multiplier ?? 1) : null);
    const { requests, inputTokens, outputTokens } = this.windowSeries();
    const exchanges = this.dayRows.map((r) => ({ start: r.start, end: r.end, value: r.exchanges }));
    const estimate = { inputTokens: tokens(req.estimate.inputTokens), outputTokens: tokens(req.estimate.outputTokens) };
    const quota: Array<{ counter: QuotaCounter; msUntilFits: number; windowMs: number }> = [
      { counter: "requests", msUntilFits: msUntilFits(requests, now, windowMs, limits.requests, 1), windowMs },
      { counter: "input_tokens", msUntilFits: msUntilFits(inputTokens, now, windowMs, limits.inputTokens, estimate.inputTokens), windowMs },
      { counter: "output_tokens", msUntilFits: msUntilFits(outputTokens, now, windowMs, limits.outputTokens, estimate.outputTokens), windowMs },
      { counter: "exchanges_per_day", msUntilFits: msUntilFits(exchanges, now, dayMs, limits.exchangesPerDay, 1), windowMs: dayMs },
    ];
    const overrideBlock = this.activeOverride("block", now);
    const decision = decide(
      admissionFindings({
        deny: req.deny,
        overrideBlock: overrideBlock ? { reason: overrideBlock.reason } : null,
        overrideAllow: this.activeOverride("allow", now) !== null,
        inFlight: this.leases.size,
        concurrencyLimit: limits.concurrency,
        quota,
        clusterCap:
          clusterCap === null
            ? null
            : {
                msUntilFits: msUntilClusterShareFits(clusterCap, requests, Math.max(this.lastForwardedAt ?? 0, capSince), now, windowMs),
                windowMs,
                degrade: policy.clusters.degradeWithinCap,
              },
        risk,
        riskMsUntilBelowThrottle: msUntilBelow(risk, policy.actions.throttle, policy.risk.halfLifeSeconds * 1000),
        thresholds: policy.actions,
        windowSeconds: policy.limits.windowSeconds,
      }),
      (rule) => isShadow(policy, rule),
    );

    // Only what reaches the origin counts: an enforced throttle or block costs the account nothing.
    let leaseId: string | null = null;
    if (decision.forwarded) {
      const bucket = this.countWindow(now, windowMs, bucketWidthMs(windowMs, policy.limits.windowBuckets), 1, estimate.inputTokens, estimate.outputTokens);
      this.countDay(now, dayMs, bucketWidthMs(dayMs, policy.limits.windowBuckets));
      leaseId = this.openLease(now, policy.limits.leaseSeconds * 1000, bucket, estimate);
      this.rememberForwarded(now, clusterCap !== null);
    }

    // Every attempt is reported, not only what was forwarded: a capped hydra must not look like it went quiet.
    this.bufferReport(now, req, policy, decision.forwarded ? estimate : { inputTokens: 0, outputTokens: 0 });

    const clusters = verdicts.map((v) => v.cluster);
    const reasons = [...new Set([...decision.reasons, ...evidence])];
    const snapshot = this.snapshot(limits, now, windowMs);
    this.lastLimits = snapshot;
    const result: AdmitResult = {
      action: decision.action,
      enforced: decision.enforced,
      reasons,
      risk: Math.round(risk * 10) / 10,
      leaseId,
      retryAfterSeconds: decision.retryAfterSeconds,
      limits: snapshot,
      clusters,
      // Key verdicts (not components: requests never carry a component id) for the isolate's cache.
      verdicts: this.liveVerdicts(now, policy).filter((v) => v.verdict === "confirmed" && !v.cluster.startsWith("cc:")),
    };

    this.remember(now, req.requestId, result);
    this.countDecision(now, result.action, result.enforced);
    if (decision.action !== "allow" || decision.shadowAction !== null) {
      this.enqueueAudit(now, {
        requestId: req.requestId,
        action: result.action,
        enforced: result.enforced,
        reasons,
        risk: result.risk,
        country: req.fingerprint.country,
        cluster: clusters.length > 0 ? clusters.join(",") : null,
        detail: { rule: decision.rule, shadowAction: decision.shadowAction, retryAfterSeconds: decision.retryAfterSeconds, tier: req.account.tier },
      });
    }
    this.scheduleAlarm(now);
    return result;
  }

  /** Several settles in one call (the gateway coalesces them per account). */
  settleMany(requests: SettleRequest[]): void {
    for (const req of requests) this.settle(req);
  }

  /** Reconciles the reservation with what the origin reported and frees the slot; a repeat is a no-op. */
  settle(req: SettleRequest): void {
    this.ready();
    const lease = this.leases.get(req.leaseId);
    if (!lease) return;
    this.leases.delete(lease.id);
    this.sql(`DELETE FROM leases WHERE id = ?`, lease.id);
    if (!req.usage) return;
    const now = this.now();
    const deltaIn = tokens(req.usage.inputTokens) - lease.inputReserved;
    const deltaOut = tokens(req.usage.outputTokens) - lease.outputReserved;
    if (deltaIn === 0 && deltaOut === 0) return;
    const row = this.windowRows.find((r) => r.start === lease.bucketStart && r.end === lease.bucketEnd);
    if (row) {
      // The reservation is still counted: correct it where it was made.
      row.inputTokens = Math.max(0, row.inputTokens + deltaIn);
      row.outputTokens = Math.max(0, row.outputTokens + deltaOut);
      this.writeWindowRow(row);
      return;
    }
    // The reservation has already left the window; only an overrun is still owed, and it is owed now.
    const windowMs = this.policy.limits.windowSeconds * 1000;
    const extraIn = Math.max(0, deltaIn);
    const extraOut = Math.max(0, deltaOut);
    if (extraIn > 0 || extraOut > 0) {
      this.countWindow(now, windowMs, bucketWidthMs(windowMs, this.policy.limits.windowBuckets), 0, extraIn, extraOut);
      this.scheduleAlarm(now);
    }
  }

  inspect(): AccountState {
    this.ready();
    const now = this.now();
    const policy = this.policy;
    const windowMs = policy.limits.windowSeconds * 1000;
    const dayMs = policy.limits.dayWindowSeconds * 1000;
    const halfLifeMs = policy.risk.halfLifeSeconds * 1000;
    const { requests, inputTokens, outputTokens } = this.windowSeries();
    const exchanges = this.dayRows.map((r) => ({ start: r.start, end: r.end, value: r.exchanges }));
    let inFlight = 0;
    for (const lease of this.leases.values()) if (lease.expiresAt > now) inFlight++;
    return {
      accountId: this.accountId,
      now,
      risk: {
        score: Math.round(riskScore(this.signals.values(), now, halfLifeMs) * 10) / 10,
        reasons: [...this.signals.values()]
          .map((s) => ({ signal: s.signal, points: Math.round(decayedPoints(s, now, halfLifeMs) * 10) / 10, lastAt: s.lastAt, count: s.count }))
          .sort((a, b) => b.points - a.points),
      },
      usage: {
        windowSeconds: policy.limits.windowSeconds,
        requests: windowUsage(requests, now, windowMs),
        inputTokens: windowUsage(inputTokens, now, windowMs),
        outputTokens: windowUsage(outputTokens, now, windowMs),
        exchangesToday: windowUsage(exchanges, now, dayMs),
        inFlight,
      },
      limits: this.lastLimits,
      overrides: [...this.overrides.values()].filter((o) => overrideActive(o, now)),
      clusters: [...this.verdicts.values()],
      fingerprints: [...this.fingerprints.values()].reverse().map(({ writtenAt: _writtenAt, ...fp }) => fp),
      recentDecisions: [...this.recent]
        .sort((a, b) => b.seq - a.seq)
        .map(({ seq: _seq, ...d }) => d),
    };
  }

  /** Sets (replaces) the override of that kind; block and allow exclude each other. */
  setOverride(o: Override): void {
    this.ready();
    if (!isOverrideKind(o.kind)) throw new Error(`unknown override kind: ${String(o.kind)}`);
    if (o.kind === "quota" && (o.multiplier === null || !Number.isFinite(o.multiplier) || o.multiplier < 0)) {
      throw new Error("a quota override needs a multiplier >= 0");
    }
    const opposite = o.kind === "block" ? "allow" : o.kind === "allow" ? "block" : null;
    if (opposite) this.clearOverride(opposite);
    const override: Override = {
      kind: o.kind,
      multiplier: o.kind === "quota" ? o.multiplier : null,
      reason: o.reason,
      expiresAt: o.expiresAt,
      createdAt: o.createdAt,
    };
    this.overrides.set(o.kind, override);
    this.sql(
      `INSERT INTO overrides (kind, multiplier, reason, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kind) DO UPDATE SET multiplier = excluded.multiplier, reason = excluded.reason,
         expires_at = excluded.expires_at, created_at = excluded.created_at`,
      override.kind, override.multiplier, override.reason, override.expiresAt, override.createdAt,
    );
  }

  clearOverride(kind: Override["kind"]): void {
    this.ready();
    this.overrides.delete(kind);
    this.sql(`DELETE FROM overrides WHERE kind = ?`, kind);
  }

  /** Caches verdicts sent by the cluster objects; "none" clears one, an older verdict never replaces a newer. */
  applyClusterVerdicts(verdicts: CachedVerdict[]): void {
    this.ready();
    const writes = new Map<string, Array<string | number | null>>();
    for (const v of verdicts) {
      const existing = this.verdicts.get(v.cluster);
      if (existing && existing.decidedAt > v.decidedAt) continue;
      // The isolate repeats known verdicts on every request, and collectors restate standing ones with every
      // report: an unchanged verdict costs no write, unless it moves its freshness on by a tenth of its TTL.
      if (
        existing &&
        existing.decidedAt === v.decidedAt &&
        existing.verdict === v.verdict &&
        existing.capPerWindow === v.capPerWindow &&
        sameSignature(existing.signature, v.signature) &&
        verdictFreshAt(v) - verdictFreshAt(existing) < this.policy.risk.verdictTtlSeconds * 100
      ) {
        continue;
      }
      if (v.verdict === "none") {
        this.verdicts.delete(v.cluster);
        writes.delete(v.cluster);
        this.sql(`DELETE FROM cluster_verdicts WHERE cluster = ?`, v.cluster);
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
      this.verdicts.delete(v.cluster);
      this.verdicts.set(v.cluster, cached);
      writes.set(v.cluster, [
        cached.cluster, cached.verdict, cached.capPerWindow, JSON.stringify(cached.reasons), cached.decidedAt,
        cached.signature ? JSON.stringify(cached.signature) : null, cached.refreshedAt ?? null,
      ]);
    }
    this.insertRows(
      `INSERT INTO cluster_verdicts (cluster, verdict, cap_per_window, reasons, decided_at, signature, refreshed_at)`,
      `ON CONFLICT (cluster) DO UPDATE SET verdict = excluded.verdict, cap_per_window = excluded.cap_per_window, signature = excluded.signature,
         reasons = excluded.reasons, decided_at = excluded.decided_at, refreshed_at = excluded.refreshed_at`,
      [...writes.values()],
    );
    while (this.verdicts.size > VERDICT_CAP) {
      let oldest: CachedVerdict | null = null;
      for (const v of this.verdicts.values()) if (!oldest || verdictFreshAt(v) < verdictFreshAt(oldest)) oldest = v;
      if (!oldest) break;
      this.verdicts.delete(oldest.cluster);
      this.sql(`DELETE FROM cluster_verdicts WHERE cluster = ?`, oldest.cluster);
    }
  }

  /** Reclaims expired leases, prunes what has left its window, hands audit and cluster report to the collector. */
  override async alarm(): Promise<void> {
    this.ready();
    this.alarmAt = null;
    const now = this.now();
    this.reclaimExpiredLeases(now);
    this.prune(now);
    this.writeRecent();
    const flush = await this.sendToCollector(now);
    this.scheduleAlarm(this.now(), flush);
  }

  // ---------------------------------------------------------------------------------------------
  // Test hooks

  /** Moves this object's clock forward (tests only). Returns the new now(). */
  advanceClockForTest(ms: number): number {
    this.assertTestEnvironment();
    if (!Number.isFinite(ms) || ms < 0) throw new Error("ms must be a finite, non-negative number");
    this.clockOffsetMs += ms;
    return this.now();
  }

  /** Makes the next `count` admits throw, as an unreachable or broken object would (tests only). */
  failNextAdmitsForTest(count: number): void {
    this.assertTestEnvironment();
    this.failAdmits = Math.max(0, Math.floor(count));
  }

  private assertTestEnvironment(): void {
    // ENVIRONMENT's generated type lists only the deployed values; "test" comes from vitest.config.ts.
    if (String(this.env.ENVIRONMENT) !== "test") throw new Error("test hooks are disabled outside tests");
  }

  // ---------------------------------------------------------------------------------------------
  // Loading

  private ready(): void {
    if (this.loaded) return;
    try {
      this.load();
      this.initError = null;
    } catch (err) {
      this.initError = err;
    }
    if (this.initError !== null) throw this.initError;
  }

  private sql(query: string, ...bindings: Array<string | number | null>): SqlStorageCursor<Record<string, SqlStorageValue>> {
    return this.ctx.storage.sql.exec(query, ...bindings);
  }

  /**
   * `INSERT … VALUES (…), (…) …` with as many rows per statement as the 100 bound parameters allow:
   * a new member of a campaign brings a dozen keys and several verdicts, and a statement costs far more
   * than a row.
   */
  private insertRows(head: string, tail: string, rows: Array<Array<string | number | null>>): void {
    const width = rows[0]?.length ?? 0;
    if (width === 0) return;
    const perStatement = Math.floor(MAX_BOUND_PARAMETERS / width);
    const row = `(${new Array<string>(width).fill("?").join(", ")})`;
    for (let i = 0; i < rows.length; i += perStatement) {
      const chunk = rows.slice(i, i + perStatement);
      this.sql(`${head} VALUES ${new Array<string>(chunk.length).fill(row).join(", ")} ${tail}`, ...chunk.flat());
    }
  }

  /** Brings the schema up to date; true when the object had no schema at all (a brand-new account). */
  private migrate(): boolean {
    this.sql(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`);
    const current = num(this.sql(`SELECT MAX(version) AS v FROM schema_version`).toArray()[0]?.v, 0);
    if (current === 0) {
      // A new account object (most of a hydra's are): the current schema in one call, no ALTERs.
      this.ctx.storage.sql.exec(`${ACCOUNT_SCHEMA.join(";\n")};\nINSERT INTO schema_version (version) VALUES (${MIGRATIONS.length})`);
      return true;
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      for (const statement of MIGRATIONS[version - 1] ?? []) this.sql(statement);
      this.sql(`INSERT INTO schema_version (version) VALUES (?)`, version);
    }
    return false;
  }

  private load(): void {
    if (this.migrate()) {
      // Nothing stored yet: the fields' initial values are the state.
      this.loaded = true;
      return;
    }
    const meta = new Map(this.sql(`SELECT key, value FROM meta`).toArray().map((r) => [str(r.key), str(r.value)]));
    this.accountId = meta.get("account_id") ?? null;
    const lastForwarded = Number(meta.get("last_forwarded_at"));
    this.lastForwardedAt = Number.isFinite(lastForwarded) && lastForwarded > 0 ? lastForwarded : null;
    this.windowRows = this.sql(`SELECT * FROM window_buckets`).toArray().map((r) => ({
      start: num(r.start_ms), end: num(r.end_ms), expiresAt: num(r.expires_at),
      requests: num(r.requests), inputTokens: num(r.input_tokens), outputTokens: num(r.output_tokens),
    }));
    this.dayRows = this.sql(`SELECT * FROM day_buckets`).toArray().map((r) => ({
      start: num(r.start_ms), end: num(r.end_ms), expiresAt: num(r.expires_at), exchanges: num(r.exchanges),
    }));
    this.leases = new Map(
      this.sql(`SELECT * FROM leases`).toArray().map((r) => {
        const lease: Lease = {
          id: str(r.id), createdAt: num(r.created_at), expiresAt: num(r.expires_at),
          bucketStart: num(r.bucket_start), bucketEnd: num(r.bucket_end),
          inputReserved: num(r.input_reserved), outputReserved: num(r.output_reserved),
        };
        return [lease.id, lease];
      }),
    );
    this.nextLeaseExpiry = Math.min(Number.POSITIVE_INFINITY, ...[...this.leases.values()].map((l) => l.expiresAt));
    this.signals = new Map();
    for (const r of this.sql(`SELECT * FROM risk_signals`).toArray()) {
      const signal = str(r.signal);
      if (!isRiskSignal(signal)) continue;
      this.signals.set(signal, { signal, points: num(r.points), updatedAt: num(r.updated_at), lastAt: num(r.last_at), count: num(r.count) });
    }
    this.overrides = new Map();
    for (const r of this.sql(`SELECT * FROM overrides`).toArray()) {
      const kind = str(r.kind);
      if (!isOverrideKind(kind)) continue;
      this.overrides.set(kind, {
        kind, multiplier: nullableNum(r.multiplier), reason: str(r.reason), expiresAt: nullableNum(r.expires_at), createdAt: num(r.created_at),
      });
    }
    this.verdicts = new Map();
    for (const r of this.sql(`SELECT * FROM cluster_verdicts ORDER BY decided_at`).toArray()) {
      const verdict = str(r.verdict);
      if (verdict !== "suspect" && verdict !== "confirmed") continue;
      let reasons: string[] = [];
      try {
        const parsed: unknown = JSON.parse(str(r.reasons));
        if (Array.isArray(parsed)) reasons = parsed.filter((x): x is string => typeof x === "string");
      } catch {
        // A damaged reasons column loses the reasons, not the verdict.
      }
      this.verdicts.set(str(r.cluster), {
        cluster: str(r.cluster), verdict, capPerWindow: nullableNum(r.cap_per_window), reasons, decidedAt: num(r.decided_at),
        refreshedAt: nullableNum(r.refreshed_at) ?? undefined,
        signature: parseSignature(r.signature),
      });
    }
    this.fingerprints = new Map(
      this.sql(`SELECT * FROM fingerprints ORDER BY last_seen`).toArray().map((r) => [
        str(r.key),
        { key: str(r.key), firstSeen: num(r.first_seen), lastSeen: num(r.last_seen), count: num(r.count), writtenAt: num(r.last_seen) },
      ]),
    );
    this.places = { country: new Map(), prefix: new Map() };
    for (const r of this.sql(`SELECT * FROM places ORDER BY last_seen`).toArray()) {
      const kind = str(r.kind);
      if (kind !== "country" && kind !== "prefix") continue;
      this.places[kind].set(str(r.value), { lastSeen: num(r.last_seen), expiresAt: num(r.expires_at) });
    }
    this.recent = [];
    for (const r of this.sql(`SELECT * FROM recent_decisions ORDER BY seq`).toArray()) {
      const action = str(r.action);
      if (!isAction(action)) continue;
      this.recent.push({
        seq: num(r.seq), at: num(r.at), requestId: str(r.request_id), action, enforced: num(r.enforced) === 1,
        reasons: str(r.reasons) === "" ? [] : str(r.reasons).split(","), risk: num(r.risk),
      });
    }
    this.decisionSeq = this.recent.at(-1)?.seq ?? 0;
    const outbox = this.sql(`SELECT COUNT(*) AS n, MIN(at) AS oldest FROM audit_outbox`).toArray()[0];
    this.outboxSize = num(outbox?.n);
    // Counts stored by earlier versions (which wrote a row per decision) join the ones in memory.
    for (const c of this.sql(`SELECT minute, action, enforced, count FROM decision_counts`).toArray()) {
      this.addCount(num(c.minute), str(c.action), num(c.enforced), num(c.count));
    }
    if (this.counts.size > 0) this.sql(`DELETE FROM decision_counts`);
    this.outboxDueAt = this.outboxSize > 0 ? num(outbox?.oldest) + AUDIT_FLUSH_DELAY_MS : this.counts.size > 0 ? Date.now() : null;
    this.loaded = true;
  }

  /**
   * The last forward paces a capped member's share, and only a forward after the cap's verdict
   * counts (before it, the verdict's time does): it is stored only while a cap applies.
   */
  private rememberForwarded(now: number, capped: boolean): void {
    this.lastForwardedAt = now;
    if (!capped) return;
    this.sql(`INSERT INTO meta (key, value) VALUES ('last_forwarded_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, String(now));
  }

  private rememberAccount(id: string): void {
    if (this.accountId === id) return;
    this.accountId = id;
    this.sql(`INSERT INTO meta (key, value) VALUES ('account_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, id);
  }

  // ---------------------------------------------------------------------------------------------
  // Counters

  private windowSeries(): { requests: Bucket[]; inputTokens: Bucket[]; outputTokens: Bucket[] } {
    return {
      requests: this.windowRows.map((r) => ({ start: r.start, end: r.end, value: r.requests })),
      inputTokens: this.windowRows.map((r) => ({ start: r.start, end: r.end, value: r.inputTokens })),
      outputTokens: this.windowRows.map((r) => ({ start: r.start, end: r.end, value: r.outputTokens })),
    };
  }

  private writeWindowRow(row: WindowRow): void {
    this.sql(
      `INSERT INTO window_buckets (start_ms, end_ms, expires_at, requests, input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (start_ms, end_ms) DO UPDATE SET expires_at = excluded.expires_at, requests = excluded.requests,
         input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens`,
      row.start, row.end, row.expiresAt, row.requests, row.inputTokens, row.outputTokens,
    );
  }

  /** Adds to the bucket `now` falls in (pruning on rollover); returns that bucket. */
  private countWindow(now: number, windowMs: number, widthMs: number, requests: number, inputTokens: number, outputTokens: number): WindowRow {
    const start = bucketStartFor(now, widthMs);
    const end = start + widthMs;
    let row = this.windowRows.find((r) => r.start === start && r.end === end);
    if (!row) {
      this.pruneWindowRows(now);
      row = { start, end, expiresAt: end + windowMs, requests: 0, inputTokens: 0, outputTokens: 0 };
      this.windowRows.push(row);
    }
    row.requests += requests;
    row.inputTokens += inputTokens;
    row.outputTokens += outputTokens;
    row.expiresAt = Math.max(row.expiresAt, end + windowMs);
    this.writeWindowRow(row);
    return row;
  }

  private countDay(now: number, dayMs: number, widthMs: number): void {
    const start = bucketStartFor(now, widthMs);
    const end = start + widthMs;
    let row = this.dayRows.find((r) => r.start === start && r.end === end);
    if (!row) {
      this.pruneDayRows(now);
      row = { start, end, expiresAt: end + dayMs, exchanges: 0 };
      this.dayRows.push(row);
    }
    row.exchanges += 1;
    row.expiresAt = Math.max(row.expiresAt, end + dayMs);
    this.sql(
      `INSERT INTO day_buckets (start_ms, end_ms, expires_at, exchanges) VALUES (?, ?, ?, ?)
       ON CONFLICT (start_ms, end_ms) DO UPDATE SET expires_at = excluded.expires_at, exchanges = excluded.exchanges`,
      row.start, row.end, row.expiresAt, row.exchanges,
    );
  }

  private pruneWindowRows(now: number): void {
    if (!this.windowRows.some((r) => r.expiresAt <= now)) return;
    this.windowRows = this.windowRows.filter((r) => r.expiresAt > now);
    this.sql(`DELETE FROM window_buckets WHERE expires_at <= ?`, now);
  }

  private pruneDayRows(now: number): void {
    if (!this.dayRows.some((r) => r.expiresAt <= now)) return;
    this.dayRows = this.dayRows.filter((r) => r.expiresAt > now);
    this.sql(`DELETE FROM day_buckets WHERE expires_at <= ?`, now);
  }

  private snapshot(limits: { requests: number; inputTokens: number; outputTokens: number }, now: number, windowMs: number): RateLimitSnapshot {
    const { requests, inputTokens, outputTokens } = this.windowSeries();
    const remaining = (series: Bucket[], limit: number) => Math.max(0, limit - windowUsage(series, now, windowMs));
    const resetMs = Math.max(msUntilEmpty(requests, now, windowMs), msUntilEmpty(inputTokens, now, windowMs), msUntilEmpty(outputTokens, now, windowMs));
    return {
      windowSeconds: windowMs / 1000,
      resetSeconds: Math.ceil(resetMs / 1000),
      requests: { limit: limits.requests, remaining: remaining(requests, limits.requests) },
      inputTokens: { limit: limits.inputTokens, remaining: remaining(inputTokens, limits.inputTokens) },
      outputTokens: { limit: limits.outputTokens, remaining: remaining(outputTokens, limits.outputTokens) },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Leases

  private openLease(now: number, leaseMs: number, bucket: WindowRow, estimate: { inputTokens: number; outputTokens: number }): string {
    const lease: Lease = {
      id: crypto.randomUUID(),
      createdAt: now,
      expiresAt: now + leaseMs,
      bucketStart: bucket.start,
      bucketEnd: bucket.end,
      inputReserved: estimate.inputTokens,
      outputReserved: estimate.outputTokens,
    };
    this.leases.set(lease.id, lease);
    this.nextLeaseExpiry = Math.min(this.nextLeaseExpiry, lease.expiresAt);
    this.sql(
      `INSERT INTO leases (id, created_at, expires_at, bucket_start, bucket_end, input_reserved, output_reserved) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      lease.id, lease.createdAt, lease.expiresAt, lease.bucketStart, lease.bucketEnd, lease.inputReserved, lease.outputReserved,
    );
    return lease.id;
  }

  /** A lease whose settle never came (lost settle, crashed isolate) frees its slot; its reservation stays counted. */
  private reclaimExpiredLeases(now: number): void {
    if (now < this.nextLeaseExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const lease of this.leases.values()) {
      if (lease.expiresAt <= now) this.leases.delete(lease.id);
      else next = Math.min(next, lease.expiresAt);
    }
    this.nextLeaseExpiry = next;
    this.sql(`DELETE FROM leases WHERE expires_at <= ?`, now);
  }

  // ---------------------------------------------------------------------------------------------
  // Evidence

  private writeSignals(changed: readonly SignalState[]): void {
    for (const s of changed) this.signals.set(s.signal, s);
    this.insertRows(
      `INSERT INTO risk_signals (signal, points, updated_at, last_at, count)`,
      `ON CONFLICT (signal) DO UPDATE SET points = excluded.points, updated_at = excluded.updated_at,
         last_at = excluded.last_at, count = excluded.count`,
      changed.map((s) => [s.signal, s.points, s.updatedAt, s.lastAt, s.count]),
    );
  }

  private activeOverride(kind: Override["kind"], now: number): Override | null {
    const o = this.overrides.get(kind);
    return o && overrideActive(o, now) ? o : null;
  }

  private liveVerdicts(now: number, policy: Policy): CachedVerdict[] {
    const oldest = now - policy.risk.verdictTtlSeconds * 1000;
    return [...this.verdicts.values()].filter((v) => verdictFreshAt(v) > oldest && (v.verdict === "suspect" || v.verdict === "confirmed"));
  }

  private trackFingerprints(keys: readonly string[], now: number): void {
    const writes: Array<Array<string | number>> = [];
    for (const key of new Set(keys.slice(0, FINGERPRINT_KEYS_PER_REQUEST))) {
      const prev = this.fingerprints.get(key);
      const fp: Fingerprint = prev
        ? { ...prev, lastSeen: now, count: prev.count + 1 }
        : { key, firstSeen: now, lastSeen: now, count: 1, writtenAt: 0 };
      this.fingerprints.delete(key);
      this.fingerprints.set(key, fp);
      if (now - fp.writtenAt < FINGERPRINT_WRITE_EVERY_MS) continue;
      fp.writtenAt = now;
      writes.push([fp.key, fp.firstSeen, fp.lastSeen, fp.count]);
    }
    this.insertRows(
      `INSERT INTO fingerprints (key, first_seen, last_seen, count)`,
      `ON CONFLICT (key) DO UPDATE SET last_seen = excluded.last_seen, count = excluded.count`,
      writes,
    );
    while (this.fingerprints.size > FINGERPRINT_CAP) {
      const oldest = this.fingerprints.keys().next();
      if (oldest.done) break;
      this.fingerprints.delete(oldest.value);
      this.sql(`DELETE FROM fingerprints WHERE key = ?`, oldest.value);
    }
  }

  /** Records today's country and network prefix; returns how many distinct ones the day window holds. */
  private trackPlaces(req: AdmitRequest, now: number, dayMs: number): { countries: number; prefixes: number } {
    const country = req.fingerprint.country;
    // XX (unknown) is the absence of a place, not a place; T1 (Tor) counts, as it is a way of hiding one.
    if (country && country !== "XX") this.touchPlace("country", country, now, dayMs);
    if (req.fingerprint.prefix) this.touchPlace("prefix", req.fingerprint.prefix, now, dayMs);
    const distinct = (kind: PlaceKind) => {
      let n = 0;
      for (const p of this.places[kind].values()) if (p.lastSeen > now - dayMs) n++;
      return n;
    };
    return { countries: distinct("country"), prefixes: distinct("prefix") };
  }

  private touchPlace(kind: PlaceKind, value: string, now: number, dayMs: number): void {
    const map = this.places[kind];
    const prev = map.get(value);
    map.delete(value);
    // "Seen within the day window" needs no finer time than one bucket: refresh the row at most once a bucket.
    const refreshEvery = bucketWidthMs(dayMs, this.policy.limits.windowBuckets);
    if (prev && now - prev.lastSeen < refreshEvery && prev.expiresAt > now) {
      map.set(value, prev);
    } else {
      const place = { lastSeen: now, expiresAt: now + dayMs };
      map.set(value, place);
      this.sql(
        `INSERT INTO places (kind, value, last_seen, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, value) DO UPDATE SET last_seen = excluded.last_seen, expires_at = excluded.expires_at`,
        kind, value, place.lastSeen, place.expiresAt,
      );
    }
    while (map.size > PLACE_CAP) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
      this.sql(`DELETE FROM places WHERE kind = ? AND value = ?`, kind, oldest.value);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Decisions, audit and the alarm

  private remember(now: number, requestId: string, result: AdmitResult): void {
    const seq = ++this.decisionSeq;
    const entry: RecentDecision = { seq, at: now, requestId, action: result.action, enforced: result.enforced, reasons: result.reasons, risk: result.risk };
    this.recent.push(entry);
    if (this.recent.length > RECENT_DECISIONS) this.recent.shift();
    this.recentUnwritten = Math.min(this.recent.length, this.recentUnwritten + 1);
  }

  /** The recent decisions the alarm has not written yet, in one statement per dozen. */
  private writeRecent(): void {
    if (this.recentUnwritten === 0) return;
    this.insertRows(
      `INSERT INTO recent_decisions (slot, seq, at, request_id, action, enforced, reasons, risk)`,
      `ON CONFLICT (slot) DO UPDATE SET seq = excluded.seq, at = excluded.at, request_id = excluded.request_id,
         action = excluded.action, enforced = excluded.enforced, reasons = excluded.reasons, risk = excluded.risk`,
      this.recent
        .slice(-this.recentUnwritten)
        .map((d) => [d.seq % RECENT_DECISIONS, d.seq, d.at, d.requestId, d.action, d.enforced ? 1 : 0, d.reasons.join(","), d.risk]),
    );
    this.recentUnwritten = 0;
  }

  private enqueueAudit(
    now: number,
    row: { requestId: string; action: Action; enforced: boolean; reasons: string[]; risk: number; country: string; cluster: string | null; detail: Record<string, unknown> },
  ): void {
    this.sql(
      `INSERT INTO audit_outbox (at, kind, request_id, action, enforced, reasons, risk, country, cluster, detail)
       VALUES (?, 'decision', ?, ?, ?, ?, ?, ?, ?, ?)`,
      now, row.requestId, row.action, row.enforced ? 1 : 0, row.reasons.join(","), row.risk, row.country, row.cluster, JSON.stringify(row.detail),
    );
    this.outboxSize++;
    this.outboxDueAt = Math.min(this.outboxDueAt ?? Number.POSITIVE_INFINITY, now + AUDIT_FLUSH_DELAY_MS);
    if (this.outboxSize > OUTBOX_CAP) {
      const drop = this.outboxSize - OUTBOX_CAP;
      this.sql(`DELETE FROM audit_outbox WHERE id IN (SELECT id FROM audit_outbox ORDER BY id LIMIT ?)`, drop);
      this.outboxSize = OUTBOX_CAP;
      console.error(JSON.stringify({ msg: "audit outbox full; oldest rows dropped", account: this.accountId, dropped: drop }));
    }
  }

  private countDecision(now: number, action: Action, enforced: boolean): void {
    this.addCount(Math.floor(now / 60_000) * 60_000, action, enforced ? 1 : 0, 1);
    this.outboxDueAt ??= now + COUNTS_FLUSH_DELAY_MS;
  }

  /** Adds to (or, with a negative n, takes from) one minute's count; a count at zero is gone. */
  private addCount(minute: number, action: string, enforced: number, n: number): void {
    const key = `${minute}|${action}|${enforced}`;
    const count = (this.counts.get(key)?.count ?? 0) + n;
    if (count > 0) this.counts.set(key, { minute, action, enforced, count });
    else this.counts.delete(key);
  }

  /**
   * Hands the audit outbox and decision counts (and, when due, the cluster
   * report) to this account's collector in ONE call; rows are deleted only once
   * the collector has stored them, so a failed hand-off loses nothing. The
   * collector writes them to D1 with every other account's rows.
   */
  private async sendToCollector(now: number): Promise<"idle" | "flushed" | "more" | "failed"> {
    const policy = this.policy;
    const accountId = this.accountId;
    const reportDue = accountId !== null && this.reportDueAt !== null && now >= this.reportDueAt;
    const batch = reportDue ? this.reports.drain(accountId) : null;
    if (reportDue) this.reportDueAt = null;
    const rows = this.outboxSize > 0 ? this.sql(`SELECT * FROM audit_outbox ORDER BY id LIMIT ?`, FLUSH_BATCH).toArray() : [];
    // A snapshot: addCount replaces entries, never changes them, so these stay what was sent.
    const counts = [...this.counts.values()];
    if (rows.length === 0 && counts.length === 0) {
      this.outboxSize = 0;
      this.outboxDueAt = null;
    }
    const audit: AuditHandoff | undefined =
      rows.length > 0 || counts.length > 0
        ? {
            accountId: accountId ?? "",
            rows: rows.map((r) => ({
              at: num(r.at), kind: str(r.kind), requestId: nullableStr(r.request_id), action: nullableStr(r.action),
              enforced: nullableNum(r.enforced), reasons: nullableStr(r.reasons), risk: nullableNum(r.risk),
              country: nullableStr(r.country), cluster: nullableStr(r.cluster), detail: nullableStr(r.detail),
            })),
            counts,
          }
        : undefined;
    if (!batch && !audit) return "idle";
    const collector = this.env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(accountId ?? "", policy.clusters.shards)));
    try {
      this.applyClusterVerdicts(await collector.report(batch, policyText(policy), audit));
    } catch (err) {
      // The report is dropped (the next interval carries the same keys again); the audit rows stay and are retried.
      console.error(JSON.stringify({ msg: "collector hand-off failed; audit will retry", account: accountId, rows: rows.length, error: String(err) }));
      return audit ? "failed" : "idle";
    }
    if (!audit) return "idle";
    // Rows admitted while the call was in flight have larger ids and stay for the next hand-off;
    // counts that grew meanwhile keep only what was not yet sent.
    const sent = rows.length > 0 ? this.sql(`DELETE FROM audit_outbox WHERE id <= ?`, num(rows.at(-1)?.id)).rowsWritten : 0;
    for (const c of audit.counts) this.addCount(c.minute, c.action, c.enforced, -c.count);
    const left = Math.max(0, this.outboxSize - sent);
    this.outboxSize = left;
    this.outboxDueAt = left > 0 ? this.now() + AUDIT_FLUSH_DELAY_MS : this.counts.size > 0 ? this.now() + COUNTS_FLUSH_DELAY_MS : null;
    return left > 0 && rows.length === FLUSH_BATCH ? "more" : "flushed";
  }

  private bufferReport(now: number, req: AdmitRequest, policy: Policy, tokens: { inputTokens: number; outputTokens: number }): void {
    const keys = req.fingerprint.keys;
    if (keys.length === 0) return;
    this.reports.add({
      at: now,
      keys,
      bands: keys.filter((k) => k.startsWith("tpl:")),
      model: req.fingerprint.model,
      inputTokens: tokens.inputTokens,
      outputTokens: tokens.outputTokens,
      elicited: req.fingerprint.elicitation >= policy.fingerprint.elicitationThreshold,
    });
    this.reportDueAt ??= now + policy.clusters.reportIntervalSeconds * 1000;
  }

  private prune(now: number): void {
    this.pruneWindowRows(now);
    this.pruneDayRows(now);
    for (const kind of ["country", "prefix"] as const) {
      const map = this.places[kind];
      let any = false;
      for (const [value, p] of map) {
        if (p.expiresAt <= now) {
          map.delete(value);
          any = true;
        }
      }
      if (any) this.sql(`DELETE FROM places WHERE kind = ? AND expires_at <= ?`, kind, now);
    }
    for (const o of [...this.overrides.values()]) if (!overrideActive(o, now)) this.clearOverride(o.kind);
    if (!this.policySeen) return;
    const verdictOldest = now - this.policy.risk.verdictTtlSeconds * 1000;
    for (const v of [...this.verdicts.values()]) {
      if (verdictFreshAt(v) <= verdictOldest) {
        this.verdicts.delete(v.cluster);
        this.sql(`DELETE FROM cluster_verdicts WHERE cluster = ?`, v.cluster);
      }
    }
    for (const s of [...this.signals.values()]) {
      if (isSpent(s, now, this.policy.risk)) {
        this.signals.delete(s.signal);
        this.sql(`DELETE FROM risk_signals WHERE signal = ?`, s.signal);
      }
    }
  }

  /**
   * Schedules the alarm for the earliest pending work — audit flush, cluster
   * report, lease expiry, rows leaving their window — and not at all when
   * nothing is pending, so an idle account costs nothing.
   */
  private scheduleAlarm(now: number, flush: "idle" | "flushed" | "more" | "failed" | null = null): void {
    let due = Number.POSITIVE_INFINITY;
    if (this.outboxSize > 0 || this.counts.size > 0 || this.recentUnwritten > 0) {
      if (flush === "more") due = now;
      else if (flush === "failed") due = now + FLUSH_RETRY_MS;
      else due = this.outboxDueAt ?? now + AUDIT_FLUSH_DELAY_MS;
    }
    // A settled lease is gone: only leases still open can expire (nextLeaseExpiry is a lower bound).
    if (this.leases.size > 0) due = Math.min(due, this.nextLeaseExpiry);
    due = Math.min(due, this.reportDueAt ?? Number.POSITIVE_INFINITY);
    // Housekeeping waits until every counter has left its window: an account in use prunes as its buckets
    // roll over, so an idle one (most of a hydra's, after its few requests) is woken once, not per window.
    let pruneAt = Number.NEGATIVE_INFINITY;
    for (const r of this.windowRows) pruneAt = Math.max(pruneAt, r.expiresAt);
    for (const r of this.dayRows) pruneAt = Math.max(pruneAt, r.expiresAt);
    for (const map of Object.values(this.places)) for (const p of map.values()) pruneAt = Math.max(pruneAt, p.expiresAt);
    if (Number.isFinite(pruneAt)) due = Math.min(due, Math.max(pruneAt, now) + PRUNE_SLACK_MS);
    if (!Number.isFinite(due)) return;
    const real = due - this.clockOffsetMs;
    if (this.alarmAt !== null && this.alarmAt <= real) return;
    this.alarmAt = real;
    this.ctx.waitUntil(this.ctx.storage.setAlarm(real));
  }
}
