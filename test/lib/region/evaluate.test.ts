import { describe, expect, it } from "vitest";
import { evaluateRegion } from "../../../lib/region/index.ts";
import { ACCOUNT, CLEAN_US_CF, policyWith, type RegionsInput } from "./helpers.ts";

describe("evaluateRegion: clean traffic", () => {
  it("should pass a US client of a US account with the default policy", () => {
    const v = evaluateRegion({ cf: CLEAN_US_CF, account: ACCOUNT, policy: policyWith() });
    expect(v).toEqual({ deny: null, signals: [], reasons: [], country: "US", exempt: false });
  });

  it("should pass a request when the default policy meets missing cf", () => {
    for (const cf of [undefined, null, {}]) {
      const v = evaluateRegion({ cf, account: ACCOUNT, policy: policyWith() });
      expect(v).toEqual({ deny: null, signals: [], reasons: [], country: "XX", exempt: false });
    }
  });
});

describe("evaluateRegion: denied request countries", () => {
  const policy = policyWith({ deniedCountries: ["KP", "IR"] });

  it("should deny a request from a denied country", () => {
    const v = evaluateRegion({ cf: { ...CLEAN_US_CF, country: "KP" }, account: ACCOUNT, policy });
    expect(v.deny).toEqual({ reason: "region.country_denied" });
    expect(v.reasons).toContain("region.country_denied");
    expect(v.country).toBe("KP");
  });

  it("should read a lower-case or padded country as the same code, so case can't dodge the list", () => {
    for (const country of ["kp", " KP ", "Kp"]) {
      const v = evaluateRegion({ cf: { ...CLEAN_US_CF, country }, account: ACCOUNT, policy });
      expect(v.deny?.reason).toBe("region.country_denied");
    }
  });

  it("should not deny other countries", () => {
    const v = evaluateRegion({ cf: CLEAN_US_CF, account: ACCOUNT, policy });
    expect(v.deny).toBeNull();
  });

  it("should deny unknown countries when XX is listed, including a missing field", () => {
    const p = policyWith({ deniedCountries: ["XX"] });
    for (const cf of [undefined, {}, { country: "XX" }, { country: 5 }, { country: "USA" }]) {
      expect(evaluateRegion({ cf, account: ACCOUNT, policy: p }).deny?.reason).toBe("region.country_denied");
    }
  });
});

describe("evaluateRegion: denied billing countries", () => {
  it("should deny every request of an account billed in a denied country, wherever it comes from", () => {
    const policy = policyWith({ deniedBillingCountries: ["RU"] });
    const account = { ...ACCOUNT, billingCountry: "RU" };
    for (const cf of [CLEAN_US_CF, undefined, { country: "DE" }]) {
      expect(evaluateRegion({ cf, account, policy }).deny).toEqual({ reason: "region.billing_denied" });
    }
  });

  it("should default the billing list to deniedCountries", () => {
    const policy = policyWith({ deniedCountries: ["KP"] });
    const v = evaluateRegion({ cf: CLEAN_US_CF, account: { ...ACCOUNT, billingCountry: "KP" }, policy });
    expect(v.deny?.reason).toBe("region.billing_denied");
  });

  it("should use an explicit empty billing list instead of the default", () => {
    const policy = policyWith({ deniedCountries: ["KP"], deniedBillingCountries: [] });
    const v = evaluateRegion({ cf: CLEAN_US_CF, account: { ...ACCOUNT, billingCountry: "KP" }, policy });
    expect(v.deny).toBeNull();
  });

  it("should not deny accounts without a billing country when XX is only in deniedCountries", () => {
    const policy = policyWith({ deniedCountries: ["XX"] });
    for (const billingCountry of [null, undefined, "", "zz9"]) {
      const v = evaluateRegion({ cf: CLEAN_US_CF, account: { ...ACCOUNT, billingCountry }, policy });
      expect(v.deny).toBeNull();
    }
  });

  it("should deny accounts without a billing country when XX is listed for billing", () => {
    const policy = policyWith({ deniedBillingCountries: ["XX"] });
    const v = evaluateRegion({ cf: CLEAN_US_CF, account: { id: "a", tier: "free" }, policy });
    expect(v.deny?.reason).toBe("region.billing_denied");
  });

  it("should report the request country deny first when both apply", () => {
    const policy = policyWith({ deniedCountries: ["KP"] });
    const v = evaluateRegion({ cf: { country: "KP" }, account: { ...ACCOUNT, billingCountry: "KP" }, policy });
    expect(v.deny?.reason).toBe("region.country_denied");
    expect(v.reasons).toEqual(["region.country_denied", "region.billing_denied"]);
  });
});

