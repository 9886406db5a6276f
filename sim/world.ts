/**
 * The simulated internet: places (with the Cloudflare colo that serves them),
 * networks, HTTP client stacks. Numbers are realistic where it matters to the
 * gateway (ASN categories, colo distances for the RTT check, SDK header sets
 * that agree with their TLS stack) and invented where it does not (addresses).
 *
 * Pure data and functions: runs on Node and in workerd.
 */
import { hashString, Rng } from "./rng.ts";

export type Place = {
  country: string;
  city: string;
  region: string;
  latitude: number;
  longitude: number;
  /** The colo a client here lands on (IATA), present in lib/region/colos.ts so the RTT check can judge it. */
  colo: string;
};

export const PLACES: readonly Place[] = [
  { country: "US", city: "Ashburn", region: "Virginia", latitude: 39.04, longitude: -77.49, colo: "IAD" },
  { country: "US", city: "San Jose", region: "California", latitude: 37.34, longitude: -121.89, colo: "SJC" },
  { country: "US", city: "Chicago", region: "Illinois", latitude: 41.88, longitude: -87.63, colo: "ORD" },
  { country: "US", city: "Dallas", region: "Texas", latitude: 32.78, longitude: -96.8, colo: "DFW" },
  { country: "US", city: "Seattle", region: "Washington", latitude: 47.61, longitude: -122.33, colo: "SEA" },
  { country: "US", city: "New York", region: "New York", latitude: 40.71, longitude: -74.01, colo: "EWR" },
  { country: "CA", city: "Toronto", region: "Ontario", latitude: 43.65, longitude: -79.38, colo: "YYZ" },
  { country: "BR", city: "Sao Paulo", region: "Sao Paulo", latitude: -23.55, longitude: -46.63, colo: "GRU" },
  { country: "GB", city: "London", region: "England", latitude: 51.51, longitude: -0.13, colo: "LHR" },
  { country: "DE", city: "Frankfurt", region: "Hesse", latitude: 50.11, longitude: 8.68, colo: "FRA" },
  { country: "DE", city: "Munich", region: "Bavaria", latitude: 48.14, longitude: 11.58, colo: "MUC" },
  { country: "FR", city: "Paris", region: "Ile-de-France", latitude: 48.86, longitude: 2.35, colo: "CDG" },
  { country: "NL", city: "Amsterdam", region: "North Holland", latitude: 52.37, longitude: 4.9, colo: "AMS" },
  { country: "ES", city: "Madrid", region: "Madrid", latitude: 40.42, longitude: -3.7, colo: "MAD" },
  { country: "SE", city: "Stockholm", region: "Stockholm", latitude: 59.33, longitude: 18.07, colo: "ARN" },
  { country: "PL", city: "Warsaw", region: "Mazovia", latitude: 52.23, longitude: 21.01, colo: "WAW" },
  { country: "IN", city: "Mumbai", region: "Maharashtra", latitude: 19.08, longitude: 72.88, colo: "BOM" },
  { country: "SG", city: "Singapore", region: "Singapore", latitude: 1.35, longitude: 103.82, colo: "SIN" },
  { country: "JP", city: "Tokyo", region: "Tokyo", latitude: 35.68, longitude: 139.69, colo: "NRT" },
  { country: "KR", city: "Seoul", region: "Seoul", latitude: 37.57, longitude: 126.98, colo: "ICN" },
  { country: "HK", city: "Hong Kong", region: "Hong Kong", latitude: 22.32, longitude: 114.17, colo: "HKG" },
  { country: "VN", city: "Ho Chi Minh City", region: "Ho Chi Minh", latitude: 10.82, longitude: 106.63, colo: "SGN" },
  { country: "ID", city: "Jakarta", region: "Jakarta", latitude: -6.2, longitude: 106.85, colo: "CGK" },
  { country: "AU", city: "Sydney", region: "New South Wales", latitude: -33.87, longitude: 151.21, colo: "SYD" },
];

export function placesIn(country: string): Place[] {
  const found = PLACES.filter((p) => p.country === country);
  if (found.length === 0) throw new Error(`no simulated place in country ${country}; add one to sim/world.ts`);
  return found;
}

