/**
 * Where a simulated client connects from: an ISP line at home, an office NAT,
 * a cloud region, a hosting block a campaign rents, a residential proxy exit, a
 * reseller's egress, a region evader's VPN; and what the edge writes into
 * `request.cf` for it.
 *
 * Each function draws from the generator it is given in a fixed order: the
 * same seed gives the same addresses, so keep the order of the draws when
 * changing one.
 */
import { Rng } from "./rng.ts";
import type { HydraPopulation, RegionEvasionPopulation, ResellerPopulation } from "./scenario.ts";
import { CLOUD_ASNS, ISP_ASNS, PLACES, ipIn, localRttMs, networkName, placesIn, type ClientStack, type Place } from "./world.ts";

export type Network = { place: Place; asn: number; ip: string; rttMs: number };

export type Address = Omit<Network, "rttMs">;

// Where CI runners live: the big cloud regions.
const CI_COUNTRIES = ["US", "DE", "GB", "NL", "JP", "SG"];

export function ispOf(country: string, rng: Rng): number {
  const list = ISP_ASNS[country];
  if (!list || list.length === 0) throw new Error(`no ISP for country ${country}; add one to sim/world.ts`);
  return rng.pick(list)[0];
}

/** A consumer line in one of `countries`: a place there, one of its ISPs, an address of that ISP. */
export function homeAddress(countries: readonly string[], rng: Rng): Address {
  const country = rng.pick(countries);
  const place = rng.pick(placesIn(country));
  const asn = ispOf(country, rng);
  return { place, asn, ip: ipIn(asn, rng) };
}

/** A CI runner: a cloud provider's address in one of the big regions, a few ms from the colo. */
export function ciRunner(rng: Rng): Network {
  const [asn] = rng.pick(CLOUD_ASNS);
  const place = rng.pick(PLACES.filter((pl) => CI_COUNTRIES.includes(pl.country)));
  return { place, asn, ip: ipIn(asn, rng), rttMs: rng.int(1, 6) };
}

/** Member `i` of a hydra on rented hosting: spread over a few /24s of a few ASNs, shared but not one address. */
export function hostingBlock(pop: HydraPopulation, i: number, rng: Rng): Network {
  const block = i % pop.prefixes;
  const asn = pop.asns[block % pop.asns.length] ?? 14061;
  const country = pop.exitCountries[block % pop.exitCountries.length] ?? "US";
  const places = placesIn(country);
  const place = places[block % places.length] ?? places[0] ?? PLACES[0];
  if (!place) throw new Error("no places");
  return { place, asn, ip: ipIn(asn, rng, (block * 37) % 256, Math.floor(block / 256)), rttMs: rng.int(1, 4) };
}

/** A residential proxy exit: a consumer ISP's address in one of the exit countries, on a random /24 of its block. */
export function residentialExit(pop: HydraPopulation, rng: Rng): Network {
  const address = homeAddress(pop.exitCountries, rng);
  return { ...address, rttMs: localRttMs(rng) + rng.int(10, 40) };
}

/** The reseller's `k`-th egress address: a few per /24 of its one ASN, a country each in turn. */
export function resellerEgress(pop: ResellerPopulation, k: number): Network {
  const r = new Rng(`egress:${pop.name}:${k}`);
  const country = pop.exitCountries[k % pop.exitCountries.length] ?? "US";
  const places = placesIn(country);
  const place = places[k % places.length] ?? places[0];
  if (!place) throw new Error("no places");
  return { place, asn: pop.egressAsn, ip: ipIn(pop.egressAsn, r, k % 4), rttMs: r.int(2, 12) };
}

export function evasionExit(pop: RegionEvasionPopulation, rng: Rng, tunnel: boolean): Network {
  const asns = [...pop.vpnAsns, ...pop.hostingAsns];
  const asn = rng.pick(asns.length > 0 ? asns : [9009]);
  const place = rng.pick(placesIn(rng.pick(pop.exitCountries)));
  // A layer-3 tunnel: the exit geolocates next to the colo, the TCP round trip runs to the real client far away.
  const rttMs = tunnel ? rng.int(190, 320) : rng.int(2, 15);
  return { place, asn, ip: ipIn(asn, rng), rttMs };
}

/** `request.cf` as the edge would fill it for this client (strings where Cloudflare sends strings). */
export function cfFor(network: Network, stack: ClientStack): Record<string, unknown> {
  const { place } = network;
  return {
    country: place.country,
    asn: network.asn,
    asOrganization: networkName(network.asn),
    colo: place.colo,
    city: place.city,
    region: place.region,
    latitude: place.latitude.toFixed(4),
    longitude: place.longitude.toFixed(4),
    clientTcpRtt: network.rttMs,
    clientAcceptEncoding: stack.headers["accept-encoding"] ?? "",
    ...stack.tls,
  };
}
