/**
 * ASN categories from the policy's lists, as Sets built once per policy.
 *
 * The lists can hold thousands of ASNs and the check runs on every request, so
 * `Array.includes` per request is the wrong cost; a WeakMap keyed by the
 * policy's `asnCategories` object builds the Sets once per parsed policy and
 * lets them go with it. Policies are treated as immutable once parsed (the
 * worker replaces, never edits, its cached policy), which is what makes caching
 * by identity sound.
 */
import type { Policy, RiskSignal } from "../policy/index.ts";

export const ASN_CATEGORIES = ["hosting", "vpn", "residentialProxy"] as const;
export type AsnCategory = (typeof ASN_CATEGORIES)[number];

/** The risk signal and reason code each category raises. */
export const ASN_CATEGORY_SIGNAL: Readonly<Record<AsnCategory, { signal: RiskSignal; reason: string }>> = {
  hosting: { signal: "hosting_asn", reason: "region.asn_hosting" },
  vpn: { signal: "vpn_asn", reason: "region.asn_vpn" },
  residentialProxy: { signal: "proxy_asn", reason: "region.asn_proxy" },
};

type AsnLists = Policy["regions"]["asnCategories"];
type AsnSets = Readonly<Record<AsnCategory, ReadonlySet<number>>>;

const cache = new WeakMap<AsnLists, AsnSets>();

function asnSets(lists: AsnLists): AsnSets {
  let sets = cache.get(lists);
  if (sets === undefined) {
    sets = {
      hosting: new Set(lists.hosting),
      vpn: new Set(lists.vpn),
      residentialProxy: new Set(lists.residentialProxy),
    };
    cache.set(lists, sets);
  }
  return sets;
}

/**
 * Every category the ASN is listed in, in ASN_CATEGORIES order (an ASN may be
 * listed twice, e.g. a host that also sells VPN exits). Empty for null.
 */
export function asnCategoriesOf(asn: number | null, policy: Policy): AsnCategory[] {
  if (asn === null) return [];
  const sets = asnSets(policy.regions.asnCategories);
  return ASN_CATEGORIES.filter((category) => sets[category].has(asn));
}

/** Whether the ASN is in one category. */
export function isAsnIn(asn: number | null, category: AsnCategory, policy: Policy): boolean {
  return asn !== null && asnSets(policy.regions.asnCategories)[category].has(asn);
}
