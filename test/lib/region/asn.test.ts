import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, validatePolicy } from "../../../lib/policy/index.ts";
import { ASN_SEED_POLICY, HOSTING_ASN_SEED, VPN_ASN_SEED } from "../../../lib/region/asn-seed.ts";
import { asnCategoriesOf, evaluateRegion, isAsnIn, parseAsn } from "../../../lib/region/index.ts";
import { ACCOUNT, CLEAN_US_CF, policyWith } from "./helpers.ts";

describe("ASN categorisation", () => {
  const policy = policyWith({ asnCategories: { hosting: [16509, 14061], vpn: [9009], residentialProxy: [] } });

  it("should name every category an ASN is in", () => {
    expect(asnCategoriesOf(16509, policy)).toEqual(["hosting"]);
    expect(asnCategoriesOf(9009, policy)).toEqual(["vpn"]);
    expect(asnCategoriesOf(7922, policy)).toEqual([]);
    expect(asnCategoriesOf(null, policy)).toEqual([]);
    expect(isAsnIn(14061, "hosting", policy)).toBe(true);
    expect(isAsnIn(14061, "vpn", policy)).toBe(false);
    expect(isAsnIn(null, "hosting", policy)).toBe(false);
  });

  it("should answer for each policy from its own lists (no cross-policy cache bleed)", () => {
    const other = policyWith({ asnCategories: { hosting: [7922] } });
    expect(asnCategoriesOf(16509, policy)).toEqual(["hosting"]);
    expect(asnCategoriesOf(16509, other)).toEqual([]);
    expect(asnCategoriesOf(7922, other)).toEqual(["hosting"]);
    expect(asnCategoriesOf(7922, policy)).toEqual([]);
  });

  it("should parse only whole AS numbers in the 32-bit range", () => {
    expect(parseAsn(16509)).toBe(16509);
    expect(parseAsn("16509")).toBe(16509);
    expect(parseAsn(0)).toBe(0);
    expect(parseAsn(4_294_967_295)).toBe(4_294_967_295);
    for (const bad of [4_294_967_296, -1, 1.5, NaN, "AS16509", "x", "", " 1", null, undefined, {}, [1]]) {
      expect(parseAsn(bad), String(bad)).toBeNull();
    }
  });
});

describe("ASN seed list", () => {
  it("should be the default hosting and VPN lists, so a default gateway knows the well-known clouds", () => {
    expect(DEFAULT_POLICY.regions.asnCategories).toEqual({
      hosting: HOSTING_ASN_SEED.map((e) => e.asn),
      vpn: VPN_ASN_SEED.map((e) => e.asn),
      residentialProxy: [],
    });
    for (const [asn, signal] of [[16509, "hosting_asn"], [396982, "hosting_asn"], [8075, "hosting_asn"], [24940, "hosting_asn"], [9009, "vpn_asn"]] as const) {
      expect(evaluateRegion({ cf: { ...CLEAN_US_CF, asn }, account: ACCOUNT, policy: DEFAULT_POLICY }).signals, String(asn)).toEqual([signal]);
    }
    // A consumer ISP and Cloudflare (WARP: ordinary people) are not hosting.
    for (const asn of [7922, 13335]) expect(evaluateRegion({ cf: { ...CLEAN_US_CF, asn }, account: ACCOUNT, policy: DEFAULT_POLICY }).signals).toEqual([]);
  });

  it("should keep a cloud customer's standing hosting signal below the quota floor and the degrade threshold", () => {
    const { risk, quota, actions } = DEFAULT_POLICY;
    expect(risk.weights.hosting_asn).toBeLessThan(quota.riskFloor);
    expect(risk.weights.hosting_asn).toBeLessThan(actions.degrade);
    // Even beside a suspect cluster's membership signal.
    expect(risk.weights.hosting_asn + risk.weights.cluster_member).toBeLessThan(quota.riskFloor);
  });

  it("should restore the defaults as a policy fragment over an operator's empty lists", () => {
    const result = validatePolicy(ASN_SEED_POLICY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.regions.asnCategories).toEqual(DEFAULT_POLICY.regions.asnCategories);
    const emptied = validatePolicy({ regions: { asnCategories: { hosting: [], vpn: [] } } });
    expect(emptied.ok).toBe(true);
    if (!emptied.ok) return;
    expect(evaluateRegion({ cf: { ...CLEAN_US_CF, asn: 16509 }, account: ACCOUNT, policy: emptied.policy }).signals).toEqual([]);
  });

  it("should list each ASN once across categories", () => {
    const all = [...HOSTING_ASN_SEED, ...VPN_ASN_SEED].map((entry) => entry.asn);
    expect(new Set(all).size).toBe(all.length);
  });
});
