/**
 * Allowance leases: the account object grants one isolate a few requests, a token budget and
 * concurrency slots, already counted against the account's limits (pre-debited), for a short time;
 * the isolate admits within it without a call. Limits stay exact because the object never grants more
 * than half of what remains, counts every grant before it answers, and takes back only what the
 * isolate reports unused once every request admitted within it has settled.
 *
 * Where the pre-debit is counted: in the window bucket that holds the grant's end (now + ttl), not
 * the bucket of now. A request admitted locally at any time up to the end is then counted at or after
 * its own time, so it never leaves the sliding window early; the price is that it may count up to
 * one ttl longer than it would have (see "under-admission" below).
 *
 * Who qualifies, by construction: an enforced plain allow with no evidence, no signal, no override,
 * no cluster verdict, risk below both the tag threshold and the risk floor, a single request (not a
 * batch), and at least `minHistoryRequests` requests in the day window. The size follows the rate:
 * twice what the account sent per ttl over the time its window's requests span, scaled down by risk; a size below 2 is
 * today's behaviour (no grant). A campaign's accounts (a few requests each) never reach the history,
 * and a slow honest account never reaches a size of 2: both stay on the synchronous path.
 *
 * What ends local admission at once (the isolate checks it on every request, `localFit`): a
 * fingerprint key the object had not seen on the account when it granted, a risk signal or a reason (evidence) on the request, a
 * different country or network prefix, a verdict the isolate knows for the request's keys, another
 * policy text or account profile, a denied region, a batch, a request larger than what is left, or the
 * end of the ttl.
 *
 * Renewal: once half of an allowance is spent (`wantsRenewal`), the isolate asks for the next one in
 * the background, with its report, so at steady state no request waits for a grant; an isolate holds
 * at most two per account (the one it admits within and the next). The object judges a renewal as it
 * judges an admit, and an answer that the account no longer qualifies ends both. What the object
 * learns meanwhile (an operator override, a verdict from the collector, risk rising) therefore ends
 * local admission at the isolate's next renewal or grant: at most one allowance's worth
 * (`maxRequests`, `ttlMs`: the half left of the current one and half of a next granted before) is
 * admitted after it.
 *
 * Under-admission, bounded: an allowance's unused part is counted until it is given back (when all
 * its requests have settled) or, if its isolate is gone, until it leaves the window; each grant takes
 * at most half of what remains of every limit, so k allowances held at once leave at least 2^-k of
 * the remainder to everyone else. Used requests count up to one ttl longer than their own time.
 * Slots are held until the allowance is given back, so a long stream keeps its allowance's slots.
 *
 * Pure functions over plain data: the account object sizes grants, the edge keeps what it holds.
 */
import type { AdmitRequest, AllowanceGrant, AllowanceReturn, LocalAdmission, RateLimitSnapshot, SettleRequest } from "../decision.ts";
import type { Policy, TierLimits } from "../policy/index.ts";
import type { CounterSeries, TokenEstimate } from "./admission.ts";
import { settledUsage, tokenCount } from "./admission.ts";
import { isLive, windowUsage } from "./window.ts";

// Half: a grant leaves as much as it takes, so another isolate (or the object itself) still finds room.
const GRANT_SHARE = 0.5;
// Twice the recent rate: an account speeding up should not run out before the ttl does.
const RATE_HEADROOM = 2;

export type AllowanceSize = Omit<AllowanceGrant, "id" | "keys">;

/** How long a grant lasts: the policy's ttl, never more than half the window, so a pre-debit in the future stays inside it. */
export function allowanceTtlMs(policy: Policy): number {
  return Math.max(1, Math.min(policy.quota.allowance.ttlMs, Math.floor((policy.limits.windowSeconds * 1000) / 2)));
}

/** Below this risk an account may hold an allowance: neither tagged nor shrunk by risk. */
export function allowanceRiskCeiling(policy: Policy): number {
  return Math.min(policy.actions.tag, policy.quota.riskFloor);
}

