/**
 * Adaptive quota: quota(account) = base(tier) × verification × orgType × f(risk)
 * × operator multiplier. Cluster caps are a separate, extra request limit
 * (see action.ts) because they are enforced under their own rule.
 */
import type { AccountProfile } from "../decision.ts";
import { orgTypeMultiplier, tierLimits, type Policy, type TierLimits } from "../policy/index.ts";

/**
 * f(risk): 1 up to `quota.riskFloor`, then falling linearly to
 * `quota.minRiskMultiplier` at risk 100.
 */
export function riskMultiplier(risk: number, quota: Policy["quota"]): number {
  const { riskFloor, minRiskMultiplier } = quota;
  if (risk <= riskFloor || riskFloor >= 100) return 1;
  const t = Math.min(1, (risk - riskFloor) / (100 - riskFloor));
  return 1 - (1 - minRiskMultiplier) * t;
}

/** Everything but risk: what the account's standing alone earns it. */
export function standingMultiplier(policy: Policy, account: Pick<AccountProfile, "verified" | "orgType">): number {
  const verified = account.verified ? policy.quota.verifiedMultiplier : 1;
  const org = orgTypeMultiplier(policy, account.orgType);
  return verified * org;
}

/**
 * A scaled limit. A positive multiplier never scales a positive limit below 1:
 * shrinking quotas slow an account down, and stopping it is the block action's
 * job. A zero multiplier (an operator's quota override of 0) does stop it.
 */
export function scaleLimit(base: number, multiplier: number): number {
  if (base <= 0 || multiplier <= 0) return 0;
  // The epsilon keeps 100 × (1 − 0.9) from flooring to 9 through binary rounding.
  return Math.max(1, Math.floor(base * multiplier + 1e-9));
}

export function effectiveLimits(
  policy: Policy,
  account: Pick<AccountProfile, "tier" | "verified" | "orgType">,
  risk: number,
  overrideMultiplier: number | null,
): TierLimits {
  const base = tierLimits(policy, account.tier);
  const m = standingMultiplier(policy, account) * riskMultiplier(risk, policy.quota) * (overrideMultiplier ?? 1);
  return {
    requests: scaleLimit(base.requests, m),
    inputTokens: scaleLimit(base.inputTokens, m),
    outputTokens: scaleLimit(base.outputTokens, m),
    exchangesPerDay: scaleLimit(base.exchangesPerDay, m),
    concurrency: scaleLimit(base.concurrency, m),
  };
}