describe("evaluateRegion: Tor", () => {
  const tor = { ...CLEAN_US_CF, country: "T1" };

  it("should raise the tor signal by default", () => {
    const v = evaluateRegion({ cf: tor, account: ACCOUNT, policy: policyWith() });
    expect(v.deny).toBeNull();
    expect(v.signals).toEqual(["tor"]);
    expect(v.reasons).toEqual(["region.tor"]);
    expect(v.country).toBe("T1");
  });

  it("should do nothing when tor is allowed", () => {
    const v = evaluateRegion({ cf: tor, account: ACCOUNT, policy: policyWith({ tor: "allow" }) });
    expect(v).toEqual({ deny: null, signals: [], reasons: [], country: "T1", exempt: false });
  });

  it("should deny, and still record the signal, when tor is denied", () => {
    const v = evaluateRegion({ cf: tor, account: ACCOUNT, policy: policyWith({ tor: "deny" }) });
    expect(v.deny).toEqual({ reason: "region.tor" });
    expect(v.signals).toEqual(["tor"]);
  });

  it("should not treat Tor as unknown or as a billing mismatch", () => {
    const v = evaluateRegion({ cf: tor, account: ACCOUNT, policy: policyWith({ unknownCountry: "deny" }) });
    expect(v.signals).not.toContain("unknown_country");
    expect(v.signals).not.toContain("region_mismatch");
    expect(v.deny).toBeNull();
  });
});

describe("evaluateRegion: unknown country", () => {
  const unknowns: unknown[] = [
    undefined,
    {},
    { country: "XX" },
    { country: "" },
    { country: 5 },
    { country: null },
    { country: ["US"] },
    { country: { code: "US" } },
    { country: "USA" },
    { country: "U1" },
  ];

  it("should allow unknown countries by default without a signal", () => {
    for (const cf of unknowns) {
      const v = evaluateRegion({ cf, account: ACCOUNT, policy: policyWith() });
      expect(v.signals).toEqual([]);
      expect(v.country).toBe("XX");
    }
  });

  it("should raise unknown_country when the action is risk", () => {
    for (const cf of unknowns) {
      const v = evaluateRegion({ cf, account: ACCOUNT, policy: policyWith({ unknownCountry: "risk" }) });
      expect(v.signals).toEqual(["unknown_country"]);
      expect(v.reasons).toEqual(["region.unknown_country"]);
      expect(v.deny).toBeNull();
    }
  });

  it("should deny a missing, empty or malformed country when the action is deny", () => {
    for (const cf of unknowns) {
      const v = evaluateRegion({ cf, account: ACCOUNT, policy: policyWith({ unknownCountry: "deny" }) });
      expect(v.deny, JSON.stringify(cf)).toEqual({ reason: "region.unknown_country" });
    }
  });

  it("should not let a client-style header field stand in for the country", () => {
    const cf = { "cf-ipcountry": "US", CF_IPCOUNTRY: "US", Country: "US" };
    const v = evaluateRegion({ cf, account: ACCOUNT, policy: policyWith({ unknownCountry: "deny" }) });
    expect(v.deny?.reason).toBe("region.unknown_country");
  });
});

