/**
 * Step 5 — admit. At most one synchronous RPC to the account's Durable Object:
 * counters, adaptive quota and cached cluster verdicts answer allow / tag /
 * degrade / throttle / block. A low-risk account's object may grant this
 * isolate an allowance with the answer; the account's next requests are then
 * admitted here, within it, until it runs out or a request shows anything the
 * object must see (worker/allowance.ts, lib/quota/allowance.ts). A failed call is retried only when the error says
 * `retryable` and not `overloaded` (lib/retry.ts). After that, an overloaded
 * object is answered for by the isolate's backstop (policy `overloadMode`,
 * worker/backstop.ts), and an unreachable one by the policy's fail mode.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AdmitRequest, AdmitResult, RateLimitSnapshot } from "../lib/decision.ts";
import { clusterKeysOf, type Capability } from "../lib/fingerprint/index.ts";
import { capabilityOf } from "../lib/fingerprint/content.ts";
import { accountObjectName } from "../lib/names.ts";
import { isShadow, policyText, tierLimits, type Policy, type RiskSignal } from "../lib/policy/index.ts";
import { withRetry, type RetryOptions } from "../lib/retry.ts";
import {
  admitWithinAllowance,
  allowanceFields,
  awaitAllowanceRenewal,
  flushAllowanceReport,
  installAllowance,
  msUntilAllowanceEnds,
  renewAllowance,
  restoreReport,
  trackRenewal,
} from "./allowance.ts";
import { answerFromBackstop, rememberAdmit } from "./backstop.ts";
import type { AppEnv } from "./context.ts";
import { GatewayError } from "./errors.ts";
import { returnPendingSettles, takePendingSettles } from "./settle.ts";
import { attachVerdicts, learnVerdicts, readCollectorFeed } from "./verdicts.ts";

export type AdmitOptions = {
  /** How a failed call to the account object is retried (lib/retry.ts defaults). */
  retry?: RetryOptions;
};

/** Output tokens a Messages request may generate: its max_tokens (or the policy's default) or its thinking budget. */
export function outputReservation(capability: Capability, policy: Policy): number {
  const maxTokens = capability.maxTokens ?? policy.limits.defaultMaxTokens;
  const thinkingBudget = capability.thinking ? (capability.thinkingBudget ?? 0) : 0;
  return Math.max(maxTokens, thinkingBudget);
}

/** Output tokens a batch's requests may generate, summed. */
export function batchOutputReservation(contained: readonly Record<string, unknown>[], policy: Policy): number {
  let outputTokens = 0;
  for (const params of contained) outputTokens += outputReservation(capabilityOf(params), policy);
  return outputTokens;
}

/**
 * What the route will generate: a message its input and max_tokens; a batch the sum over the requests
 * it holds, and as many units; a route that generates nothing one bare request, so nothing is reserved
 * that its answer (which has no usage) would never give back.
 */
function estimateFor(c: Context<AppEnv>): { estimate: AdmitRequest["estimate"]; units?: number } {
  const policy = c.get("policy");
  const inputTokens = Math.ceil((c.get("body").bytes?.byteLength ?? 0) / policy.limits.bytesPerInputToken);
  const meter = c.get("endpoint").meter;
  if (meter === "request") return { estimate: { inputTokens: 0, outputTokens: 0 } };
  const contained = c.get("body").contained;
  if (meter === "batch" && contained) {
    return { estimate: { inputTokens, outputTokens: batchOutputReservation(contained, policy) }, units: contained.length };
  }
  return { estimate: { inputTokens, outputTokens: outputReservation(c.get("fingerprint").capability, policy) } };
}

/** Everything admission needs, gathered from the earlier steps. */
export function admitRequestFrom(c: Context<AppEnv>): AdmitRequest {
  const policy = c.get("policy");
  const fp = c.get("fingerprint");
  const region = c.get("region");
  const batch = c.get("batch");
  const signals: RiskSignal[] = [...region.signals];
  const reasons = [...region.reasons];
  if (fp.elicitation.score >= policy.fingerprint.elicitationSignalThreshold) {
    signals.push("cot_elicitation");
    reasons.push("content.elicitation");
  }
  if (fp.client.mismatch) {
    signals.push("client_mismatch");
    reasons.push("client.tls_mismatch");
  }
  const { estimate, units } = estimateFor(c);
  return {
    account: c.get("account"),
    policyJson: policyText(policy),
    estimate,
    ...(units === undefined ? {} : { units }),
    signals,
    reasons,
    fingerprint: {
      keys: clusterKeysOf(fp, policy),
      country: region.country,
      prefix: fp.network.prefix,
      model: fp.capability.model ?? "unknown",
      elicitation: fp.elicitation.score,
      thinking: fp.capability.thinking,
      ...(batch ? { elicitedShare: batch.elicitedShare } : {}),
    },
    deny: region.deny ? { reason: region.deny.reason, status: 403 } : null,
    requestId: c.get("requestId"),
  };
}

