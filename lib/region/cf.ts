/**
 * Defensive readers for the `request.cf` fields the region checks use.
 *
 * `request.cf` is absent in some test and dev paths, its TypeScript type lags
 * the runtime, and in local simulation a client writes it (MF-CF-Blob). Every
 * reader therefore takes `unknown`, never throws, and maps anything unexpected
 * to `null` ("unknown"), leaving the policy to decide what unknown means.
 */

/** Cloudflare's pseudo-country for Tor exit traffic. */
export const TOR_COUNTRY = "T1";
/** Cloudflare's pseudo-country for "could not geolocate"; also what we report for any unusable value. */
export const UNKNOWN_COUNTRY = "XX";

/** The country as the region checks see it. */
export type CountryReading =
  | { kind: "country"; code: string }
  | { kind: "tor" }
  | { kind: "unknown" };

/** One property of `cf`, or undefined; a throwing getter (possible on a hand-built object) reads as missing. */
export function cfField(cf: unknown, key: string): unknown {
  if (typeof cf !== "object" || cf === null) return undefined;
  try {
    return (cf as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * A two-letter code: upper-cased, since the edge sends upper case but an
 * operator-made cf blob may not; "XX" and anything malformed are unknown, so a
 * garbled field can never slip past a deny-unknown policy as a real country.
 */
export function parseCountry(value: unknown): CountryReading {
  if (typeof value !== "string") return { kind: "unknown" };
  const code = value.trim().toUpperCase();
  if (code === TOR_COUNTRY) return { kind: "tor" };
  if (!/^[A-Z]{2}$/.test(code) || code === UNKNOWN_COUNTRY) return { kind: "unknown" };
  return { kind: "country", code };
}

/** A country code for reports and keys: the code, "T1" or "XX". */
export function countryLabel(reading: CountryReading): string {
  switch (reading.kind) {
    case "country":
      return reading.code;
    case "tor":
      return TOR_COUNTRY;
    case "unknown":
      return UNKNOWN_COUNTRY;
  }
}

/**
 * An AS number. The edge sends a number; a digit string is accepted because
 * JSON-carried cf blobs sometimes stringify it. Anything else is unknown.
 */
export function parseAsn(value: unknown): number | null {
  if (typeof value === "number") {
    // 2^32 - 1: the largest 4-byte AS number; beyond it the value is garbage.
    return Number.isInteger(value) && value >= 0 && value <= 4_294_967_295 ? value : null;
  }
  if (typeof value === "string" && /^\d{1,10}$/.test(value)) return parseAsn(Number(value));
  return null;
}

/** The edge sends coordinates as decimal strings ("50.1109"); numbers are accepted too. */
function parseDegrees(value: unknown, limit: number): number | null {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && value.trim() !== "") n = Number(value);
  else return null;
  return Number.isFinite(n) && Math.abs(n) <= limit ? n : null;
}

export function parseLatLon(lat: unknown, lon: unknown): { lat: number; lon: number } | null {
  const la = parseDegrees(lat, 90);
  const lo = parseDegrees(lon, 180);
  return la === null || lo === null ? null : { lat: la, lon: lo };
}

/**
 * Client TCP RTT in ms. Zero is treated as unknown: the edge reports 0 when it
 * has no TCP measurement (e.g. HTTP/3 over QUIC), not a zero-latency client.
 */
export function parseRttMs(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : null;
}

/** A colo IATA code (three letters), upper-cased, or null. */
export function parseColo(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const code = value.trim().toUpperCase();
  return /^[A-Z]{3}$/.test(code) ? code : null;
}
