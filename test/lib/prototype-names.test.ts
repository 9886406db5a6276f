/**
 * Names from clients and operators (tiers, org types, model names) used as map keys: a name that is
 * also a property of every object (`constructor`, `__proto__`, `toString`) must be an ordinary name.
 */
import { describe, expect, it } from "vitest";
import { emptyCounts, mergeCounts } from "../../lib/cluster/rollup.ts";
import { ReportBuffer } from "../../lib/cluster/report.ts";
import { DEFAULT_POLICY, orgTypeMultiplier, tierLimits, validatePolicy } from "../../lib/policy/index.ts";

const INHERITED = ["constructor", "__proto__", "toString", "hasOwnProperty"];

describe("policy lookups by name", () => {
  it.each(INHERITED)("should give a tier named %s the default tier's limits, all finite", (tier) => {
    const limits = tierLimits(DEFAULT_POLICY, tier);
    expect(limits).toEqual(tierLimits(DEFAULT_POLICY, DEFAULT_POLICY.defaultTier));
    for (const value of Object.values(limits)) expect(Number.isFinite(value)).toBe(true);
  });

  it.each(INHERITED)("should give an org type named %s the multiplier 1", (orgType) => {
    expect(orgTypeMultiplier(DEFAULT_POLICY, orgType)).toBe(1);
  });

  it("should still apply a listed org type", () => {
    const result = validatePolicy({ quota: { orgTypeMultipliers: { university: 0.5 } } });
    expect(result.ok && orgTypeMultiplier(result.policy, "university")).toBe(0.5);
  });

  it("should refuse a policy whose defaultTier names no defined tier, even an inherited name", () => {
    const result = validatePolicy({ defaultTier: "constructor" });
    expect(result.ok).toBe(false);
  });
});

describe("cluster report counts by client-chosen model name", () => {
  it("should count models named constructor and __proto__ like any other", () => {
    const buffer = new ReportBuffer();
    for (const model of ["constructor", "__proto__", "constructor", "__proto__"]) {
      buffer.add({ at: 1_000, keys: ["asn:1"], bands: ["toString"], model, inputTokens: 1, outputTokens: 1, elicited: false });
    }
    const counts = buffer.drain("acct")?.keys["asn:1"];
    expect(counts?.models).toEqual(Object.fromEntries([["constructor", 2], ["__proto__", 2]]));
    expect(Object.hasOwn(counts?.models ?? {}, "__proto__")).toBe(true);
    expect(counts?.bands).toEqual({ toString: 4 });

    const merged = emptyCounts();
    if (counts) mergeCounts(merged, counts);
    if (counts) mergeCounts(merged, counts);
    expect(Object.entries(merged.models)).toEqual([["constructor", 4], ["__proto__", 4]]);
  });
});
