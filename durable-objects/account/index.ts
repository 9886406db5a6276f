/**
 * AccountDO — one per account: sliding-window counters, concurrency leases,
 * allowances held by isolates, risk with decay, operator overrides, cached
 * cluster verdicts, fingerprints and places seen, and an outbox of audit rows. The alarm hands the outbox
 * and, once per `clusters.reportIntervalSeconds`, the account's fingerprint
 * keys to its cluster collector in one call (the collector writes audit rows
 * to D1 for many accounts at once) and caches the verdicts that come back, so
 * no cluster object and no D1 write is ever on the request path.
 *
 * `admit` runs start to finish without an await: SQLite storage is
 * synchronous, so reading the counters, deciding and counting happen as one
 * step and concurrent requests can never both take the last slot. A low-risk
 * account's admit may also grant the calling isolate an allowance (requests,
 * tokens and slots counted here first, lib/quota/allowance.ts), and once half of
 * it is spent the isolate asks for the next in the background (`renew`, judged by
 * the same rules); what the isolate admitted within it comes back in a report on
 * its next call (`admit`, `renew` or `reconcile`) and is recorded as if it had
 * been admitted here. Each store
 * in this folder owns its tables (state in memory, every change written
 * through as a small SQL update, or behind by the alarm where noted); the
 * arithmetic is in lib/quota and lib/account-alarm.ts.
 */
import { DurableObject } from "cloudflare:workers";
import { nextAlarmAt, type FlushOutcome } from "../../lib/account-alarm.ts";
import { paymentKey } from "../../lib/accounts.ts";
import { BoundedMap } from "../../lib/bounded-map.ts";
import { ReportBuffer, reportDueAt, requestEvidence } from "../../lib/cluster/report.ts";
import { elicitationLandingBar } from "../../lib/cluster/verdict.ts";
import type {
  AccountProfile,
  AccountState,
  AdmitRequest,
  AdmitResult,
  AllowanceGrant,
  AllowanceReport,
  CachedVerdict,
  Override,
  RateLimitSnapshot,
  RenewRequest,
  RenewResult,
  SettleRequest,
} from "../../lib/decision.ts";
import { clusterCollectorName, collectorIndex } from "../../lib/names.ts";
import { DEFAULT_POLICY, PolicyFromText, policyText, type Policy, type RiskSignal } from "../../lib/policy/index.ts";
import {
  applySignals,
  bucketWidthMs,
  decideAdmission,
  effectiveLimits,
  rateLimitSnapshot,
  requestUnits,
  riskWithoutClusters,
  settledUsage,
  firstLeaseId,
  allowanceRiskCeiling,
  sizeAllowance,
  tokenCount,
  verdictEvidence,
  windowUsage,
  withoutPreDebits,
  type AllowanceSize,
  type Decision,
  type TokenEstimate,
  type VerdictEvidence,
} from "../../lib/quota/index.ts";
import { wanderSignals } from "../../lib/region/index.ts";
import { migrate, Startup } from "../sqlite.ts";
import { AllowanceStore } from "./allowances.ts";
import { CounterStore } from "./counters.ts";
import { EvidenceStore } from "./evidence.ts";
import { LeaseStore } from "./leases.ts";
import { MetaStore } from "./meta.ts";
import { OutboxStore, type AuditEntry } from "./outbox.ts";
import { OverrideStore } from "./overrides.ts";
import { ACCOUNT_SCHEMA, MIGRATIONS } from "./schema.ts";
import { VerdictStore } from "./verdicts.ts";

// Admit answers remembered by request id: the edge retries an admit within a few hundred ms, and a
// busy account's 256 most recent admits span far more than that.
const RECENT_ADMITS = 256;
// Local admissions applied from one report: an isolate reports at most an allowance's worth at a time;
// this bounds what a broken caller can make one call cost.
const MAX_REPORTED_ADMISSIONS = 1_000;

/** The keys with the one the account's profile adds (the card it pays with), allow-listed ones left out. */
function withProfileKey(keys: string[], account: AccountProfile | null, policy: Policy): string[] {
  const payment = account ? paymentKey(account) : null;
  if (payment === null || keys.includes(payment) || policy.clusters.allowlist.includes(payment)) return keys;
  // First: a request's keys are looked at up to a bound (evidence.ts), and the edge's list may be long.
  return [payment, ...keys];
}