describe("evaluateRegion: ASN categories", () => {
  const lists = { hosting: [16509], vpn: [9009], residentialProxy: [64512] };

  it("should raise the matching signal for each category with the default risk action", () => {
    const policy = policyWith({ asnCategories: lists });
    const cases = [
      [16509, "hosting_asn", "region.asn_hosting"],
      [9009, "vpn_asn", "region.asn_vpn"],
      [64512, "proxy_asn", "region.asn_proxy"],
    ] as const;
    for (const [asn, signal, reason] of cases) {
      const v = evaluateRegion({ cf: { ...CLEAN_US_CF, asn }, account: ACCOUNT, policy });
      expect(v.signals).toEqual([signal]);
      expect(v.reasons).toEqual([reason]);
      expect(v.deny).toBeNull();
    }
  });

  it("should deny a categorised ASN when asnAction is deny", () => {
    const policy = policyWith({ asnCategories: lists, asnAction: "deny" });
    const v = evaluateRegion({ cf: { ...CLEAN_US_CF, asn: 9009 }, account: ACCOUNT, policy });
    expect(v.deny).toEqual({ reason: "region.asn_vpn" });
  });

  it("should ignore categorised ASNs when asnAction is allow", () => {
    const policy = policyWith({ asnCategories: lists, asnAction: "allow" });
    const v = evaluateRegion({ cf: { ...CLEAN_US_CF, asn: 16509 }, account: ACCOUNT, policy });
    expect(v.signals).toEqual([]);
  });

  it("should raise every category an ASN is listed in", () => {
    const policy = policyWith({ asnCategories: { hosting: [9009], vpn: [9009] } });
    const v = evaluateRegion({ cf: { ...CLEAN_US_CF, asn: 9009 }, account: ACCOUNT, policy });
    expect(v.signals).toEqual(["hosting_asn", "vpn_asn"]);
  });

  it("should accept an ASN sent as a digit string", () => {
    const policy = policyWith({ asnCategories: lists });
    const v = evaluateRegion({ cf: { ...CLEAN_US_CF, asn: "16509" }, account: ACCOUNT, policy });
    expect(v.signals).toEqual(["hosting_asn"]);
  });

  it("should treat a wrong-typed or missing ASN as uncategorised", () => {
    const policy = policyWith({ asnCategories: { hosting: [0, 16509] }, asnAction: "deny" });
    for (const asn of ["x", "AS16509", 16509.5, -1, NaN, null, undefined, {}, [16509], true]) {
      const v = evaluateRegion({ cf: { ...CLEAN_US_CF, asn }, account: ACCOUNT, policy });
      expect(v.deny, String(asn)).toBeNull();
    }
  });
});

describe("evaluateRegion: billing vs request country", () => {
  it("should raise region_mismatch when both are known and differ", () => {
    const v = evaluateRegion({ cf: { country: "SG" }, account: ACCOUNT, policy: policyWith() });
    expect(v.signals).toEqual(["region_mismatch"]);
    expect(v.reasons).toEqual(["region.billing_mismatch"]);
    expect(v.deny).toBeNull();
  });

  it("should not raise it when they agree, whatever the case", () => {
    const v = evaluateRegion({ cf: { country: "us" }, account: { ...ACCOUNT, billingCountry: "US" }, policy: policyWith() });
    expect(v.signals).toEqual([]);
  });

  it("should not raise it when either side is unknown", () => {
    const policy = policyWith();
    expect(evaluateRegion({ cf: {}, account: ACCOUNT, policy }).signals).toEqual([]);
    for (const billingCountry of [null, undefined, "XX", "", "usa"]) {
      const v = evaluateRegion({ cf: { country: "SG" }, account: { ...ACCOUNT, billingCountry }, policy });
      expect(v.signals).toEqual([]);
    }
  });
});

