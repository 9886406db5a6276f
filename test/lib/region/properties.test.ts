import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RISK_SIGNALS } from "../../../lib/policy/index.ts";
import { evaluateRegion } from "../../../lib/region/index.ts";
import { policyWith, type RegionsInput } from "./helpers.ts";

const country = fc.oneof(
  fc.constantFrom("US", "DE", "KP", "T1", "XX", "us", "", "USA", " DE "),
  fc.string({ maxLength: 4 }),
  fc.anything(),
);

/** cf-shaped objects: the real field names with values of any type, plus arbitrary extra keys. */
const cfLike = fc.record(
  {
    country,
    asn: fc.oneof(fc.integer(), fc.constantFrom(16509, 9009, "16509"), fc.anything()),
    colo: fc.oneof(fc.constantFrom("FRA", "LAX", "ZZZ", "fra"), fc.anything()),
    latitude: fc.oneof(fc.double(), fc.string(), fc.anything()),
    longitude: fc.oneof(fc.double(), fc.string(), fc.anything()),
    clientTcpRtt: fc.oneof(fc.double(), fc.anything()),
  },
  { requiredKeys: [] },
);

const strict: RegionsInput = {
  deniedCountries: ["KP"],
  tor: "deny",
  unknownCountry: "deny",
  asnCategories: { hosting: [16509], vpn: [9009] },
  asnAction: "risk",
};
const strictPolicy = policyWith(strict);
const policies = [policyWith(), strictPolicy];
const account = fc.record({
  id: fc.string(),
  tier: fc.string(),
  billingCountry: fc.option(fc.oneof(fc.constantFrom("US", "KP", "XX"), fc.string()), { nil: undefined }),
});

describe("evaluateRegion properties", () => {
  it("should never throw and always return a well-formed verdict, for any cf value", () => {
    fc.assert(
      fc.property(fc.oneof(cfLike, fc.object(), fc.anything()), account, fc.constantFrom(...policies), (cf, acct, policy) => {
        const v = evaluateRegion({ cf, account: acct, policy });
        expect(v.country).toMatch(/^([A-Z]{2}|T1)$/);
        for (const signal of v.signals) expect(RISK_SIGNALS).toContain(signal);
        expect(new Set(v.signals).size).toBe(v.signals.length);
        if (v.deny !== null) expect(v.reasons).toContain(v.deny.reason);
        if (v.exempt) expect(v).toMatchObject({ deny: null, signals: [], reasons: [] });
      }),
      { numRuns: 2_000 },
    );
  });

  it("should never admit a request whose country it could not read when unknown is denied", () => {
    fc.assert(
      fc.property(cfLike, account, (cf, acct) => {
        const v = evaluateRegion({ cf, account: acct, policy: strictPolicy });
        if (v.country === "XX") expect(v.deny).not.toBeNull();
        if (v.country === "T1" || v.country === "KP") expect(v.deny).not.toBeNull();
      }),
      { numRuns: 2_000 },
    );
  });
});