/** The snapshot used when the account object could not be asked (fail-open, backstop). */
function unknownLimits(policy: Policy, tier: string): RateLimitSnapshot {
  const limits = tierLimits(policy, tier);
  return {
    windowSeconds: policy.limits.windowSeconds,
    resetSeconds: policy.limits.windowSeconds,
    requests: { limit: limits.requests, remaining: limits.requests },
    inputTokens: { limit: limits.inputTokens, remaining: limits.inputTokens },
    outputTokens: { limit: limits.outputTokens, remaining: limits.outputTokens },
  };
}

/** The answer when the account object cannot be reached: `failMode` decides. */
function unavailableDecision(policy: Policy, request: AdmitRequest): AdmitResult {
  if (policy.failMode === "closed") {
    throw new GatewayError("overloaded_error", "The service is temporarily unable to take this request", {
      headers: { "retry-after": "1" },
    });
  }
  return {
    action: request.deny ? "block" : "allow",
    // A region deny keeps its shadow setting when the object is away; a plain allow is simply enforced.
    enforced: request.deny === null || !isShadow(policy, "region"),
    reasons: [...request.reasons, "admit.unavailable_fail_open"],
    risk: 0,
    leaseId: null,
    retryAfterSeconds: 0,
    limits: unknownLimits(policy, request.account.tier),
    clusters: [],
  };
}

/**
 * The isolate's answer while the account object is overloaded. A region deny still blocks; the rest is the
 * backstop's (lib/backstop.ts), or 429 for all under `overloadMode: "closed"`. Nothing is metered by the
 * object, so nothing holds a lease.
 */
function overloadDecision(policy: Policy, request: AdmitRequest, knownConfirmedCluster: boolean): AdmitResult {
  const limits = unknownLimits(policy, request.account.tier);
  const base = { risk: 0, leaseId: null, retryAfterSeconds: 0, limits, clusters: [] };
  const reasons = [...request.reasons, "admit.overloaded"];
  if (request.deny) return { ...base, action: "block", enforced: !isShadow(policy, "region"), reasons };
  if (policy.overloadMode === "closed") {
    return { ...base, action: "throttle", enforced: true, retryAfterSeconds: 1, reasons: [...reasons, "backstop.closed"] };
  }
  const answer = answerFromBackstop(request.account.id, {
    fallbackLimit: limits.requests.limit,
    windowMs: policy.limits.windowSeconds * 1000,
    safetyFactor: policy.overloadSafetyFactor,
    knownConfirmedCluster,
  });
  switch (answer.kind) {
    case "block":
      // The object's own enforced block (override or risk), remembered: nothing to hold back in shadow mode.
      return { ...base, action: "block", enforced: true, reasons: [...reasons, answer.reason] };
    case "throttle":
      return {
        ...base,
        action: "throttle",
        enforced: !isShadow(policy, answer.reason === "backstop.cluster" ? "cluster" : "account_quota"),
        retryAfterSeconds: answer.retryAfterSeconds,
        reasons: [...reasons, answer.reason],
      };
    case "admit":
      return { ...base, action: answer.degrade ? "degrade" : "allow", enforced: true, reasons: [...reasons, "backstop.admitted"] };
  }
}

export async function callAdmit(env: Env, request: AdmitRequest, retry: RetryOptions = {}): Promise<AdmitResult> {
  const accountId = request.account.id;
  const stub = env.ACCOUNTS.getByName(accountObjectName(accountId));
  // Earlier answers of this account that finished in this isolate ride along: no extra call.
  const settles = takePendingSettles(accountId);
  const sentAt = Date.now();
  const allowance = allowanceFields(accountId, sentAt);
  const sent: AdmitRequest = { ...request, ...allowance, ...(settles.length > 0 ? { settles } : {}) };
  const call = withRetry(() => stub.admit(sent), retry);
  if (allowance.wantsAllowance) trackRenewal(accountId, call);
  try {
    const result = await call;
    installAllowance(request, result, sentAt);
    return result;
  } catch (err) {
    returnPendingSettles(accountId, settles);
    restoreReport(accountId, allowance.report);
    throw err;
  }
}