describe("evaluateRegion: exemptions", () => {
  const strict: RegionsInput = {
    deniedCountries: ["KP"],
    tor: "deny",
    unknownCountry: "deny",
    asnCategories: { hosting: [16509] },
    asnAction: "deny",
  };
  const hostile = { country: "KP", asn: 16509, colo: "FRA", latitude: "50.11", longitude: "8.68", clientTcpRtt: 400 };

  it("should exempt a listed account from every check but still report the country", () => {
    const policy = policyWith({ ...strict, exemptAccounts: ["acct-1"] });
    const account = { ...ACCOUNT, billingCountry: "KP" };
    expect(evaluateRegion({ cf: hostile, account, policy })).toEqual({
      deny: null,
      signals: [],
      reasons: [],
      country: "KP",
      exempt: true,
    });
    expect(evaluateRegion({ cf: undefined, account, policy })).toMatchObject({ deny: null, country: "XX", exempt: true });
  });

  it("should exempt an account of a listed tier", () => {
    const policy = policyWith({ ...strict, exemptTiers: ["enterprise"] });
    const v = evaluateRegion({ cf: { ...hostile, country: "T1" }, account: { id: "big", tier: "enterprise" }, policy });
    expect(v).toEqual({ deny: null, signals: [], reasons: [], country: "T1", exempt: true });
  });

  it("should not exempt other accounts or tiers", () => {
    const policy = policyWith({ ...strict, exemptAccounts: ["acct-2"], exemptTiers: ["enterprise"] });
    const v = evaluateRegion({ cf: hostile, account: ACCOUNT, policy });
    expect(v.exempt).toBe(false);
    expect(v.deny?.reason).toBe("region.country_denied");
    expect(v.signals).toEqual(["hosting_asn", "region_mismatch", "rtt_tunnel", "region_evasion"]);
  });
});

