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
  /** Each indicator's imports, with when each expires: a match is counted against every live import holding it. */
  private readonly keys = new Map<string, Array<[id: string, expiresAt: number]>>();
  private readonly prefixes = {
    ipv4: new Map<number, Map<string, Array<[id: string, expiresAt: number]>>>(),
    ipv6: new Map<number, Map<string, Array<[id: string, expiresAt: number]>>>(),
  };

  constructor(active: ActiveIndicators) {
    const add = <K>(map: Map<K, Array<[string, number]>>, key: K, id: string, expiresAt: number) => {
      const holders = map.get(key);
      if (holders === undefined) map.set(key, [[id, expiresAt]]);
      else if (!holders.some(([held]) => held === id)) holders.push([id, expiresAt]);
    };
    for (const set of active.imports) {
      for (const key of set.keys) add(this.keys, key, set.id, set.expiresAt);
      for (const prefix of set.prefixes) {
        const canonical = canonicalPrefix(prefix);
        if (canonical === null) continue;
        const [address, bits] = ipaddr.parseCIDR(canonical);
        const byLength = this.prefixes[address.kind()];
        let networks = byLength.get(bits);
        if (networks === undefined) byLength.set(bits, (networks = new Map()));
        add(networks, address.toString(), set.id, set.expiresAt);
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
    return this.matchImports(keys, ip, now).kinds;
  }

  /** The kinds this request carries, and the live imports it matched (each once, sorted), for their match counts. */
  matchImports(keys: readonly string[], ip: string | null, now: number): { kinds: string[]; imports: string[] } {
    const kinds = new Set<string>();
    const imports = new Set<string>();
    const live = (holders: ReadonlyArray<[string, number]> | undefined): boolean => {
      let any = false;
      for (const [id, expiresAt] of holders ?? []) {
        if (expiresAt > now) {
          imports.add(id);
          any = true;
        }
      }
      return any;
    };
    for (const key of keys) if (live(this.keys.get(key))) kinds.add(kindOf(key));
    if (ip !== null && live(this.prefixHolders(ip))) kinds.add("prefix");
    return { kinds: [...kinds].sort(), imports: [...imports].sort() };
  }

  /** The imports holding any prefix that contains this address. */
  private prefixHolders(ip: string): Array<[string, number]> {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      address = ipaddr.process(ip.trim());
    } catch {
      return [];
    }
    const family = address.kind();
    const holders: Array<[string, number]> = [];
    for (const [bits, networks] of this.prefixes[family]) {
      const network = family === "ipv4"
        ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
        : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
      holders.push(...(networks.get(network.toString()) ?? []));
    }
    return holders;
  }
}
