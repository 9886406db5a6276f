import { describe, expect, it } from "vitest";
import { policySchema } from "../../../lib/policy/index.ts";
import { effectiveLimits, riskMultiplier, scaleLimit } from "../../../lib/quota/index.ts";

const policy = policySchema.parse({
  tiers: { small: { requests: 100, inputTokens: 1_000, outputTokens: 500, exchangesPerDay: 1_000, concurrency: 4 } },
  defaultTier: "small",
  quota: { verifiedMultiplier: 2, orgTypeMultipliers: { university: 0.5 }, riskFloor: 20, minRiskMultiplier: 0.1 },
});
const plain = { tier: "small", verified: false, orgType: null };

describe("adaptive quota", () => {
  it("should give the tier's limits to an unverified, low-risk account", () => {
    expect(effectiveLimits(policy, plain, 0, null)).toEqual(policy.tiers.small);
  });

  it("should multiply by verification, organisation type and the operator's multiplier", () => {
    const l = effectiveLimits(policy, { tier: "small", verified: true, orgType: "university" }, 0, 3);
    expect(l.requests).toBe(300);
    expect(l.concurrency).toBe(12);
  });

  it("should shrink limits linearly above the risk floor down to the minimum multiplier", () => {
    expect(riskMultiplier(20, policy.quota)).toBe(1);
    expect(riskMultiplier(60, policy.quota)).toBeCloseTo(0.55, 9);
    expect(riskMultiplier(100, policy.quota)).toBeCloseTo(0.1, 9);
    expect(effectiveLimits(policy, plain, 100, null).requests).toBe(10);
  });

  it("should never scale a positive limit to zero unless the multiplier is zero", () => {
    expect(scaleLimit(4, 0.01)).toBe(1);
    expect(scaleLimit(4, 0)).toBe(0);
    expect(scaleLimit(0, 5)).toBe(0);
    expect(effectiveLimits(policy, plain, 0, 0).requests).toBe(0);
  });

  it("should fall back to the default tier for an unknown tier", () => {
    expect(effectiveLimits(policy, { ...plain, tier: "nope" }, 0, null).requests).toBe(100);
  });
});