describe("evaluateRegion: region evasion", () => {
  const lists = { hosting: [16276], vpn: [9009], residentialProxy: [64512] };
  // Billed in Vietnam; the exit geolocates in Frankfurt, next to the colo.
  const evader = { ...ACCOUNT, billingCountry: "VN" };
  const frankfurt = { country: "DE", colo: "FRA", latitude: "50.11", longitude: "8.68" };

  it("should flag a request from another country than the billing one through a VPN, a residential proxy or a tunnel", () => {
    const policy = policyWith({ asnCategories: lists });
    const routes = [
      { ...frankfurt, asn: 9009, clientTcpRtt: 6 },
      { ...frankfurt, asn: 64512, clientTcpRtt: 6 },
      // A hosting exit is not hiding by itself; the round trip to the real client far away is.
      { ...frankfurt, asn: 16276, clientTcpRtt: 290 },
    ];
    for (const cf of routes) {
      const v = evaluateRegion({ cf, account: evader, policy });
      expect(v.signals, String(cf.asn)).toContain("region_evasion");
      expect(v.reasons).toContain("region.evasion");
      expect(v.deny).toBeNull();
    }
  });

  it("should leave each part alone unflagged: billed abroad, on a VPN at home, or running CI on a host abroad", () => {
    const policy = policyWith({ asnCategories: lists });
    const billedAbroad = evaluateRegion({ cf: { ...frankfurt, asn: 3320, clientTcpRtt: 6 }, account: { ...ACCOUNT, billingCountry: "US" }, policy });
    expect(billedAbroad.signals).toEqual(["region_mismatch"]);
    const vpnAtHome = evaluateRegion({ cf: { ...frankfurt, asn: 9009, clientTcpRtt: 6 }, account: { ...ACCOUNT, billingCountry: "DE" }, policy });
    expect(vpnAtHome.signals).toEqual(["vpn_asn"]);
    const ciAbroad = evaluateRegion({ cf: { ...frankfurt, asn: 16276, clientTcpRtt: 3 }, account: { ...ACCOUNT, billingCountry: "US" }, policy });
    expect(ciAbroad.signals).toEqual(["hosting_asn", "region_mismatch"]);
    const unknownBilling = evaluateRegion({ cf: { ...frankfurt, asn: 9009, clientTcpRtt: 290 }, account: { ...ACCOUNT, billingCountry: null }, policy });
    expect(unknownBilling.signals).not.toContain("region_evasion");
  });

  it("should flag it from the ASN lists even when asnAction silences the ASN signals, and follow its own action", () => {
    const cf = { ...frankfurt, asn: 9009, clientTcpRtt: 6 };
    const silenced = evaluateRegion({ cf, account: evader, policy: policyWith({ asnCategories: lists, asnAction: "allow" }) });
    expect(silenced.signals).toEqual(["region_mismatch", "region_evasion"]);
    const off = evaluateRegion({ cf, account: evader, policy: policyWith({ asnCategories: lists, evasion: "allow" }) });
    expect(off.signals).toEqual(["vpn_asn", "region_mismatch"]);
    const refused = evaluateRegion({ cf, account: evader, policy: policyWith({ asnCategories: lists, evasion: "deny" }) });
    expect(refused.deny).toEqual({ reason: "region.evasion" });
  });

  it("Should leave a privacy VPN abroad under degrade, and take a tunnel or an eliciting prompt on top past it, never to throttle", () => {
    const policy = policyWith({ asnCategories: lists });
    const points = (cf: Record<string, unknown>) =>
      evaluateRegion({ cf, account: evader, policy }).signals.reduce((sum, signal) => sum + policy.risk.weights[signal], 0);
    const near = 12;
    const far = 290;
    // A VPN exit abroad with a near round trip: what an honest customer with a privacy VPN shows.
    expect(points({ ...frankfurt, asn: 9009, clientTcpRtt: near })).toBeLessThan(policy.actions.degrade);
    // The same with the request's own eliciting prompt (the per-account signal) reaches degrade.
    expect(points({ ...frankfurt, asn: 9009, clientTcpRtt: near }) + policy.risk.weights.cot_elicitation).toBeGreaterThanOrEqual(policy.actions.degrade);
    // The client far from its exit: an uncategorised exit tunnelled, with an eliciting prompt; a hosting exit tunnelled.
    expect(points({ ...frankfurt, asn: 3320, clientTcpRtt: far }) + policy.risk.weights.cot_elicitation).toBeGreaterThanOrEqual(policy.actions.degrade);
    expect(points({ ...frankfurt, asn: 16276, clientTcpRtt: far })).toBeGreaterThanOrEqual(policy.actions.degrade);
    // The most the shape carries (a VPN exit and a tunnel), with an eliciting prompt, is still under throttle.
    expect(points({ ...frankfurt, asn: 9009, clientTcpRtt: far }) + policy.risk.weights.cot_elicitation).toBeLessThan(policy.actions.throttle);
  });
});

describe("evaluateRegion: reading cf defensively", () => {
  it("should read a missing field as unknown when cf is not an object", () => {
    for (const cf of ["US", 42, true, [], () => "US"]) {
      const v = evaluateRegion({ cf, account: ACCOUNT, policy: policyWith({ unknownCountry: "deny" }) });
      expect(v.country).toBe("XX");
      expect(v.deny?.reason).toBe("region.unknown_country");
    }
  });

  it("should treat a throwing getter as a missing field", () => {
    const cf = Object.defineProperty({}, "country", {
      get(): never {
        throw new Error("boom");
      },
      enumerable: true,
    });
    const v = evaluateRegion({ cf, account: ACCOUNT, policy: policyWith({ unknownCountry: "deny" }) });
    expect(v.deny?.reason).toBe("region.unknown_country");
  });

  it("should decide from cf alone, whatever the client IP family", () => {
    // The region step never sees an IP: the same cf gives the same verdict for v4 and v6 clients.
    const policy = policyWith({ deniedCountries: ["KP"] });
    const v = evaluateRegion({ cf: { country: "KP", asn: 131279 }, account: ACCOUNT, policy });
    expect(v.deny?.reason).toBe("region.country_denied");
  });
});