export type AllowanceSizing = {
  now: number;
  policy: Policy;
  /** The limits in force, after this request was counted. */
  limits: TierLimits;
  series: CounterSeries;
  /** Slots held: leases and other allowances. */
  inFlight: number;
  risk: number;
  /** The granting request's own estimate: the budget is sized in requests like it. */
  estimate: TokenEstimate;
  /** The granting request is not counted in `series` yet (it will be the allowance's first). */
  uncounted?: boolean;
};

/** What the object may grant now, or null (today's behaviour: every request asks the object). */
export function sizeAllowance(s: AllowanceSizing): AllowanceSize | null {
  const { policy, now, limits, series } = s;
  const config = policy.quota.allowance;
  if (!config.enabled) return null;
  const windowMs = policy.limits.windowSeconds * 1000;
  const own = s.uncounted === true ? 1 : 0;
  const history = windowUsage(series.exchanges, now, policy.limits.dayWindowSeconds * 1000) + own;
  if (history < config.minHistoryRequests) return null;
  const ceiling = allowanceRiskCeiling(policy);
  if (!(s.risk < ceiling)) return null;
  const ttlMs = allowanceTtlMs(policy);
  const recent = windowUsage(series.requests, now, windowMs) + own;
  // The rate over the time the window's requests span (at least a ttl): an account that started a
  // minute-long window ago sends at recent / window, one that started five seconds ago far faster.
  let oldest = now;
  for (const b of series.requests) if (b.value > 0 && isLive(b, now, windowMs)) oldest = Math.min(oldest, b.start);
  const span = Math.min(windowMs, Math.max(ttlMs, now - oldest));
  const byRate = Math.ceil(((RATE_HEADROOM * recent * ttlMs) / span) * (1 - s.risk / ceiling));
  const room = (limit: number, used: number) => Math.floor(Math.max(0, limit - used) * GRANT_SHARE);
  const requests = Math.min(config.maxRequests, byRate, room(limits.requests, recent), room(limits.exchangesPerDay, history));
  if (requests < 2) return null;
  const usedIn = windowUsage(series.inputTokens, now, windowMs) + own * s.estimate.inputTokens;
  const usedOut = windowUsage(series.outputTokens, now, windowMs) + own * s.estimate.outputTokens;
  const inputTokens = Math.min(RATE_HEADROOM * requests * s.estimate.inputTokens, room(limits.inputTokens, usedIn));
  const outputTokens = Math.min(RATE_HEADROOM * requests * s.estimate.outputTokens, room(limits.outputTokens, usedOut));
  // A budget that cannot hold one more request like this one is no allowance.
  if (inputTokens < s.estimate.inputTokens || outputTokens < s.estimate.outputTokens) return null;
  const freeSlots = limits.concurrency - s.inFlight;
  if (freeSlots < 1) return null;
  const slots = Math.min(requests, Math.max(1, room(limits.concurrency, s.inFlight)));
  return { requests, inputTokens, outputTokens, slots, ttlMs };
}

/** Bucket amounts an allowance pre-debited, to leave out of what the client is shown. */
export type PreDebit = { start: number; end: number; requests: number; inputTokens: number; outputTokens: number };

/**
 * The series as if no allowance were held: the rate-limit headers count down from what the account
 * used, and the size of an allowance (which follows risk) must not show in them.
 */
export function withoutPreDebits(series: CounterSeries, preDebits: readonly PreDebit[]): CounterSeries {
  if (preDebits.length === 0) return series;
  const minus = (buckets: CounterSeries["requests"], field: "requests" | "inputTokens" | "outputTokens") =>
    buckets.map((b) => {
      let value = b.value;
      for (const p of preDebits) if (p.start === b.start && p.end === b.end) value -= p[field];
      return { ...b, value: Math.max(0, value) };
    });
  return { ...series, requests: minus(series.requests, "requests"), inputTokens: minus(series.inputTokens, "inputTokens"), outputTokens: minus(series.outputTokens, "outputTokens") };
}

// ---------------------------------------------------------------------------------------------
// The edge's side: one held allowance