function withProfileKeys(req: AdmitRequest, policy: Policy): AdmitRequest {
  const keys = withProfileKey(req.fingerprint.keys, req.account, policy);
  return keys === req.fingerprint.keys ? req : { ...req, fingerprint: { ...req.fingerprint, keys } };
}

export class AccountDO extends DurableObject<Env> {
  /**
   * Test seams, reached with `runInDurableObject`: the object's clock, and hooks run at the start of
   * every admit and reconcile (what one throws, the call throws, as a broken object would). Never on the RPC surface.
   */
  clock: () => number = () => Date.now();
  beforeAdmit: () => void = () => {};
  /** Run at the start of every reconcile, likewise. */
  beforeReconcile: () => void = () => {};
  /** Run at the start of every renew, likewise. */
  beforeRenew: () => void = () => {};

  private readonly startup: Startup;
  private readonly meta: MetaStore;
  private readonly counters: CounterStore;
  private readonly leases: LeaseStore;
  private readonly allowances: AllowanceStore;
  private readonly evidence: EvidenceStore;
  private readonly verdicts: VerdictStore;
  private readonly overrides: OverrideStore;
  private readonly outbox: OutboxStore;

  /** The policy of the latest admit: the alarm and inspect have no request to take it from. */
  private policy: Policy = DEFAULT_POLICY;
  private readonly policies = new PolicyFromText();
  /** Until an admit brings the real policy, decay-based pruning would judge by the defaults: skip it. */
  private policySeen = false;
  private lastLimits: RateLimitSnapshot | null = null;
  /** The profile of the latest admit: a report sent alone (`reconcile`) has none of its own. */
  private account: AccountProfile | null = null;
  /**
   * Requests since the last cluster report. In memory only: a report is a statistical sample, and
   * losing a few seconds of it on eviction costs less than a row write per request would.
   */
  private readonly reports = new ReportBuffer();
  private reportDueAt: number | null = null;
  /** When this instance last sent a cluster report: a quiet account's next one need not wait an interval. */
  private lastReportAt: number | null = null;
  /** Real-time ms of the scheduled alarm, as far as this instance knows; null = none, or unknown. */
  private alarmAt: number | null = null;
  /**
   * The latest admits' answers by request id, so an admit the edge retried (its first attempt ran but
   * the answer was lost) is answered again, same lease, instead of counted twice. In memory: a retry
   * follows within milliseconds, and an object that restarted in between lost the first attempt's
   * writes with its memory only if it never answered, so there is nothing to count twice.
   */
  private readonly admitted = new BoundedMap<string, AdmitResult>(RECENT_ADMITS);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.meta = new MetaStore(sql);
    this.counters = new CounterStore(sql);
    this.leases = new LeaseStore(sql);
    this.allowances = new AllowanceStore(sql);
    this.evidence = new EvidenceStore(sql);
    this.verdicts = new VerdictStore(sql);
    this.overrides = new OverrideStore(sql);
    this.outbox = new OutboxStore(sql);
    this.startup = new Startup(ctx, () => this.load(), "account object");
    void ctx.blockConcurrencyWhile(async () => {
      // Unknown (null) only makes the next schedule set the alarm again: never worth failing start-up for.
      this.alarmAt = await ctx.storage.getAlarm().catch(() => null);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // RPC

  admit(request: AdmitRequest): AdmitResult {
    this.startup.readySync();
    // Piggybacked settles first, so the slots and tokens they give back count for this decision.
    for (const settled of request.settles ?? []) this.settleOne(settled);
    this.beforeAdmit();
    const repeated = this.admitted.get(request.requestId);
    if (repeated) {
      this.counters.flush();
      return repeated;
    }
    const now = this.clock();
    const policy = this.policies.read(request.policyJson);
    const req = withProfileKeys(request, policy);
    this.policy = policy;
    this.policySeen = true;
    this.account = req.account;
    this.meta.rememberAccount(req.account.id);
    this.leases.reclaimExpired(now);
    this.allowances.reclaimExpired(now);
    // After the repeat check: a retried admit carries the same report, and it counts once.
    if (request.report) this.applyReport(request.report, now, policy);

    const { reasons: evidence, verdicts, cluster, risk } = this.gatherEvidence(req, now, policy);
    const quotaOverride = this.overrides.active("quota", now);
    const multiplier = quotaOverride ? (quotaOverride.multiplier ?? 1) : null;
    const limits = effectiveLimits(policy, req.account, risk, multiplier);
    const units = requestUnits(req.units);
    const estimate: TokenEstimate = { inputTokens: tokenCount(req.estimate.inputTokens), outputTokens: tokenCount(req.estimate.outputTokens) };
    const overrideBlock = this.overrides.active("block", now);
    const decision = decideAdmission({
      now,
      policy,
      limits,
      standingLimits: effectiveLimits(policy, req.account, 0, multiplier),
      units,
      series: this.counters.series(),
      estimate,
      risk,
      inFlight: this.leases.open + this.allowances.slots,
      deny: req.deny,
      overrideBlock: overrideBlock ? { reason: overrideBlock.reason } : null,
      overrideAllow: this.overrides.active("allow", now) !== null,
      clusterCap: cluster.clusterCap,
      capSince: cluster.capSince,
      lastForwardedAt: this.meta.lastForwardedAt,
    });

    // An allowance for the isolate, when it asked and the account qualifies: this request is its first.
    const size =
      request.wantsAllowance === true && decision.forwarded && this.mayHoldAllowance(req, decision, evidence, verdicts.length, multiplier, now)
        ? sizeAllowance({ now, policy, limits, series: this.counters.series(), inFlight: this.leases.open + this.allowances.slots + 1, risk, estimate, uncounted: true })
        : null;
    const allowance = size ? this.grantAllowance(now, policy, size, request.holder ?? "unknown", estimate) : null;
    // Only what reaches the origin counts: an enforced throttle or block costs the account nothing.
    const leaseId = allowance
      ? firstLeaseId(allowance)
      : decision.forwarded
        ? this.countForwarded(now, policy, estimate, units, cluster.clusterCap !== null)
        : null;
    // Every attempt is reported, not only what was forwarded: a capped hydra must not look like it went quiet.
    this.bufferReport(now, req, policy, decision.forwarded ? estimate : { inputTokens: 0, outputTokens: 0 });

    const snapshot = rateLimitSnapshot(limits, withoutPreDebits(this.counters.series(), this.allowances.preDebits()), now, policy.limits.windowSeconds * 1000);
    this.lastLimits = snapshot;
    const result: AdmitResult = {
      action: decision.action,
      enforced: decision.enforced,
      reasons: [...new Set([...decision.reasons, ...evidence])],
      risk: Math.round(risk * 10) / 10,
      leaseId,
      retryAfterSeconds: decision.retryAfterSeconds,
      limits: snapshot,
      clusters: verdicts.map((v) => v.cluster),
      // Key verdicts (not components: requests never carry a component id) for the isolate's cache.
      verdicts: this.verdicts.live(now, policy).filter((v) => v.verdict === "confirmed" && !v.cluster.startsWith("cc:")),
    };
    if (decision.refusal !== null) result.refusal = decision.refusal;
    const feed = this.verdicts.feedAfter(req.feedSince);
    if (feed) result.feed = feed;
    if (allowance) result.allowance = allowance;
    this.recordDecision(now, req, result, decision);
    this.admitted.set(req.requestId, result);
    this.counters.flush();
    this.scheduleAlarm(now);
    return result;
  }

  /**
   * The account's next allowance for an isolate whose current one still runs, with what it admitted
   * so far. Judged as an admit of the request that asked would be (it is in the report, already
   * admitted, so nothing of it is counted again), by the same rules; `qualifies: false` tells the
   * isolate to end what it holds, because something changed here since the last grant.
   */
  renew(request: RenewRequest): RenewResult {
    this.startup.readySync();
    this.beforeRenew();
    const now = this.clock();
    const policy = this.policies.read(request.policyJson);
    this.policy = policy;
    this.policySeen = true;
    this.account = request.account;
    this.leases.reclaimExpired(now);
    this.allowances.reclaimExpired(now);
    if (request.report) this.applyReport(request.report, now, policy);

    // The request as an admit would see it: the edge renews only on one it admitted as plainly allowed
    // (no signal, no reason, no deny, the place the allowance was granted in: localFit), and the report
    // has tracked its keys and place.
    const req = withProfileKeys({ ...request, signals: [], reasons: [], deny: null, requestId: "" }, policy);
    const halfLifeMs = policy.risk.halfLifeSeconds * 1000;
    const landsAt = elicitationLandingBar(policy, []);
    const verdicts = this.verdicts.landing(req.fingerprint, now, policy, landsAt);
    const cluster = verdictEvidence(verdicts);
    const score = this.evidence.risk(now, halfLifeMs).score;
    // As gatherEvidence weighs it (no verdict applies here, or nothing qualifies anyway).
    const risk = req.fingerprint.elicitation >= landsAt ? score : riskWithoutClusters(this.evidence.signalStates(), score, now, halfLifeMs);
    const quotaOverride = this.overrides.active("quota", now);
    const multiplier = quotaOverride ? (quotaOverride.multiplier ?? 1) : null;
    const limits = effectiveLimits(policy, req.account, risk, multiplier);
    const estimate: TokenEstimate = { inputTokens: tokenCount(req.estimate.inputTokens), outputTokens: tokenCount(req.estimate.outputTokens) };
    const overrideBlock = this.overrides.active("block", now);
    const inFlight = this.leases.open + this.allowances.slots;
    const decision = decideAdmission({
      now,
      policy,
      limits,
      standingLimits: effectiveLimits(policy, req.account, 0, multiplier),
      units: 1,
      series: this.counters.series(),
      estimate,
      risk,
      inFlight,
      deny: null,
      overrideBlock: overrideBlock ? { reason: overrideBlock.reason } : null,
      overrideAllow: this.overrides.active("allow", now) !== null,
      clusterCap: cluster.clusterCap,
      capSince: cluster.capSince,
      lastForwardedAt: this.meta.lastForwardedAt,
    });
    const qualifies = decision.forwarded && risk < allowanceRiskCeiling(policy) && this.mayHoldAllowance(req, decision, cluster.evidence, verdicts.length, multiplier, now);
    const size = qualifies ? sizeAllowance({ now, policy, limits, series: this.counters.series(), inFlight, risk, estimate }) : null;
    const allowance = size ? this.grantAllowance(now, policy, size, request.holder, null) : null;
    const snapshot = rateLimitSnapshot(limits, withoutPreDebits(this.counters.series(), this.allowances.preDebits()), now, policy.limits.windowSeconds * 1000);
    this.lastLimits = snapshot;
    this.counters.flush();
    this.scheduleAlarm(now);
    const result: RenewResult = { qualifies, risk: Math.round(risk * 10) / 10, limits: snapshot };
    if (allowance) result.allowance = allowance;
    return result;
  }

  /** Several settles in one call (the gateway coalesces them per account). */
  settleMany(requests: SettleRequest[]): void {
    this.startup.readySync();
    for (const req of requests) this.settleOne(req);
    this.counters.flush();
  }

  /** What an isolate admitted within its allowances and the allowances it gives back, when no admit carried them. */
  reconcile(report: AllowanceReport): void {
    this.startup.readySync();
    this.beforeReconcile();
    const now = this.clock();
    this.allowances.reclaimExpired(now);
    this.applyReport(report, now, this.policy);
    this.counters.flush();
    this.scheduleAlarm(now);
  }

  /**
   * Reconciles the reservation with what the origin reported and frees the slot; a repeat is a no-op.
   * An answer without usage gives the tokens back when nothing can have been generated (see
   * settledUsage); the request itself stays counted.
   */
  settle(req: SettleRequest): void {
    this.startup.readySync();
    this.settleOne(req);
    this.counters.flush();
  }

  private settleOne(req: SettleRequest): void {
    const lease = this.leases.take(req.leaseId);
    if (!lease) return;
    const usage = settledUsage(req, lease.outputReserved);
    if (!usage) return;
    const deltaIn = tokenCount(usage.inputTokens) - lease.inputReserved;
    const deltaOut = tokenCount(usage.outputTokens) - lease.outputReserved;
    if (deltaIn === 0 && deltaOut === 0) return;
    // The reservation is still counted: correct it where it was made.
    if (this.counters.correct({ start: lease.bucketStart, end: lease.bucketEnd }, deltaIn, deltaOut)) return;
    // The reservation has already left the window; only an overrun is still owed, and it is owed now.
    const extra = { requests: 0, inputTokens: Math.max(0, deltaIn), outputTokens: Math.max(0, deltaOut) };
    if (extra.inputTokens === 0 && extra.outputTokens === 0) return;
    const now = this.clock();
    const windowMs = this.policy.limits.windowSeconds * 1000;
    this.counters.add("window", now, windowMs, bucketWidthMs(windowMs, this.policy.limits.windowBuckets), extra);
    this.scheduleAlarm(now);
  }

  inspect(): AccountState {
    this.startup.readySync();
    const now = this.clock();
    const policy = this.policy;
    const windowMs = policy.limits.windowSeconds * 1000;
    const series = this.counters.series();
    return {
      accountId: this.meta.accountId,
      now,
      risk: this.evidence.risk(now, policy.risk.halfLifeSeconds * 1000),
      usage: {
        windowSeconds: policy.limits.windowSeconds,
        requests: windowUsage(series.requests, now, windowMs),
        inputTokens: windowUsage(series.inputTokens, now, windowMs),
        outputTokens: windowUsage(series.outputTokens, now, windowMs),
        exchangesToday: windowUsage(series.exchanges, now, policy.limits.dayWindowSeconds * 1000),
        // An allowance's slots count as in flight until its isolate gives it back.
        inFlight: this.leases.inFlight(now) + this.allowances.slots,
      },
      limits: this.lastLimits,
      overrides: this.overrides.allActive(now),
      clusters: this.verdicts.all(),
      fingerprints: this.evidence.fingerprintList(),
      recentDecisions: this.outbox.recentDecisions(),
      allowances: this.allowances.list(),
    };
  }

  /** Sets (replaces) the override of that kind; block and allow exclude each other. */
  setOverride(o: Override): void {
    this.startup.readySync();
    this.overrides.set(o);
  }

  clearOverride(kind: Override["kind"]): void {
    this.startup.readySync();
    this.overrides.clear(kind);
  }

  /** Caches verdicts sent by the cluster objects; "none" clears one, an older verdict never replaces a newer. */
  applyClusterVerdicts(verdicts: CachedVerdict[]): void {
    this.startup.readySync();
    this.verdicts.apply(verdicts, this.policy);
  }

  /** Reclaims expired leases, prunes what has left its window, writes what waits, hands audit and report to the collector. */
  override async alarm(): Promise<void> {
    this.startup.readySync();
    this.alarmAt = null;
    const now = this.clock();
    this.leases.reclaimExpired(now);
    this.allowances.reclaimExpired(now);
    this.prune(now);
    this.counters.flush();
    const writeBehind = this.writeBehindDueAt();
    if (writeBehind !== null && now >= writeBehind) {
      // Together, once the oldest is due: one alarm writes everything that waits, not one alarm each.
      this.outbox.writeRecent();
      this.evidence.writeFingerprints();
      this.allowances.deleteFreed();
    }
    const flush = await this.sendToCollector(now);
    this.scheduleAlarm(this.clock(), flush);
  }

  // ---------------------------------------------------------------------------------------------

  private load(): void {
    // A brand-new object (most of a hydra's are) has nothing to read: the stores' initial state is its state.
    if (migrate(this.ctx.storage.sql, { migrations: MIGRATIONS, current: ACCOUNT_SCHEMA })) return;
    this.meta.load();
    this.counters.load();
    this.leases.load();
    this.allowances.load();
    this.evidence.load();
    this.verdicts.load();
    this.overrides.load();
    this.outbox.load(this.clock());
  }

  /**
   * What this request adds to the account's evidence (the edge's signals, where the account has been
   * today, the cluster verdicts that apply to it) and the risk score that follows.
   */
  private gatherEvidence(req: AdmitRequest, now: number, policy: Policy): { reasons: string[]; verdicts: CachedVerdict[]; cluster: VerdictEvidence; risk: number } {
    const signals: RiskSignal[] = [...req.signals];
    const reasons: string[] = [...req.reasons];
    this.evidence.trackFingerprints(req.fingerprint.keys, now);
    const dayMs = policy.limits.dayWindowSeconds * 1000;
    const seen = this.evidence.trackPlaces(req.fingerprint, now, dayMs, bucketWidthMs(dayMs, policy.limits.windowBuckets));
    const exempt = policy.regions.exemptAccounts.includes(req.account.id) || policy.regions.exemptTiers.includes(req.account.tier);
    if (!exempt) {
      const wander = wanderSignals(seen, policy);
      signals.push(...wander.signals);
      reasons.push(...wander.reasons);
    }
    // Verdicts the isolate or this object's feed already know for this request's keys: a fresh account of
    // a known campaign is treated as one from its first request, not only after its first cluster report.
    this.verdicts.applyKnown(req.verdicts, req.fingerprint.keys, policy);
    const landsAt = elicitationLandingBar(policy, req.signals);
    const verdicts = this.verdicts.landing(req.fingerprint, now, policy, landsAt);
    const cluster = verdictEvidence(verdicts);
    signals.push(...cluster.signals);
    reasons.push(...cluster.evidence);
    const update = applySignals(this.evidence.signalStates(), signals, now, policy.risk);
    this.evidence.writeSignals(update.changed);
    // A request no verdict applies to is judged by the account's own evidence: a reseller's ordinary
    // customers share the account, not the campaign's requests. One that elicits as surely as a landing
    // asks is not an ordinary customer's, whatever its wording: an account a verdict has landed on keeps
    // those points for it, so a campaign cannot shed them by rewording its template.
    const elicits = req.fingerprint.elicitation >= landsAt;
    const risk =
      verdicts.length > 0 || elicits ? update.score : riskWithoutClusters(this.evidence.signalStates(), update.score, now, policy.risk.halfLifeSeconds * 1000);
    return { reasons, verdicts, cluster, risk };
  }

  /** Counts a forwarded request (`units` of them, for a batch) in the window and the day and opens its lease; returns the lease id. */
  private countForwarded(now: number, policy: Policy, estimate: TokenEstimate, units: number, capped: boolean): string {
    const windowMs = policy.limits.windowSeconds * 1000;
    const dayMs = policy.limits.dayWindowSeconds * 1000;
    const bucket = this.counters.add("window", now, windowMs, bucketWidthMs(windowMs, policy.limits.windowBuckets), { requests: units, ...estimate });
    this.counters.add("day", now, dayMs, bucketWidthMs(dayMs, policy.limits.windowBuckets), { requests: units, inputTokens: 0, outputTokens: 0 });
    this.meta.rememberForwarded(now, capped);
    return this.leases.openLease(now, policy.limits.leaseSeconds * 1000, bucket, estimate);
  }

  /** The decision's traces: the recent list, the per-minute counts, and an audit row for anything but a plain allow. */
  private recordDecision(now: number, req: AdmitRequest, result: AdmitResult, decision: Decision): void {
    this.outbox.remember(now, req.requestId, result);
    this.outbox.countDecision(now, result.action, result.enforced);
    if (decision.action === "allow" && decision.shadowAction === null) return;
    const entry: AuditEntry = {
      requestId: req.requestId,
      action: result.action,
      enforced: result.enforced,
      reasons: result.reasons,
      risk: result.risk,
      country: req.fingerprint.country,
      cluster: result.clusters.length > 0 ? result.clusters.join(",") : null,
      detail: { rule: decision.rule, shadowAction: decision.shadowAction, retryAfterSeconds: decision.retryAfterSeconds, tier: req.account.tier },
    };
    this.outbox.enqueueAudit(now, entry, this.meta.accountId);
  }

  private prune(now: number): void {
    this.counters.prune(now);
    this.overrides.prune(now);
    this.evidence.prune(now, this.policySeen ? this.policy : null);
    if (this.policySeen) this.verdicts.prune(now, this.policy);
  }

  private bufferReport(now: number, req: AdmitRequest, policy: Policy, tokens: TokenEstimate): void {
    this.bufferSample(now, req.fingerprint, req.signals, req.account, policy, tokens);
  }

  private bufferSample(
    now: number,
    fingerprint: Pick<AdmitRequest["fingerprint"], "keys" | "model" | "elicitation">,
    signals: RiskSignal[],
    account: AccountProfile | null,
    policy: Policy,
    tokens: TokenEstimate,
  ): void {
    const keys = fingerprint.keys;
    if (keys.length === 0) return;
    this.reports.add({
      at: now,
      keys,
      bands: keys.filter((k) => k.startsWith("tpl:")),
      model: fingerprint.model,
      inputTokens: tokens.inputTokens,
      outputTokens: tokens.outputTokens,
      elicited: fingerprint.elicitation >= policy.fingerprint.elicitationThreshold,
      ...requestEvidence({ keys, signals }, account?.createdAt, policy, account?.tier),
    });
    if (this.reportDueAt === null) {
      const intervalMs = policy.clusters.reportIntervalSeconds * 1000;
      // The quiet delay is for the new and quiet accounts a fleet is made of; an account with the day's
      // history an allowance needs reports at the interval, so an established customer's bursts do not
      // each cost an extra report (about 0.07 rows written per request at sixteen bursty accounts).
      const established = windowUsage(this.counters.series().exchanges, now, policy.limits.dayWindowSeconds * 1000) >= policy.quota.allowance.minHistoryRequests;
      this.reportDueAt = reportDueAt(now, this.lastReportAt, intervalMs, established ? intervalMs : policy.clusters.quietReportDelaySeconds * 1000);
    }
  }

  /**
   * Whether this admit's account may hold an allowance at all: an enforced plain allow with nothing
   * to say (no evidence, no signal, no verdict, no override, no region deny), for a single request.
   * The size (history, risk, rate, what remains) is lib/quota/allowance.ts's.
   */
  private mayHoldAllowance(req: AdmitRequest, decision: Decision, evidence: string[], verdicts: number, multiplier: number | null, now: number): boolean {
    if (decision.action !== "allow" || !decision.enforced || decision.shadowAction !== null || decision.reasons.length > 0) return false;
    if (evidence.length > 0 || req.signals.length > 0 || verdicts > 0 || req.deny !== null || requestUnits(req.units) !== 1) return false;
    return multiplier === null && this.overrides.active("block", now) === null && this.overrides.active("allow", now) === null;
  }

  /**
   * Pre-debits the allowance, where it ends, and records it; with an admit (`first`), counts the
   * granting request in it too: the request is its first (no lease of its own), so one bucket, one row
   * and no settle call. A renewal's has no first request (null).
   */
  private grantAllowance(now: number, policy: Policy, size: AllowanceSize, holder: string, first: TokenEstimate | null): AllowanceGrant {
    const windowMs = policy.limits.windowSeconds * 1000;
    const dayMs = policy.limits.dayWindowSeconds * 1000;
    // Counted where the grant ends: a request the isolate admits at its last moment is still in that bucket's window.
    const end = now + size.ttlMs;
    const own = first ?? { inputTokens: 0, outputTokens: 0 };
    const amounts = { requests: size.requests + (first ? 1 : 0), inputTokens: size.inputTokens + own.inputTokens, outputTokens: size.outputTokens + own.outputTokens };
    const window = this.counters.add("window", now, windowMs, bucketWidthMs(windowMs, policy.limits.windowBuckets), amounts, end);
    const day = this.counters.add("day", now, dayMs, bucketWidthMs(dayMs, policy.limits.windowBuckets), { requests: amounts.requests, inputTokens: 0, outputTokens: 0 }, end);
    if (first) this.meta.rememberForwarded(now, false);
    const grant: AllowanceGrant = { id: crypto.randomUUID(), ...size, keys: this.evidence.fingerprintList().map((f) => f.key) };
    this.allowances.open({ id: grant.id, holder, expiresAt: end, deadline: end + policy.limits.leaseSeconds * 1000, window, day, ...amounts, slots: size.slots });
    return grant;
  }

  /**
   * Records what an isolate admitted on its own as this object would have (fingerprints, places,
   * cluster report, recent decisions, decision counts), and takes back what returned allowances did
   * not use, in the buckets they were counted in.
   */
  private applyReport(report: AllowanceReport, now: number, policy: Policy): void {
    const windowMs = policy.limits.windowSeconds * 1000;
    for (const back of report.returned) {
      const held = this.allowances.take(back.id, now);
      // Unknown: dropped at its deadline, and its whole pre-debit stays counted.
      if (!held) continue;
      const unused = {
        requests: tokenCount(back.requests) - held.requests,
        inputTokens: tokenCount(back.inputTokens) - held.inputTokens,
        outputTokens: tokenCount(back.outputTokens) - held.outputTokens,
      };
      this.counters.adjust("day", held.day, { requests: unused.requests, inputTokens: 0, outputTokens: 0 });
      if (this.counters.adjust("window", held.window, unused)) continue;
      // Its bucket has left the window: only an overrun is still owed, and it is owed now.
      const owed = { requests: Math.max(0, unused.requests), inputTokens: Math.max(0, unused.inputTokens), outputTokens: Math.max(0, unused.outputTokens) };
      if (owed.requests + owed.inputTokens + owed.outputTokens > 0) {
        this.counters.add("window", now, windowMs, bucketWidthMs(windowMs, policy.limits.windowBuckets), owed);
      }
    }
    const admitted = report.admitted.slice(0, MAX_REPORTED_ADMISSIONS);
    if (admitted.length === 0) return;
    const dayMs = policy.limits.dayWindowSeconds * 1000;
    const risk = this.evidence.risk(now, policy.risk.halfLifeSeconds * 1000).score;
    for (const a of admitted) {
      if (a.allowance !== undefined) this.allowances.noteAdmitted(a.allowance);
      // The edge's clock, never ahead of this object's.
      const at = Math.min(now, a.at);
      const keys = withProfileKey(a.keys, this.account, policy);
      this.evidence.trackFingerprints(keys, at);
      this.evidence.trackPlaces({ keys, country: a.country, prefix: a.prefix, model: a.model, elicitation: a.elicitation, thinking: false }, at, dayMs, bucketWidthMs(dayMs, policy.limits.windowBuckets));
      this.bufferSample(at, { keys, model: a.model, elicitation: a.elicitation }, [], this.account, policy, { inputTokens: a.inputTokens, outputTokens: a.outputTokens });
      this.outbox.remember(at, a.requestId, { action: "allow", enforced: true, reasons: [], risk });
      this.outbox.countDecision(at, "allow", true);
      this.meta.rememberForwarded(at, false);
    }
  }

  /**
   * Hands the audit outbox and decision counts (and, when due, the cluster report) to this account's
   * collector in ONE call; the collector writes them to D1 with every other account's rows.
   */
  private async sendToCollector(now: number): Promise<FlushOutcome> {
    const accountId = this.meta.accountId;
    const reportDue = accountId !== null && this.reportDueAt !== null && now >= this.reportDueAt;
    const batch = reportDue ? this.reports.drain(accountId) : null;
    if (reportDue) {
      this.reportDueAt = null;
      this.lastReportAt = now;
    }
    const handoff = this.outbox.take(accountId ?? "");
    if (!batch && !handoff) return "idle";
    const policy = this.policy;
    const collectorName = clusterCollectorName(collectorIndex(accountId ?? "", policy.clusters.shards));
    const collector = this.env.CLUSTER_COLLECTORS.getByName(collectorName);
    try {
      const answer = await collector.report(batch, policyText(policy), handoff?.audit, this.verdicts.feedSinceFor(collectorName));
      this.verdicts.receive(answer, collectorName, this.policy);
    } catch (err) {
      // The report is dropped (the next interval carries the same keys again); the audit rows stay and are retried.
      const rows = handoff?.audit.rows.length ?? 0;
      console.error(JSON.stringify({ msg: "collector hand-off failed; audit will retry", account: accountId, rows, error: String(err) }));
      return handoff ? "failed" : "idle";
    }
    return handoff ? this.outbox.acknowledge(handoff, this.clock()) : "idle";
  }

  /** When the oldest of what is written behind (fingerprint counts, recent decisions, given-back allowances' rows) is due; null when nothing waits. */
  private writeBehindDueAt(): number | null {
    const due = [this.evidence.fingerprintsDueAt(), this.outbox.recentDueAt, this.allowances.freedDueAt].filter((t): t is number => t !== null);
    return due.length > 0 ? Math.min(...due) : null;
  }

  /** Sets the alarm for the earliest pending work (lib/account-alarm.ts), unless one is set at or before it. */
  private scheduleAlarm(now: number, flush: FlushOutcome | null = null): void {
    const due = nextAlarmAt({
      now,
      writesPending: this.outbox.pending,
      flushDueAt: this.outbox.flushDueAt,
      lastFlush: flush,
      nextLeaseExpiry: Math.min(this.leases.nextExpiryAt(), this.allowances.nextDeadlineAt()),
      reportDueAt: this.reportDueAt,
      writeBehindDueAt: this.writeBehindDueAt(),
      lastExpiry: Math.max(this.counters.lastExpiry(), this.evidence.lastExpiry()),
    });
    if (due === null) return;
    // The alarm is set in wall time; the object's clock may run ahead of it in tests.
    const real = due - (this.clock() - Date.now());
    if (this.alarmAt !== null && this.alarmAt <= real) return;
    this.alarmAt = real;
    this.ctx.waitUntil(this.ctx.storage.setAlarm(real));
  }
}
