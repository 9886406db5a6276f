/**
 * The well-known hosting and cloud ASNs that the policy's `regions.asnCategories`
 * lists by default (lib/policy/regions.ts), with their names, for operators to read and
 * to restore after an override.
 *
 * Shipped as the default because a gateway that knows no hosting network cannot
 * see the commonest thing about a hydra: its accounts run on servers. What keeps
 * honest cloud customers (CI pipelines, batch jobs, agents, SaaS backends) safe
 * is how the lists are used, not their absence:
 *
 * - The per-request `hosting_asn` risk signal is standing (seen again, it tops up
 *   to its weight, never piles up) and weighs 6, below `quota.riskFloor` (20) and
 *   `actions.degrade` (35): by itself it neither shrinks a quota nor degrades.
 * - In a cluster verdict, the hosting share of a key's traffic is one kind of
 *   evidence among many (lib/cluster/evidence.ts), never enough alone.
 *
 * ASN ownership changes (acquisitions, transfers): the lists live in the policy,
 * in KV, so an operator fixes them without a deploy; verify a number against a
 * registry (whois, PeeringDB) before relying on it. Residential-proxy exits use
 * real consumer ISPs' ASNs, so no list can name them: `residentialProxy` starts
 * empty, for operators' own intelligence.
 */
export type SeedAsn = { asn: number; name: string; note?: string };

/** Clouds and hosters whose address space is mostly servers, not people. */
export const HOSTING_ASN_SEED: readonly SeedAsn[] = [
  { asn: 16509, name: "Amazon (AMAZON-02)", note: "most AWS regions" },
  { asn: 14618, name: "Amazon (AMAZON-AES)", note: "AWS us-east-1" },
  { asn: 396982, name: "Google Cloud Platform" },
  { asn: 8075, name: "Microsoft (Azure)", note: "also carries some Microsoft corporate egress" },
  { asn: 31898, name: "Oracle Cloud Infrastructure" },
  { asn: 36351, name: "IBM Cloud (SoftLayer)" },
  { asn: 45102, name: "Alibaba Cloud (international)" },
  { asn: 37963, name: "Alibaba Cloud (mainland China)" },
  { asn: 45090, name: "Tencent Cloud" },
  { asn: 132203, name: "Tencent Cloud (international)" },
  { asn: 136907, name: "Huawei Cloud" },
  { asn: 14061, name: "DigitalOcean" },
  { asn: 63949, name: "Linode / Akamai Connected Cloud" },
  { asn: 20473, name: "Vultr (AS-CHOOPA)", note: "Choopa is Vultr's operating company" },
  { asn: 16276, name: "OVHcloud" },
  { asn: 24940, name: "Hetzner Online" },
  { asn: 12876, name: "Scaleway" },
  { asn: 51167, name: "Contabo" },
  { asn: 60781, name: "Leaseweb Netherlands" },
  { asn: 36352, name: "ColoCrossing" },
];

/**
 * Hosters best known for carrying commercial VPN exits. They host ordinary
 * servers too, which is why these raise `vpn_asn` (a risk signal), not a deny.
 */
export const VPN_ASN_SEED: readonly SeedAsn[] = [
  { asn: 9009, name: "M247", note: "exits of several large consumer VPNs" },
  { asn: 60068, name: "Datacamp / CDN77", note: "exits of several large consumer VPNs" },
];

/*
 * Deliberately left out:
 * - 15169 (Google): Google's own services and crawlers share it with older
 *   GCP ranges; listing it flags Google itself (Apps Script, Workspace add-ons).
 * - 13335 (Cloudflare): WARP, a VPN used by millions of ordinary people, and
 *   Workers egress; too broad to score.
 */

/** The seed as a policy fragment: `{"regions": {"asnCategories": …}}`, to restore the defaults over an override. */
export const ASN_SEED_POLICY = {
  regions: {
    asnAction: "risk",
    asnCategories: {
      hosting: HOSTING_ASN_SEED.map((entry) => entry.asn),
      vpn: VPN_ASN_SEED.map((entry) => entry.asn),
      residentialProxy: [],
    },
  },
};
