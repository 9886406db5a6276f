import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, RISK_SIGNALS, isStandingSignal, validatePolicy } from "../../lib/policy/index.ts";

function problems(input: unknown) {
  const result = validatePolicy(input);
  return result.ok ? [] : result.problems;
}

describe("validatePolicy", () => {
  it("should name each problem of a malformed policy by its path, in words", () => {
    expect(
      problems({ tiers: { free: { requests: "20", inputTokens: 1, outputTokens: 1, exchangesPerDay: 1, concurrency: 1 } } }),
    ).toEqual([{ path: "tiers.free.requests", message: "Invalid input: expected number, received string" }]);
    expect(problems({ limits: { windowSeconds: 0, bogus: 1 }, cache: { keyCacheSize: 1.5 } })).toEqual([
      { path: "limits.windowSeconds", message: "Too small: expected number to be >=1" },
      { path: "limits", message: 'Unrecognized key: "bogus"' },
      { path: "cache.keyCacheSize", message: "Invalid input: expected int, received number" },
    ]);
    expect(problems({ risk: { weights: { tor: 101 } } })).toEqual([
      { path: "risk.weights.tor", message: "Too big: expected number to be <=100" },
    ]);
    expect(problems({ regions: { deniedCountries: ["US", "us"], asnCategories: { vpn: [-1] } } })).toEqual([
      { path: "regions.deniedCountries.1", message: 'must be an upper-case ISO 3166-1 alpha-2 code such as "US"' },
      { path: "regions.asnCategories.vpn.0", message: "Too small: expected number to be >=0" },
    ]);
    expect(problems({ clusters: { combinations: [["tls"], ["tls", "bogus"]] } }).map((p) => p.path)).toEqual([
      "clusters.combinations.0",
      "clusters.combinations.1.1",
    ]);
  });

  it("should refuse thresholds out of order as one problem on the section", () => {
    expect(problems({ actions: { tag: 50, degrade: 10 } })).toEqual([
      { path: "actions", message: "thresholds must satisfy tag <= degrade <= throttle <= block" },
    ]);
  });

  it("should refuse a document that is not a JSON object at the root path", () => {
    expect(problems("{").map((p) => p.path)).toEqual([""]);
    expect(problems([])).toEqual([{ path: "", message: "Invalid input: expected object, received array" }]);
  });

  it("should fill every absent field with its default", () => {
    expect(validatePolicy({})).toEqual({ ok: true, policy: DEFAULT_POLICY });
    expect(DEFAULT_POLICY.limits.windowSeconds).toBe(60);
    expect(DEFAULT_POLICY.tiers.free?.requests).toBe(20);
    expect(DEFAULT_POLICY.clusters.combinations).toEqual([["tls", "sdk"]]);
    expect(DEFAULT_POLICY.regions.deniedBillingCountries).toBeUndefined();
  });

  it("should keep the defaults of a section's other fields when one field is given", () => {
    const result = validatePolicy({ limits: { windowSeconds: 30 }, risk: { weights: { tor: 1 } } });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.policy.limits).toEqual({ ...DEFAULT_POLICY.limits, windowSeconds: 30 });
    expect(result.policy.risk.weights).toEqual({ ...DEFAULT_POLICY.risk.weights, tor: 1 });
  });
});

describe("risk signals", () => {
  it("should give every signal a default weight", () => {
    for (const signal of RISK_SIGNALS) expect(DEFAULT_POLICY.risk.weights[signal]).toBeGreaterThan(0);
  });

  it("should treat network and region facts as standing and behaviour as accumulating", () => {
    expect(RISK_SIGNALS.filter(isStandingSignal).sort()).toEqual(
      ["geo_wander", "hosting_asn", "proxy_asn", "region_evasion", "region_mismatch", "rtt_tunnel", "shared_indicator", "tor", "unknown_country", "vpn_asn"],
    );
  });
});