/**
 * The answer from the account's allowance in this isolate, or null when the object must be asked. The
 * request that spends half of it asks for the next one in the background; a request that finds it
 * spent while the call for the next one is out (only when that call is slow, or the account sped up)
 * waits for that call (one call for all of them) and tries again.
 */
async function admitLocally(c: Context<AppEnv>, request: AdmitRequest, carriesVerdict: boolean): Promise<AdmitResult | null> {
  const accountId = request.account.id;
  let outcome = admitWithinAllowance(request, carriesVerdict, Date.now());
  if ("miss" in outcome && (outcome.miss === "none" || outcome.miss === "spent") && (await awaitAllowanceRenewal(accountId))) {
    outcome = admitWithinAllowance(request, carriesVerdict, Date.now());
  }
  if ("miss" in outcome) return null;
  // The renewal's own timer reports by the end of the allowance it brings: one timer serves both.
  if (outcome.renew) c.executionCtx.waitUntil(renewAllowance(c.env, request));
  else reportByAllowanceEnd(c, accountId);
  return outcome.decision;
}

/**
 * What the account's allowance admits reaches the object on the account's next call, or at the latest
 * when the allowance ends; so does the allowance itself, given back unused by a burst that stopped.
 */
function reportByAllowanceEnd(c: Context<AppEnv>, accountId: string): void {
  const flush = flushAllowanceReport(c.env, accountId, msUntilAllowanceEnds(accountId, Date.now()));
  if (flush) c.executionCtx.waitUntil(flush);
}

/** The object's answer; when it came with an allowance, the timer that gives it back at its end. */
async function admitByObject(c: Context<AppEnv>, request: AdmitRequest, retry: RetryOptions): Promise<AdmitResult> {
  const result = await callAdmit(c.env, request, retry);
  if (result.allowance) reportByAllowanceEnd(c, request.account.id);
  return result;
}

export function admit(options: AdmitOptions = {}) {
  const retry = options.retry ?? {};
  return createMiddleware<AppEnv>(async function admit(c, next) {
    const policy = c.get("policy");
    const account = c.get("account");
    const request = admitRequestFrom(c);
    const knownConfirmed = attachVerdicts(request, policy);
    let decision: AdmitResult;
    try {
      // A verdict the isolate knows on this request's keys (or the end of one) is for the object to weigh.
      decision = (await admitLocally(c, request, request.verdicts !== undefined)) ?? (await admitByObject(c, request, retry));
      learnVerdicts(request, decision, policy);
      rememberAdmit(account.id, decision, request.deny !== null, policy.overloadSafetyFactor);
      const feedRead = readCollectorFeed(c.env, account.id, policy);
      if (feedRead) c.executionCtx.waitUntil(feedRead);
    } catch (err) {
      const e = err as (Error & { overloaded?: boolean }) | undefined;
      const overloaded = e?.overloaded === true;
      console.error(JSON.stringify({
        msg: overloaded ? "account object overloaded" : "account object unavailable",
        requestId: c.get("requestId"),
        account: account.id,
        overloaded,
        error: e?.message,
        failMode: policy.failMode,
        overloadMode: overloaded ? policy.overloadMode : undefined,
      }));
      decision = overloaded ? overloadDecision(policy, request, knownConfirmed) : unavailableDecision(policy, request);
    }
    c.set("decision", decision);
    // A request above the account's whole standing limit: published policy, so the message names the limit.
    if (decision.enforced && decision.refusal) throw new GatewayError("invalid_request_error", decision.refusal);
    if (decision.enforced && decision.action === "block") {
      throw new GatewayError("permission_error", "This request is not permitted");
    }
    if (decision.enforced && decision.action === "throttle") {
      throw new GatewayError("rate_limit_error", "Rate limit exceeded; retry later", {
        headers: { "retry-after": String(Math.max(1, Math.ceil(decision.retryAfterSeconds))) },
      });
    }
    await next();
  });
}