export type HeldAllowance = {
  grant: AllowanceGrant;
  /** What the granting request was: a request that differs in anything that matters asks the object. */
  policyJson: string;
  account: string;
  keys: ReadonlySet<string>;
  country: string;
  prefix: string | null;
  /** Edge clock, ms: when the call that got it was sent, and no local admission at or after `expiresAt`. */
  heldFrom: number;
  expiresAt: number;
  risk: number;
  limits: RateLimitSnapshot;
  requestsLeft: number;
  inputLeft: number;
  outputLeft: number;
  /** Requests admitted within it that have not settled, by lease id, with what they reserved. */
  inFlight: Map<string, TokenEstimate>;
  admitted: number;
  /** Tokens charged so far: reservations, corrected to the origin's usage as requests settle. */
  inputCharged: number;
  outputCharged: number;
  /** No more local admissions (something changed, or it ran out); it is given back once nothing is in flight. */
  ended: boolean;
};

const profileTexts = new WeakMap<AdmitRequest["account"], string>();

/**
 * The account profile as compared between requests: any change (tier, verification, …) asks the object.
 * Memoised per profile object: the edge serves an account's requests from one cached profile, which
 * nothing changes (a new profile is a new object), so the text is made once per cache fill, not per request.
 */
export function profileText(account: AdmitRequest["account"]): string {
  let text = profileTexts.get(account);
  if (text === undefined) {
    text = JSON.stringify(account);
    profileTexts.set(account, text);
  }
  return text;
}

/** The lease id of the allowance's first request, the admit that got it. */
export function firstLeaseId(grant: Pick<AllowanceGrant, "id">): string {
  return `${grant.id}:0`;
}

/**
 * An allowance as the edge holds it, from the request it was granted on and the object's answer. With
 * an admit, that request is its first, in flight; with a renewal (`firstRequest` false) it was admitted
 * within the allowance before, and this one starts empty.
 */
export function holdAllowance(
  grant: AllowanceGrant,
  request: AdmitRequest,
  sentAt: number,
  risk: number,
  limits: RateLimitSnapshot,
  firstRequest = true,
): HeldAllowance {
  // A tenth of the ttl (at most a second) before the object's own end: the edge's clock may run a little ahead.
  const margin = Math.min(1_000, Math.floor(grant.ttlMs / 10));
  const first = firstRequest ? estimateOf(request) : { inputTokens: 0, outputTokens: 0 };
  return {
    grant,
    policyJson: request.policyJson,
    account: profileText(request.account),
    keys: new Set([...grant.keys, ...request.fingerprint.keys]),
    country: request.fingerprint.country,
    prefix: request.fingerprint.prefix,
    heldFrom: sentAt,
    expiresAt: sentAt + grant.ttlMs - margin,
    risk,
    limits,
    requestsLeft: grant.requests,
    inputLeft: grant.inputTokens,
    outputLeft: grant.outputTokens,
    inFlight: firstRequest ? new Map([[firstLeaseId(grant), first]]) : new Map(),
    admitted: firstRequest ? 1 : 0,
    inputCharged: first.inputTokens,
    outputCharged: first.outputTokens,
    ended: false,
  };
}

/**
 * Whether this request may be admitted within the allowance: "fits"; "spent" when the allowance has
 * run out (requests, tokens, time); "changed" when the request shows something the object must see.
 * Slots taken is neither: the request goes to the object, and the allowance goes on.
 */
export type LocalFit = "fits" | "spent" | "changed" | "busy";

export function localFit(held: HeldAllowance, request: AdmitRequest, knownVerdict: boolean, now: number): LocalFit {
  if (request.signals.length > 0 || request.reasons.length > 0 || request.deny !== null || knownVerdict) return "changed";
  if ((request.units ?? 1) !== 1) return "changed";
  if (request.fingerprint.country !== held.country || request.fingerprint.prefix !== held.prefix) return "changed";
  if (request.policyJson !== held.policyJson || profileText(request.account) !== held.account) return "changed";
  for (const key of request.fingerprint.keys) if (!held.keys.has(key)) return "changed";
  if (now >= held.expiresAt || held.requestsLeft < 1) return "spent";
  const estimate = estimateOf(request);
  if (estimate.inputTokens > held.inputLeft || estimate.outputTokens > held.outputLeft) return "spent";
  if (held.inFlight.size >= held.grant.slots) return "busy";
  return "fits";
}

