/**
 * The region step of the request path: what `request.cf` and the account's
 * billing country say about where a request comes from, turned into a hard
 * deny, risk signals, or nothing. Pure: no bindings, no clock, no I/O.
 */
import type { Policy, RiskSignal } from "../policy/index.ts";
import { ASN_CATEGORY_SIGNAL, asnCategoriesOf } from "./asn.ts";
import { cfField, countryLabel, parseAsn, parseColo, parseCountry, parseLatLon, parseRttMs, UNKNOWN_COUNTRY } from "./cf.ts";
import { REGION_REASONS } from "./reasons.ts";
import { judgeRtt } from "./rtt.ts";

export type RegionInput = {
  /**
   * `request.cf` as delivered. Typed `unknown` because it may be absent, typed
   * loosely by workers-types, or (in local simulation) client-written JSON.
   */
  cf: unknown;
  account: { id: string; tier: string; billingCountry?: string | null };
  policy: Policy;
};

export type RegionVerdict = {
  /** A hard refusal (403); `reason` is the first deny-causing code, in check order. */
  deny: null | { reason: string };
  /** Evidence for the account's risk score, each at most once. */
  signals: RiskSignal[];
  /** Every code that fired, deny-causing ones included, in check order. */
  reasons: string[];
  /** Request country: ISO code, "T1" for Tor, "XX" when missing or malformed. */
  country: string;
  /** The account or its tier is exempt: no deny, no signals, no reasons. */
  exempt: boolean;
};

type RegionAction = Policy["regions"]["tor"];
type Regions = Policy["regions"];
type CompiledRegions = {
  deniedCountries: ReadonlySet<string>;
  deniedBillingCountries: ReadonlySet<string>;
  exemptAccounts: ReadonlySet<string>;
  exemptTiers: ReadonlySet<string>;
};

// Exempt-account lists can run to thousands; build Sets once per parsed policy
// (policies are replaced, never mutated, so identity is a sound cache key).
const compiled = new WeakMap<Regions, CompiledRegions>();

function compile(regions: Regions): CompiledRegions {
  let c = compiled.get(regions);
  if (c === undefined) {
    c = {
      deniedCountries: new Set(regions.deniedCountries),
      // "XX" in deniedCountries means "refuse requests we cannot geolocate". It
      // must not silently become "refuse every account with no billing country"
      // through the default, so it only counts for billing when listed there.
      deniedBillingCountries: new Set(
        regions.deniedBillingCountries ?? regions.deniedCountries.filter((code) => code !== UNKNOWN_COUNTRY),
      ),
      exemptAccounts: new Set(regions.exemptAccounts),
      exemptTiers: new Set(regions.exemptTiers),
    };
    compiled.set(regions, c);
  }
  return c;
}

/** Accumulates the verdict; the first deny wins, later ones still add their reasons. */
class Findings {
  deny: { reason: string } | null = null;
  readonly signals: RiskSignal[] = [];
  readonly reasons: string[] = [];

  refuse(reason: string): void {
    this.reasons.push(reason);
    this.deny ??= { reason };
  }

  flag(signal: RiskSignal, reason: string): void {
    if (!this.signals.includes(signal)) this.signals.push(signal);
    this.reasons.push(reason);
  }

  /**
   * A configurable check. "deny" also records the signal: an account caught
   * trying through Tor or a listed ASN should carry that risk into its later
   * requests, not only have this one refused.
   */
  act(action: RegionAction, signal: RiskSignal, reason: string): void {
    if (action === "allow") return;
    this.flag(signal, reason);
    if (action === "deny") this.deny ??= { reason };
  }
}

export function evaluateRegion(input: RegionInput): RegionVerdict {
  const { cf, account, policy } = input;
  const regions = policy.regions;
  const rules = compile(regions);
  const request = parseCountry(cfField(cf, "country"));
  const country = countryLabel(request);

  if (rules.exemptAccounts.has(account.id) || rules.exemptTiers.has(account.tier)) {
    return { deny: null, signals: [], reasons: [], country, exempt: true };
  }

  const found = new Findings();

  // An unknown country is "XX" here too, so listing XX denies ungeolocated requests.
  if (rules.deniedCountries.has(country)) found.refuse(REGION_REASONS.countryDenied);

  const billing = parseCountry(account.billingCountry);
  if (rules.deniedBillingCountries.has(countryLabel(billing))) found.refuse(REGION_REASONS.billingDenied);

  if (request.kind === "tor") found.act(regions.tor, "tor", REGION_REASONS.tor);
  // Missing, "XX" and malformed all land here, so a dropped field gets the
  // unknown-country treatment rather than passing as some real country.
  if (request.kind === "unknown") found.act(regions.unknownCountry, "unknown_country", REGION_REASONS.unknownCountry);

  const categories = asnCategoriesOf(parseAsn(cfField(cf, "asn")), policy);
  for (const category of categories) {
    const { signal, reason } = ASN_CATEGORY_SIGNAL[category];
    found.act(regions.asnAction, signal, reason);
  }

  // Only two real countries can disagree: Tor and unknown carry their own signals.
  const mismatch = request.kind === "country" && billing.kind === "country" && request.code !== billing.code;
  if (mismatch) found.flag("region_mismatch", REGION_REASONS.billingMismatch);

  const rtt = judgeRtt(
    parseLatLon(cfField(cf, "latitude"), cfField(cf, "longitude")),
    parseColo(cfField(cf, "colo")),
    parseRttMs(cfField(cf, "clientTcpRtt")),
    regions.tunnelRttSlackMs,
  );
  if (rtt.kind === "tunnel") found.flag("rtt_tunnel", REGION_REASONS.rttTunnel);

  // Each part alone is common among honest customers (billed at a head office abroad; a VPN at home); a
  // request that claims another country than the payer's through a route built to hide the client is the
  // evasion itself. Judged on category membership, not asnAction: an operator may silence the ASN signals
  // and still want this one. Hosting is left out: a CI job abroad is on one without hiding anything.
  const hidden = categories.includes("vpn") || categories.includes("residentialProxy") || rtt.kind === "tunnel";
  if (mismatch && hidden) found.act(regions.evasion, "region_evasion", REGION_REASONS.evasion);

  return { deny: found.deny, signals: found.signals, reasons: found.reasons, country, exempt: false };
}
