/** Where requests and accounts may come from, and what hides it (lib/region/). */
import { HOSTING_ASN_SEED, VPN_ASN_SEED } from "../region/asn-seed.ts";
import * as z from "../zod.ts";
import { intFrom, nonNegInt, section, strings } from "./fields.ts";

const regionAction = z.enum(["allow", "risk", "deny"]);

/** ISO 3166-1 alpha-2, plus Cloudflare's `T1` (Tor) and `XX` (unknown). */
const countryCode = z
  .string()
  .check(z.regex(/^[A-Z]{2}$/, "must be an upper-case ISO 3166-1 alpha-2 code such as \"US\""));

export const regionsSchema = section({
  /** Request countries refused outright (403). */
  deniedCountries: z._default(z.array(countryCode), []),
  /** Accounts billed in these countries are refused on every request. Defaults to deniedCountries when unset. */
  deniedBillingCountries: z.optional(z.array(countryCode)),
  /** Tor exit traffic (country T1). */
  tor: z._default(regionAction, "risk"),
  /** Unknown country (XX or missing). */
  unknownCountry: z._default(regionAction, "allow"),
  /**
   * ASN lists by category; operators update them in KV without a deploy. Hosting and VPN default to
   * the well-known clouds and VPN-heavy hosters of lib/region/asn-seed.ts: their standing risk signal
   * stays below quota.riskFloor and actions.degrade, so by itself it neither slows nor degrades honest cloud customers.
   */
  asnCategories: section({
    hosting: z._default(z.array(nonNegInt), HOSTING_ASN_SEED.map((entry) => entry.asn)),
    vpn: z._default(z.array(nonNegInt), VPN_ASN_SEED.map((entry) => entry.asn)),
    residentialProxy: z._default(z.array(nonNegInt), []),
  }),
  /** What a request from a categorised ASN does. */
  asnAction: z._default(regionAction, "risk"),
  /** Accounts exempt from the region checks. */
  exemptAccounts: z._default(strings, []),
  /** Tiers exempt from the region checks. */
  exemptTiers: z._default(strings, []),
  /** Distinct countries per account per day above which the account "wanders". */
  wanderCountries: z._default(intFrom(1), 4),
  /** Distinct /24 or /48 prefixes per account per day above which the account "wanders". */
  wanderPrefixes: z._default(intFrom(1), 32),
  /**
   * A request whose country differs from the account's billing country AND that comes through a route hiding
   * the client (a VPN or residential-proxy ASN, or a tunnel-like RTT): the shape of dodging a regional
   * restriction. A hosting ASN alone is not hiding (CI and backends run there), nor is either part alone.
   */
  evasion: z._default(regionAction, "risk"),
  /** Extra RTT (ms) above what the client↔colo distance allows before it looks like a tunnel. */
  tunnelRttSlackMs: z._default(z.number().check(z.minimum(0)), 80),
});
