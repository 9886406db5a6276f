/**
 * Network features from `request.cf` and `CF-Connecting-IP`.
 *
 * At the real edge Cloudflare sets both, so the client cannot choose them; in
 * local dev and tests they may be absent or garbage, which reads as null.
 */
import ipaddr from "ipaddr.js";
import { BoundedMap } from "../bounded-map.ts";
import { isRecord, readCount, readNumber, readString } from "./fields.ts";

export type NetworkFeatures = {
  asn: number | null;
  asOrganization: string | null;
  /** Two letters as the edge sends them, including `T1` (Tor) and `XX` (unknown). */
  country: string | null;
  colo: string | null;
  region: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  ipVersion: 4 | 6 | null;
  /** /24 for IPv4, /48 for IPv6: the smallest block one customer usually gets. */
  prefix: string | null;
  rttMs: number | null;
};

// Longest IPv6 text (with an embedded IPv4 and a zone) is well under 64; anything longer is garbage.
const MAX_IP_LENGTH = 64;

type IpBlock = { version: 4 | 6; prefix: string };

// 4,096 addresses: an isolate's clients send from a few addresses each, again and again, and parsing
// one costs 2 µs for IPv4 and 40 µs for IPv6 (ipaddr.js). A client cycling through more addresses only
// cycles this memo: past it an address is parsed again.
const MAX_KNOWN_ADDRESSES = 4_096;
const blocks = new BoundedMap<string, Readonly<IpBlock> | null>(MAX_KNOWN_ADDRESSES);

/**
 * The customer-sized block an address belongs to. IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`) counts as the IPv4 address, so one client does not get two
 * prefixes depending on how a proxy wrote it.
 */
export function ipPrefix(ip: string | null): Readonly<IpBlock> | null {
  if (ip === null || ip.length === 0 || ip.length > MAX_IP_LENGTH) return null;
  const known = blocks.get(ip);
  if (known !== undefined) return known;
  const block = parsedBlock(ip);
  blocks.set(ip, block === null ? null : Object.freeze(block));
  return block;
}

function parsedBlock(ip: string): IpBlock | null {
  const text = ip.trim();
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  // ipaddr's generic parser accepts classful forms like "127.1" and "0x7f.1"; the
  // edge only ever sends dotted quads, so anything else is treated as garbage.
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    address = ipaddr.IPv4.parse(text);
  } else if (ipaddr.IPv6.isValid(text)) {
    address = ipaddr.IPv6.parse(text);
  } else {
    return null;
  }
  if (address.kind() === "ipv6") {
    const v6 = address as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      address = v6.toIPv4Address();
    } else {
      const [a = 0, b = 0, c = 0] = v6.parts;
      return { version: 6, prefix: `${new ipaddr.IPv6([a, b, c, 0, 0, 0, 0, 0]).toString()}/48` };
    }
  }
  const [a = 0, b = 0, c = 0] = (address as ipaddr.IPv4).octets;
  return { version: 4, prefix: `${a}.${b}.${c}.0/24` };
}

export function networkFeatures(cf: Record<string, unknown> | undefined, ip: string | null): NetworkFeatures {
  const record = isRecord(cf) ? cf : undefined;
  const country = readString(record, "country", 8);
  const block = ipPrefix(typeof ip === "string" ? ip : null);
  const asn = readCount(record, "asn");
  const latitude = readNumber(record, "latitude");
  const longitude = readNumber(record, "longitude");
  return {
    // AS numbers are 32-bit; anything larger is not one.
    asn: asn !== null && asn <= 0xffffffff ? asn : null,
    asOrganization: readString(record, "asOrganization", 128),
    country: country !== null && /^[A-Za-z0-9]{2}$/.test(country) ? country.toUpperCase() : null,
    colo: readString(record, "colo", 8),
    region: readString(record, "region", 64),
    city: readString(record, "city", 64),
    latitude: latitude !== null && Math.abs(latitude) <= 90 ? latitude : null,
    longitude: longitude !== null && Math.abs(longitude) <= 180 ? longitude : null,
    ipVersion: block?.version ?? null,
    prefix: block?.prefix ?? null,
    rttMs: readNumber(record, "clientTcpRtt"),
  };
}
