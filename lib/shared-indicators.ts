/**
 * Imported indicators: fingerprint values other gateways and providers saw in
 * their campaigns, as a set the edge can match a request against in a few map
 * lookups. A match is evidence (the `shared_indicator` signal), never a block
 * by itself: another provider's campaign may share an ASN or an SDK build with
 * honest customers here.
 *
 * The export format (worker/admin/indicators.ts) is the import format; an
 * indicator's `type` and `value` become the key the local fingerprint would
 * have produced, so matching is set membership. Pure: no bindings.
 */
import ipaddr from "ipaddr.js";

/** The set the admin API writes to KV and every isolate reads: one entry per live import. */
export type ActiveIndicators = {
  updatedAt: number;
  imports: Array<{ id: string; expiresAt: number; keys: string[]; prefixes: string[] }>;
};

/** KV `CONFIG` key of the active set. */
export const ACTIVE_INDICATORS_KEY = "indicators:active";

/** The local fingerprint key of an exported indicator, or null for a type this gateway does not match on. */
export function indicatorKey(type: string, value: string): string | null {
  switch (type) {
    case "asn":
    case "tls":
    case "sdk":
    case "headers":
      return `${type}:${value}`;
    case "system_prompt":
      return `system:${value}`;
    case "template":
      return `tpl:${value}`;
    case "combination":
      // Exported whole (`tls+sdk:<hash>`): the kinds are part of the value.
      return value;
    default:
      return null;
  }
}

/** A CIDR prefix in canonical form (`203.0.113.0/24`), or null when it is not one. */
export function canonicalPrefix(value: string): string | null {
  try {
    const [address, bits] = ipaddr.parseCIDR(value);
    const network = address.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(value)
      : ipaddr.IPv6.networkAddressFromCIDR(value);
    return `${network.toString()}/${bits}`;
  } catch {
    return null;
  }
}

/** The kind of a fingerprint key (`tls` of `tls:…`), as used in reason codes. */
function kindOf(key: string): string {
  const kind = key.slice(0, key.indexOf(":"));
  return kind.includes("+") ? "combination" : kind;
}

/**
 * The active set compiled for matching: keys in a map, prefixes grouped by
 * length so an address costs one lookup per distinct length, not one per prefix.
 */
export class IndicatorMatcher {
  private readonly keys = new Map<string, number>();
  private readonly prefixes = { ipv4: new Map<number, Map<string, number>>(), ipv6: new Map<number, Map<string, number>>() };

  constructor(active: ActiveIndicators) {
    for (const set of active.imports) {
      for (const key of set.keys) this.keys.set(key, Math.max(this.keys.get(key) ?? 0, set.expiresAt));
      for (const prefix of set.prefixes) {
        const canonical = canonicalPrefix(prefix);
        if (canonical === null) continue;
        const [address, bits] = ipaddr.parseCIDR(canonical);
        const byLength = this.prefixes[address.kind()];
        let networks = byLength.get(bits);
        if (networks === undefined) byLength.set(bits, (networks = new Map()));
        const network = address.toString();
        networks.set(network, Math.max(networks.get(network) ?? 0, set.expiresAt));
      }
    }
  }

  get size(): number {
    let n = this.keys.size;
    for (const family of Object.values(this.prefixes)) for (const networks of family.values()) n += networks.size;
    return n;
  }

  /** The kinds of indicator this request carries (`tls`, `prefix`, …), sorted, each once. */
  match(keys: readonly string[], ip: string | null, now: number): string[] {
    const kinds = new Set<string>();
    for (const key of keys) {
      const expiresAt = this.keys.get(key);
      if (expiresAt !== undefined && expiresAt > now) kinds.add(kindOf(key));
    }
    if (ip !== null && this.prefixMatches(ip, now)) kinds.add("prefix");
    return [...kinds].sort();
  }

  private prefixMatches(ip: string, now: number): boolean {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      address = ipaddr.process(ip.trim());
    } catch {
      return false;
    }
    const family = address.kind();
    for (const [bits, networks] of this.prefixes[family]) {
      const network = family === "ipv4"
        ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
        : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
      const expiresAt = networks.get(network.toString());
      if (expiresAt !== undefined && expiresAt > now) return true;
    }
    return false;
  }
}
