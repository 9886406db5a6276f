import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, validatePolicy } from "../../../lib/policy.ts";
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
  it("should not be applied by default", () => {
    expect(DEFAULT_POLICY.regions.asnCategories).toEqual({ hosting: [], vpn: [], residentialProxy: [] });
    const v = evaluateRegion({ cf: { ...CLEAN_US_CF, asn: 16509 }, account: ACCOUNT, policy: DEFAULT_POLICY });
    expect(v.signals).toEqual([]);
  });

  it("should be a valid policy fragment that flags AWS and M247 once pasted", () => {
    const result = validatePolicy(ASN_SEED_POLICY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const aws = evaluateRegion({ cf: { ...CLEAN_US_CF, asn: 16509 }, account: ACCOUNT, policy: result.policy });
    expect(aws.signals).toEqual(["hosting_asn"]);
    const m247 = evaluateRegion({ cf: { ...CLEAN_US_CF, asn: 9009 }, account: ACCOUNT, policy: result.policy });
    expect(m247.signals).toEqual(["vpn_asn"]);
  });

  it("should list each ASN once across categories", () => {
    const all = [...HOSTING_ASN_SEED, ...VPN_ASN_SEED].map((entry) => entry.asn);
    expect(new Set(all).size).toBe(all.length);
  });
});
