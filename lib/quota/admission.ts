/**
 * Admission as arithmetic: what an account object knows about one request (its counters, leases,
 * overrides, the verdicts that apply) turned into the facts every rule judges, the decision, and the
 * rate-limit snapshot the client sees. The object gathers the state and writes what follows; nothing
 * here reads or writes storage, so each step is unit-tested on plain data.
 */
import type { CachedVerdict, RateLimitSnapshot, SettleRequest } from "../decision.ts";
import { isShadow, type Policy, type RiskSignal, type TierLimits } from "../policy/index.ts";
import { admissionFindings, decide, type AdmissionFacts, type Decision, type Oversized } from "./action.ts";
import { msUntilBelow } from "./risk.ts";
import { msUntilClusterShareFits, msUntilEmpty, msUntilFits, windowUsage, type Bucket } from "./window.ts";

/** The counters a decision reads, each as the buckets of its own window. */
export type CounterSeries = { requests: Bucket[]; inputTokens: Bucket[]; outputTokens: Bucket[]; exchanges: Bucket[] };

export type TokenEstimate = { inputTokens: number; outputTokens: number };

/** Token counts from the edge or the origin: anything but a finite positive number counts as 0. */
export function tokenCount(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : 0;
}

export type VerdictEvidence = {
  signals: RiskSignal[];
  evidence: string[];
  /** The tightest confirmed cluster's per-member cap, or null when no confirmed verdict caps the account. */
  clusterCap: number | null;
  /** When that cap's verdict was decided: pacing a member's share starts there at the latest. */
  capSince: number;
};

/** What the verdicts that apply to a request add: a signal and a reason each, and the tightest confirmed cap. */
export function verdictEvidence(verdicts: readonly CachedVerdict[]): VerdictEvidence {
  const out: VerdictEvidence = { signals: [], evidence: [], clusterCap: null, capSince: 0 };
  for (const v of verdicts) {
    if (v.verdict === "confirmed") {
      out.signals.push("cluster_verdict");
      out.evidence.push("cluster.confirmed");
      if (v.capPerWindow !== null && v.capPerWindow < (out.clusterCap ?? Number.POSITIVE_INFINITY)) {
        out.clusterCap = v.capPerWindow;
        out.capSince = v.decidedAt;
      }
    } else {
      out.signals.push("cluster_member");
      out.evidence.push("cluster.suspect");
    }
  }
  return out;
}

// A batch admitted in one call stands for at most this many requests; a larger count is a broken caller.
export const MAX_UNITS = 10_000;

/**
 * The requests one admit stands for: 1 unless the edge says (a message batch's contained requests),
 * never less than 1, never more than MAX_UNITS. NaN cannot be trusted to be small: it counts as the most.
 */
export function requestUnits(units: number | undefined): number {
  if (units === undefined) return 1;
  if (Number.isNaN(units)) return MAX_UNITS;
  return Math.min(MAX_UNITS, Math.max(1, Math.ceil(units)));
}

export type AdmissionState = {
  now: number;
  policy: Policy;
  /** The limits in force: the account's standing, shrunk by risk. */
  limits: TierLimits;
  /**
   * What the account's standing alone earns it (tier, verification, organisation type, operator
   * multiplier; risk left out): a request above these can never be served as sent. Default `limits`.
   */
  standingLimits?: TierLimits;
  /** Requests this admit stands for (a batch's contained requests); default 1. */
  units?: number;
  series: CounterSeries;
  estimate: TokenEstimate;
  risk: number;
  inFlight: number;
  deny: { reason: string } | null;
  overrideBlock: { reason: string } | null;
  overrideAllow: boolean;
  /** From verdictEvidence. */
  clusterCap: number | null;
  capSince: number;
  /** When the account's last request reached the origin, or null. */
  lastForwardedAt: number | null;
};

