import { describe, expect, it } from "vitest";
import {
  COLO_LOCATIONS,
  coloLocation,
  evaluateRegion,
  greatCircleKm,
  judgeRtt,
  plausibleRttMs,
} from "../../../lib/region/index.ts";
import { ACCOUNT, policyWith } from "./helpers.ts";

const FRANKFURT = { latitude: "50.1109", longitude: "8.6821" };
const SYDNEY = { latitude: "-33.8688", longitude: "151.2093" };

function rttSignals(cf: Record<string, unknown>, slack?: number): string[] {
  const policy = policyWith(slack === undefined ? {} : { tunnelRttSlackMs: slack });
  // Billing matches the client country so only the RTT check can speak.
  const country = typeof cf.country === "string" ? cf.country : "DE";
  return evaluateRegion({ cf: { country, ...cf }, account: { ...ACCOUNT, billingCountry: country }, policy }).signals;
}

describe("RTT tunnel check", () => {
  it("should pass a Frankfurt client at FRA with 5 ms", () => {
    expect(rttSignals({ ...FRANKFURT, colo: "FRA", clientTcpRtt: 5 })).toEqual([]);
  });

  it("should flag a client geolocated in Frankfurt at FRA with 250 ms", () => {
    expect(rttSignals({ ...FRANKFURT, colo: "FRA", clientTcpRtt: 250 })).toEqual(["rtt_tunnel"]);
  });

  it("should pass a Sydney client served by LAX at 160 ms", () => {
    expect(rttSignals({ country: "AU", ...SYDNEY, colo: "LAX", clientTcpRtt: 160 })).toEqual([]);
  });

  it("should flag a Sydney client at LAX whose RTT is far beyond the Pacific crossing", () => {
    expect(rttSignals({ country: "AU", ...SYDNEY, colo: "LAX", clientTcpRtt: 450 })).toEqual(["rtt_tunnel"]);
  });

  it("should read the colo case-insensitively and accept numeric coordinates", () => {
    expect(rttSignals({ latitude: 50.11, longitude: 8.68, colo: "fra", clientTcpRtt: 250 })).toEqual(["rtt_tunnel"]);
  });

  it("should take its slack from the policy", () => {
    const cf = { ...FRANKFURT, colo: "FRA", clientTcpRtt: 60 };
    expect(rttSignals(cf)).toEqual([]);
    expect(rttSignals(cf, 10)).toEqual(["rtt_tunnel"]);
    expect(rttSignals({ ...cf, clientTcpRtt: 250 }, 300)).toEqual([]);
  });

  it("should skip an unknown or malformed colo rather than guess", () => {
    for (const colo of ["ZZZ", "XYZ", "constructor", "__proto__", "FRAX", "", 7, null, undefined]) {
      expect(rttSignals({ ...FRANKFURT, colo, clientTcpRtt: 900 }), String(colo)).toEqual([]);
    }
  });

  it("should skip when the client position is missing or out of range", () => {
    const cases: Record<string, unknown>[] = [
      { colo: "FRA", clientTcpRtt: 900 },
      { latitude: "50.11", colo: "FRA", clientTcpRtt: 900 },
      { latitude: "91", longitude: "8.68", colo: "FRA", clientTcpRtt: 900 },
      { latitude: "50.11", longitude: "181", colo: "FRA", clientTcpRtt: 900 },
      { latitude: "north", longitude: "8.68", colo: "FRA", clientTcpRtt: 900 },
      { latitude: "", longitude: "", colo: "FRA", clientTcpRtt: 900 },
      { latitude: Infinity, longitude: 0, colo: "FRA", clientTcpRtt: 900 },
    ];
    for (const cf of cases) expect(rttSignals(cf), JSON.stringify(cf)).toEqual([]);
  });

  it("should skip when there is no TCP RTT (0 over QUIC, missing, or not a number)", () => {
    for (const clientTcpRtt of [0, -5, undefined, null, "250", NaN, Infinity]) {
      expect(rttSignals({ ...FRANKFURT, colo: "FRA", clientTcpRtt }), String(clientTcpRtt)).toEqual([]);
    }
  });

  it("should flag strictly above the plausible bound and not at it", () => {
    const client = { lat: 48.86, lon: 2.35 };
    const fra = coloLocation("FRA");
    expect(fra).not.toBeNull();
    if (fra === null) return;
    const limit = plausibleRttMs(greatCircleKm(client, fra), 80);
    expect(judgeRtt(client, "FRA", limit, 80).kind).toBe("plausible");
    expect(judgeRtt(client, "FRA", limit + 0.5, 80).kind).toBe("tunnel");
    expect(judgeRtt(null, "FRA", 999, 80).kind).toBe("skipped");
    expect(judgeRtt(client, null, 999, 80).kind).toBe("skipped");
    expect(judgeRtt(client, "FRA", null, 80).kind).toBe("skipped");
  });
});

describe("great-circle distance", () => {
  it("should match known city distances within 1%", () => {
    const lhr = { lat: 51.47, lon: -0.45 };
    const jfk = { lat: 40.64, lon: -73.78 };
    expect(greatCircleKm(lhr, jfk)).toBeGreaterThan(5_480);
    expect(greatCircleKm(lhr, jfk)).toBeLessThan(5_590);
    expect(greatCircleKm(lhr, lhr)).toBe(0);
  });

  it("should stay finite for antipodes", () => {
    const d = greatCircleKm({ lat: 90, lon: 0 }, { lat: -90, lon: 0 });
    expect(d).toBeCloseTo(Math.PI * 6_371, 0);
  });
});

describe("colo table", () => {
  const busiest = [
    "IAD", "ORD", "DFW", "LAX", "SJC", "SEA", "EWR", "ATL", "MIA", "YYZ", "LHR", "AMS", "FRA", "CDG", "MAD",
    "WAW", "ARN", "HEL", "SIN", "HKG", "NRT", "KIX", "ICN", "SYD", "MEL", "BOM", "DEL", "GRU", "SCL", "JNB",
    "DXB", "TLV",
  ];

  it("should hold at least 80 colos including the busiest", () => {
    expect(COLO_LOCATIONS.size).toBeGreaterThanOrEqual(80);
    for (const code of busiest) expect(coloLocation(code), code).not.toBeNull();
  });

  it("should hold only three-letter codes with coordinates in range", () => {
    for (const [code, { lat, lon }] of COLO_LOCATIONS) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect(Math.abs(lat)).toBeLessThanOrEqual(90);
      expect(Math.abs(lon)).toBeLessThanOrEqual(180);
    }
  });

  it("should miss on names that exist on Object.prototype", () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) expect(coloLocation(name)).toBeNull();
  });
});