/** Consumer ISPs per country: where people and offices connect from. */
export const ISP_ASNS: Readonly<Record<string, readonly (readonly [asn: number, org: string])[]>> = {
  US: [[7922, "Comcast Cable"], [701, "Verizon Business"], [7018, "AT&T Services"], [20115, "Charter Communications"]],
  CA: [[812, "Rogers Communications"], [577, "Bell Canada"]],
  BR: [[28573, "Claro NXT"], [18881, "Telefonica Brasil"]],
  GB: [[2856, "British Telecommunications"], [5089, "Virgin Media"]],
  DE: [[3320, "Deutsche Telekom"], [3209, "Vodafone GmbH"]],
  FR: [[3215, "Orange"], [12322, "Free SAS"]],
  NL: [[1136, "KPN"], [33915, "Vodafone Libertel"]],
  ES: [[3352, "Telefonica de Espana"]],
  SE: [[3301, "Telia Company"]],
  PL: [[5617, "Orange Polska"]],
  IN: [[55836, "Reliance Jio"], [24560, "Bharti Airtel"]],
  SG: [[9506, "Singtel"]],
  JP: [[2516, "KDDI"], [4713, "NTT Communications"]],
  KR: [[4766, "Korea Telecom"]],
  HK: [[4760, "HKT Limited"]],
  VN: [[7552, "Viettel Group"]],
  ID: [[7713, "Telkom Indonesia"]],
  AU: [[1221, "Telstra"], [4804, "Optus"]],
};

/** Clouds where honest CI jobs and backends run (not in the scenario's hosting list unless it says so). */
export const CLOUD_ASNS: readonly (readonly [asn: number, org: string])[] = [
  [16509, "Amazon.com"],
  [8075, "Microsoft Corporation"],
  [396982, "Google LLC"],
];

/** Names for hosting/VPN ASNs a scenario lists; unknown numbers get a generic name. */
const NETWORK_NAMES: Readonly<Record<number, string>> = {
  14061: "DigitalOcean",
  16276: "OVH SAS",
  24940: "Hetzner Online",
  20473: "The Constant Company (Vultr)",
  63949: "Akamai Connected Cloud",
  9009: "M247 Europe",
  212238: "Datacamp Limited",
  60068: "Datacamp CDN77",
  16509: "Amazon.com",
};

export function networkName(asn: number): string {
  return NETWORK_NAMES[asn] ?? ISP_ORG.get(asn) ?? CLOUD_ORG.get(asn) ?? `AS${asn}`;
}

const ISP_ORG = new Map(Object.values(ISP_ASNS).flatMap((list) => list.map(([asn, org]) => [asn, org] as const)));
const CLOUD_ORG = new Map(CLOUD_ASNS.map(([asn, org]) => [asn, org] as const));

// First octets that are ordinary public unicast space (no 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16, multicast).
const PUBLIC_FIRST_OCTETS = [23, 24, 31, 37, 45, 46, 50, 62, 64, 66, 68, 71, 73, 76, 81, 84, 87, 89, 91, 94, 98, 103, 109, 118, 121, 138, 145, 151, 176, 185, 188, 195, 203, 212, 213, 217];

/**
 * A stable /16 per (ASN, slot): addresses are invented, but one network's
 * clients share its blocks and different networks never do.
 */
export function asnBlock(asn: number, slot = 0): [number, number] {
  const h = hashString(`asn:${asn}:${slot}`);
  return [PUBLIC_FIRST_OCTETS[h % PUBLIC_FIRST_OCTETS.length] ?? 45, (h >>> 8) & 0xff];
}

/** An address in the ASN's space: a random /24 unless `third` pins one (an office NAT, a proxy's egress block). */
export function ipIn(asn: number, rng: Rng, third?: number, slot = 0): string {
  const [a, b] = asnBlock(asn, slot);
  return `${a}.${b}.${third ?? rng.int(0, 255)}.${rng.int(2, 254)}`;
}