/** The facts every rule judges, from the account's state and this request's estimate. */
export function admissionFacts(s: AdmissionState): AdmissionFacts {
  const { policy, now, limits, series, estimate } = s;
  const windowMs = policy.limits.windowSeconds * 1000;
  const dayMs = policy.limits.dayWindowSeconds * 1000;
  const units = requestUnits(s.units);
  return {
    deny: s.deny,
    overrideBlock: s.overrideBlock,
    overrideAllow: s.overrideAllow,
    inFlight: s.inFlight,
    concurrencyLimit: limits.concurrency,
    quota: [
      { counter: "requests", msUntilFits: msUntilFits(series.requests, now, windowMs, limits.requests, units), windowMs },
      { counter: "input_tokens", msUntilFits: msUntilFits(series.inputTokens, now, windowMs, limits.inputTokens, estimate.inputTokens), windowMs },
      { counter: "output_tokens", msUntilFits: msUntilFits(series.outputTokens, now, windowMs, limits.outputTokens, estimate.outputTokens), windowMs },
      { counter: "exchanges_per_day", msUntilFits: msUntilFits(series.exchanges, now, dayMs, limits.exchangesPerDay, units), windowMs: dayMs },
    ],
    oversized: oversized(s.standingLimits ?? limits, estimate, units, policy),
    clusterCap:
      s.clusterCap === null
        ? null
        : {
            msUntilFits: msUntilClusterShareFits(s.clusterCap, series.requests, Math.max(s.lastForwardedAt ?? 0, s.capSince), now, windowMs),
            windowMs,
            degrade: policy.clusters.degradeWithinCap,
          },
    risk: s.risk,
    riskMsUntilBelowThrottle: msUntilBelow(s.risk, policy.actions.throttle, policy.risk.halfLifeSeconds * 1000),
    thresholds: policy.actions,
    windowSeconds: policy.limits.windowSeconds,
  };
}

/**
 * What of the request exceeds the account's whole standing limit, with the message that names it.
 * A limit of 0 is an operator's stop, not a size: it throttles (msUntilFits says never) instead.
 */
export function oversized(standing: TierLimits, estimate: TokenEstimate, units: number, policy: Policy): Oversized[] {
  const per = `per ${policy.limits.windowSeconds} s`;
  // A batch's reservation is the sum over its requests: name it as such, not as one max_tokens.
  const output = units > 1 ? `a batch reserving ${estimate.outputTokens} output tokens` : `max_tokens ${estimate.outputTokens}`;
  const input = units > 1 ? `a batch of about ${estimate.inputTokens} input tokens` : `a prompt of about ${estimate.inputTokens} input tokens`;
  const checks: Array<Oversized & { amount: number; limit: number }> = [
    { counter: "output_tokens", amount: estimate.outputTokens, limit: standing.outputTokens,
      message: `${output} exceeds this account's ${standing.outputTokens} output tokens ${per}` },
    { counter: "input_tokens", amount: estimate.inputTokens, limit: standing.inputTokens,
      message: `${input} exceeds this account's ${standing.inputTokens} input tokens ${per}` },
    { counter: "requests", amount: units, limit: standing.requests,
      message: `a batch of ${units} requests exceeds this account's ${standing.requests} requests ${per}` },
    { counter: "exchanges_per_day", amount: units, limit: standing.exchangesPerDay,
      message: `a batch of ${units} requests exceeds this account's ${standing.exchangesPerDay} requests per ${policy.limits.dayWindowSeconds} s` },
  ];
  return checks.filter((c) => c.limit > 0 && c.amount > c.limit).map(({ counter, message }) => ({ counter, message }));
}

/** The decision on one request: the strictest finding, shadowed rules reported beside it. */
export function decideAdmission(s: AdmissionState): Decision {
  return decide(admissionFindings(admissionFacts(s)), (rule) => isShadow(s.policy, rule));
}

/**
 * What a settle charges: the origin's usage when it reported one; nothing when the answer carries no
 * usage and either failed (status ≥ 400: the origin refused or broke before generating, as in a 529
 * storm that SDK retries multiply) or belongs to a route that reserved no output (count_tokens,
 * models). Null keeps the reservation: a 2xx without usage may have generated up to it.
 */
export function settledUsage(req: SettleRequest, outputReserved: number): SettleRequest["usage"] {
  if (req.usage) return req.usage;
  if (req.status >= 400 || outputReserved === 0) return { inputTokens: 0, outputTokens: 0 };
  return null;
}

/** Remaining capacity for the rate-limit headers: limits and window usage only, never risk itself. */
export function rateLimitSnapshot(
  limits: Pick<TierLimits, "requests" | "inputTokens" | "outputTokens">,
  series: Pick<CounterSeries, "requests" | "inputTokens" | "outputTokens">,
  now: number,
  windowMs: number,
): RateLimitSnapshot {
  const remaining = (buckets: Bucket[], limit: number) => Math.max(0, limit - windowUsage(buckets, now, windowMs));
  const resetMs = Math.max(
    msUntilEmpty(series.requests, now, windowMs),
    msUntilEmpty(series.inputTokens, now, windowMs),
    msUntilEmpty(series.outputTokens, now, windowMs),
  );
  return {
    windowSeconds: windowMs / 1000,
    resetSeconds: Math.ceil(resetMs / 1000),
    requests: { limit: limits.requests, remaining: remaining(series.requests, limits.requests) },
    inputTokens: { limit: limits.inputTokens, remaining: remaining(series.inputTokens, limits.inputTokens) },
    outputTokens: { limit: limits.outputTokens, remaining: remaining(series.outputTokens, limits.outputTokens) },
  };
}
