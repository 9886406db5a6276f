/** AccountDO — placeholder: admits everything. Replaced by the per-account counters. */
import { DurableObject } from "cloudflare:workers";
import type { AdmitRequest, AdmitResult, SettleRequest } from "../lib/decision.ts";
import { tierLimits } from "../lib/policy.ts";

export class AccountDO extends DurableObject<Env> {
  async admit(request: AdmitRequest): Promise<AdmitResult> {
    const limits = tierLimits(request.policy, request.account.tier);
    return {
      action: request.deny ? "block" : "allow",
      enforced: request.deny !== null,
      reasons: request.deny ? [request.deny.reason, ...request.reasons] : request.reasons,
      risk: 0,
      leaseId: crypto.randomUUID(),
      retryAfterSeconds: 0,
      limits: {
        windowSeconds: request.policy.limits.windowSeconds,
        resetSeconds: request.policy.limits.windowSeconds,
        requests: { limit: limits.requests, remaining: limits.requests },
        inputTokens: { limit: limits.inputTokens, remaining: limits.inputTokens },
        outputTokens: { limit: limits.outputTokens, remaining: limits.outputTokens },
      },
      clusters: [],
    };
  }

  async settle(_request: SettleRequest): Promise<void> {}
}