/** Plausible TCP RTT from a client at a place to its own colo: last mile plus queueing. */
export function localRttMs(rng: Rng, mobileShare = 0.15): number {
  return rng.chance(mobileShare) ? rng.int(25, 70) : rng.int(3, 28);
}

// ─────────────────────────────── HTTP client stacks ───────────────────────────────

export const SDK_PROFILES = ["ts-sdk", "python-sdk", "go-sdk", "curl", "python-requests"] as const;
export type SdkProfileName = (typeof SDK_PROFILES)[number];

export type TlsSpec = {
  tlsVersion: string;
  tlsCipher: string;
  tlsClientCiphersSha1: string;
  tlsClientExtensionsSha1: string;
  tlsClientExtensionsSha1Le: string;
  tlsClientHelloLength: string;
  httpProtocol: string;
};

export type ClientStack = {
  profile: SdkProfileName;
  /** Headers the client library sends on every request (auth and body headers are added per request). */
  headers: Record<string, string>;
  auth: "bearer" | "x-api-key";
  tls: TlsSpec;
};

type StackShape = { protocol: string; tls13: boolean; helloRange: [number, number] };

/** What each library negotiates by default; must agree with lib/fingerprint/client.ts or honest clients look spoofed. */
const SHAPES: Record<SdkProfileName, StackShape> = {
  "ts-sdk": { protocol: "HTTP/1.1", tls13: true, helloRange: [1500, 1800] },
  "python-sdk": { protocol: "HTTP/1.1", tls13: true, helloRange: [500, 620] },
  "go-sdk": { protocol: "HTTP/2", tls13: true, helloRange: [260, 320] },
  curl: { protocol: "HTTP/2", tls13: true, helloRange: [560, 620] },
  "python-requests": { protocol: "HTTP/1.1", tls13: true, helloRange: [500, 620] },
};

const TLS13_CIPHERS = ["AEAD-AES128-GCM-SHA256", "AEAD-AES256-GCM-SHA384", "AEAD-CHACHA20-POLY1305-SHA256"];

/**
 * One TLS stack build. `variant` names a build (library + OpenSSL/BoringSSL
 * version): the same variant always gives the same hashes, so a campaign that
 * ships one binary shows one stack, while honest users spread over many.
 */
export function tlsStack(profile: SdkProfileName, variant: string): TlsSpec {
  const shape = SHAPES[profile];
  const h = (what: string) => {
    let out = "";
    for (let i = 0; out.length < 40; i++) out += hashString(`${profile}:${variant}:${what}:${i}`).toString(16).padStart(8, "0");
    return out.slice(0, 40);
  };
  const seed = hashString(`${profile}:${variant}`);
  const [lo, hi] = shape.helloRange;
  return {
    tlsVersion: shape.tls13 ? "TLSv1.3" : "TLSv1.2",
    tlsCipher: TLS13_CIPHERS[seed % TLS13_CIPHERS.length] ?? "AEAD-AES128-GCM-SHA256",
    tlsClientCiphersSha1: h("ciphers"),
    tlsClientExtensionsSha1: h("extensions"),
    tlsClientExtensionsSha1Le: h("extensions-le"),
    tlsClientHelloLength: String(lo + (seed % (hi - lo + 1))),
    httpProtocol: shape.protocol,
  };
}

const TS_VERSIONS = ["1.10.0", "1.9.2", "1.8.0", "0.68.0"];
const PY_VERSIONS = ["0.72.0", "0.71.1", "0.69.0", "0.64.0"];
const GO_VERSIONS = ["1.14.0", "1.13.0", "1.10.1"];
const NODE_VERSIONS = ["v22.12.0", "v22.11.0", "v20.18.1", "v20.11.0", "v23.3.0"];
const PY_RUNTIME_VERSIONS = ["3.12.7", "3.11.9", "3.13.0", "3.10.14"];
const GO_RUNTIME_VERSIONS = ["go1.23.4", "go1.22.9", "go1.24.0"];
const OSES: readonly (readonly [string, string, number])[] = [
  ["Linux", "x64", 0.45],
  ["MacOS", "arm64", 0.35],
  ["Windows", "x64", 0.15],
  ["Linux", "arm64", 0.05],
];

