/**
 * Step 5 — admit. Exactly one synchronous RPC to the account's Durable Object:
 * counters, adaptive quota and cached cluster verdicts answer allow / tag /
 * degrade / throttle / block. A failed call is retried only when the error says
 * `retryable` and not `overloaded`; after that the policy's fail mode decides.
 */
import { createMiddleware } from "hono/factory";
import type { AdmitRequest, AdmitResult, RateLimitSnapshot } from "../lib/decision.ts";
import { accountObjectName } from "../lib/names.ts";
import { isShadow, tierLimits, type Policy } from "../lib/policy.ts";
import type { AppEnv } from "./context.ts";
import { GatewayError } from "./errors.ts";
import { admitRequestFrom } from "./fingerprint.ts";
import { returnPendingSettles, takePendingSettles } from "./settle.ts";
import { knownVerdicts, rememberVerdicts } from "./verdicts.ts";

const MAX_ATTEMPTS = 3;
const BASE_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 200;

type DoError = Error & { retryable?: boolean; overloaded?: boolean };

export function shouldRetry(err: unknown): boolean {
  const e = err as DoError;
  return e?.retryable === true && e?.overloaded !== true;
}

export async function withRetry<T>(call: () => Promise<T>, attempts = MAX_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !shouldRetry(err)) throw err;
      const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
}

/** The snapshot used when the account object could not be asked (fail-open). */
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

export async function callAdmit(env: Env, request: AdmitRequest): Promise<AdmitResult> {
  const stub = env.ACCOUNTS.getByName(accountObjectName(request.account.id));
  // Earlier answers of this account that finished in this isolate ride along: no extra call.
  const settles = takePendingSettles(request.account.id);
  try {
    return await withRetry(() => stub.admit(settles.length > 0 ? { ...request, settles } : request));
  } catch (err) {
    returnPendingSettles(request.account.id, settles);
    throw err;
  }
}

export function admit() {
  return createMiddleware<AppEnv>(async function admit(c, next) {
    const policy = c.get("policy");
    const account = c.get("account");
    const request = admitRequestFrom(c);
    const known = knownVerdicts(request.fingerprint.keys);
    if (known.length > 0) request.verdicts = known;
    let decision: AdmitResult;
    try {
      decision = await callAdmit(c.env, request);
      rememberVerdicts(decision.verdicts, policy.risk.verdictTtlSeconds);
    } catch (err) {
      const e = err as DoError;
      console.error(JSON.stringify({
        msg: "account object unavailable",
        requestId: c.get("requestId"),
        account: account.id,
        overloaded: e?.overloaded === true,
        error: e?.message,
        failMode: policy.failMode,
      }));
      if (policy.failMode === "closed") {
        throw new GatewayError("overloaded_error", "The service is temporarily unable to take this request", {
          headers: { "retry-after": "1" },
        });
      }
      decision = {
        action: request.deny ? "block" : "allow",
        // A region deny keeps its shadow setting when the object is away; a plain allow is simply enforced.
        enforced: request.deny === null || !isShadow(policy, "region"),
        reasons: [...request.reasons, "admit.unavailable_fail_open"],
        risk: 0,
        leaseId: null,
        retryAfterSeconds: 0,
        limits: unknownLimits(policy, account.tier),
        clusters: [],
      };
    }
    c.set("decision", decision);
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

