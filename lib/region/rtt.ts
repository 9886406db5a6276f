/**
 * The RTT tunnel check: a client whose measured TCP round trip is far longer
 * than its geolocated position allows is probably not where its IP says.
 *
 * What it catches: layer-3 VPNs and tunnels (WireGuard, OpenVPN, IPsec) where
 * TCP runs end to end from the real, distant client through an exit node that
 * geolocates near the colo. What it misses: HTTP CONNECT / SOCKS proxies and
 * residential proxy networks, which open a fresh TCP connection from the exit
 * node, so the edge measures only exit→colo.
 */
import { coloLocation, type LatLon } from "./colos.ts";

/** Light in fibre covers ~200 km per ms (refractive index ~1.47). */
export const FIBRE_KM_PER_MS = 200;

/**
 * Real routes are longer than great circles (cable paths, peering detours);
 * measured RTTs run ~1.3-2x the fibre bound. Without this, a client far from
 * its colo (Johannesburg routed to London) would look tunnelled on distance
 * alone; with it, the slack only has to absorb last-mile and queueing delay.
 */
export const ROUTE_STRETCH = 1.5;

const EARTH_RADIUS_KM = 6_371;

/** Great-circle distance (haversine), in km. */
export function greatCircleKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  // min(1, …): rounding can push h a hair above 1 for antipodes, and asin(>1) is NaN.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The longest RTT (ms) the distance plausibly explains: fibre round trip, route stretch, slack. */
export function plausibleRttMs(distanceKm: number, slackMs: number): number {
  return ((2 * distanceKm) / FIBRE_KM_PER_MS) * ROUTE_STRETCH + slackMs;
}

export type RttVerdict =
  /** Something needed was missing or the colo is not in the table: no evidence either way. */
  | { kind: "skipped" }
  | { kind: "plausible"; rttMs: number; limitMs: number }
  | { kind: "tunnel"; rttMs: number; limitMs: number };

/**
 * Judges one request. `client` is the geolocated position (cf.latitude/longitude),
 * `colo` the edge that measured `rttMs` (cf.clientTcpRtt).
 */
export function judgeRtt(
  client: LatLon | null,
  colo: string | null,
  rttMs: number | null,
  slackMs: number,
): RttVerdict {
  if (client === null || colo === null || rttMs === null) return { kind: "skipped" };
  const edge = coloLocation(colo);
  if (edge === null) return { kind: "skipped" };
  const limitMs = plausibleRttMs(greatCircleKm(client, edge), slackMs);
  return rttMs > limitMs ? { kind: "tunnel", rttMs, limitMs } : { kind: "plausible", rttMs, limitMs };
}
