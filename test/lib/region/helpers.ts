/** Shared fixtures for the region tests: a parsed policy and a plain account. */
import { policySchema, type Policy, type PolicyInput } from "../../../lib/policy/index.ts";

export type RegionsInput = NonNullable<PolicyInput["regions"]>;

export function policyWith(regions: RegionsInput = {}): Policy {
  return policySchema.parse({ regions });
}

export const ACCOUNT = { id: "acct-1", tier: "build", billingCountry: "US" } as const;

/** A US client at a US colo with a plausible RTT: trips nothing under any policy except explicit lists. */
export const CLEAN_US_CF = {
  country: "US",
  asn: 7922,
  colo: "IAD",
  latitude: "38.90",
  longitude: "-77.03",
  clientTcpRtt: 12,
} as const;