function estimateOf(request: AdmitRequest): TokenEstimate {
  return { inputTokens: tokenCount(request.estimate.inputTokens), outputTokens: tokenCount(request.estimate.outputTokens) };
}

/** Admits the request within the allowance (after `localFit` said "fits"); returns its lease id and what the object is told. */
export function admitWithin(held: HeldAllowance, request: AdmitRequest, now: number): { leaseId: string; admission: LocalAdmission } {
  const estimate = estimateOf(request);
  held.admitted++;
  held.requestsLeft--;
  held.inputLeft -= estimate.inputTokens;
  held.outputLeft -= estimate.outputTokens;
  held.inputCharged += estimate.inputTokens;
  held.outputCharged += estimate.outputTokens;
  const leaseId = `${held.grant.id}:${held.admitted}`;
  held.inFlight.set(leaseId, estimate);
  const fp = request.fingerprint;
  return {
    leaseId,
    admission: {
      requestId: request.requestId, at: now, keys: fp.keys, country: fp.country, prefix: fp.prefix, model: fp.model,
      elicitation: fp.elicitation, ...estimate, allowance: held.grant.id,
    },
  };
}

/**
 * Settles a request admitted within the allowance: its slot is free again, and its charge becomes what
 * the origin reported (by the same rule as the object's settle). What it did not use can be admitted
 * again; an overrun is charged. False when the lease is not this allowance's.
 */
export function settleWithin(held: HeldAllowance, settle: SettleRequest): boolean {
  const reserved = held.inFlight.get(settle.leaseId);
  if (!reserved) return false;
  held.inFlight.delete(settle.leaseId);
  const usage = settledUsage(settle, reserved.outputTokens);
  if (!usage) return true;
  const dIn = tokenCount(usage.inputTokens) - reserved.inputTokens;
  const dOut = tokenCount(usage.outputTokens) - reserved.outputTokens;
  held.inputCharged += dIn;
  held.outputCharged += dOut;
  held.inputLeft -= dIn;
  held.outputLeft -= dOut;
  return true;
}

/**
 * Whether to ask for the next allowance now, in the background: once half of this one's requests are
 * gone, or three quarters of its time, so the next is there before this one runs out and no request
 * waits for it. By time only late: an account slower than its allowance (the object sizes by rate,
 * with room for twice it) would otherwise take a new one every half ttl, a call and rows each.
 */
export function wantsRenewal(held: HeldAllowance, now: number): boolean {
  if (held.ended) return false;
  return held.requestsLeft * 2 <= held.grant.requests || (now - held.heldFrom) * 4 >= (held.expiresAt - held.heldFrom) * 3;
}

/** Ended or out of time, with nothing in flight: ready to be given back. */
export function isReturnable(held: HeldAllowance, now: number): boolean {
  return (held.ended || now >= held.expiresAt) && held.inFlight.size === 0;
}

export function returnOf(held: HeldAllowance): AllowanceReturn {
  return { id: held.grant.id, requests: held.admitted, inputTokens: Math.max(0, held.inputCharged), outputTokens: Math.max(0, held.outputCharged) };
}

/** The rate-limit snapshot a local admission answers with: the grant's, counted down by what this allowance admitted. */
export function localSnapshot(held: HeldAllowance): RateLimitSnapshot {
  const { limits } = held;
  const less = (c: { limit: number; remaining: number }, used: number) => ({ limit: c.limit, remaining: Math.max(0, c.remaining - used) });
  return {
    ...limits,
    requests: less(limits.requests, held.admitted),
    inputTokens: less(limits.inputTokens, Math.max(0, held.inputCharged)),
    outputTokens: less(limits.outputTokens, Math.max(0, held.outputCharged)),
  };
}