/**
 * One client install: SDK headers that agree with each other and with the TLS
 * stack (a curl User-Agent next to SDK telemetry would be a real mismatch).
 * `pinned` fixes every random choice (a campaign's one build); otherwise each
 * install draws its own versions, OS and TLS build.
 */
export function clientStack(profile: SdkProfileName, rng: Rng, pinned?: string): ClientStack {
  const r = pinned === undefined ? rng : new Rng(`stack:${pinned}`);
  const [os, arch] = r.weighted(OSES.map(([o, a, w]) => [[o, a] as const, w] as const));
  // Honest installs spread over many builds (OS × runtime × library versions); a fresh random hash for a
  // third of them stands in for the long tail of distro OpenSSL builds.
  const tlsVariant = pinned ?? (r.chance(0.3) ? r.hex(12) : `${os}-${arch}-${r.int(0, 7)}`);
  const common = { accept: "application/json", "anthropic-version": "2023-06-01" };
  switch (profile) {
    case "ts-sdk": {
      const version = r.pick(TS_VERSIONS);
      return {
        profile,
        auth: "bearer",
        tls: tlsStack(profile, tlsVariant),
        headers: {
          ...common,
          "accept-encoding": "gzip, deflate",
          "sec-fetch-mode": "cors",
          "user-agent": `Anthropic/JS ${version}`,
          "x-stainless-lang": "js",
          "x-stainless-package-version": version,
          "x-stainless-os": os,
          "x-stainless-arch": arch,
          "x-stainless-runtime": "node",
          "x-stainless-runtime-version": r.pick(NODE_VERSIONS),
          "x-stainless-retry-count": "0",
          "x-stainless-timeout": "600",
        },
      };
    }
    case "python-sdk": {
      const version = r.pick(PY_VERSIONS);
      return {
        profile,
        auth: "x-api-key",
        tls: tlsStack(profile, tlsVariant),
        headers: {
          ...common,
          "accept-encoding": "gzip, deflate",
          "user-agent": `Anthropic/Python ${version}`,
          "x-stainless-lang": "python",
          "x-stainless-package-version": version,
          "x-stainless-os": os,
          "x-stainless-arch": arch === "x64" ? "x86_64" : arch,
          "x-stainless-runtime": "CPython",
          "x-stainless-runtime-version": r.pick(PY_RUNTIME_VERSIONS),
          "x-stainless-async": r.chance(0.3) ? "async:asyncio" : "false",
          "x-stainless-retry-count": "0",
          "x-stainless-read-timeout": "600",
        },
      };
    }
    case "go-sdk": {
      const version = r.pick(GO_VERSIONS);
      return {
        profile,
        auth: "x-api-key",
        tls: tlsStack(profile, tlsVariant),
        headers: {
          ...common,
          "accept-encoding": "gzip",
          "user-agent": `Anthropic/Go ${version}`,
          "x-stainless-lang": "go",
          "x-stainless-package-version": version,
          "x-stainless-os": os,
          "x-stainless-arch": arch === "x64" ? "amd64" : arch,
          "x-stainless-runtime": "go",
          "x-stainless-runtime-version": r.pick(GO_RUNTIME_VERSIONS),
          "x-stainless-retry-count": "0",
        },
      };
    }
    case "curl":
      return {
        profile,
        auth: "x-api-key",
        tls: tlsStack(profile, tlsVariant),
        headers: { accept: "*/*", "anthropic-version": "2023-06-01", "user-agent": `curl/8.${r.int(4, 11)}.${r.int(0, 1)}` },
      };
    case "python-requests":
      return {
        profile,
        auth: "x-api-key",
        tls: tlsStack(profile, tlsVariant),
        headers: {
          accept: "*/*",
          "accept-encoding": "gzip, deflate",
          "anthropic-version": "2023-06-01",
          "user-agent": `python-requests/2.${r.int(28, 32)}.${r.int(0, 3)}`,
        },
      };
  }
}
