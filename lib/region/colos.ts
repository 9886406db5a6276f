/**
 * Where Cloudflare's busiest colos are, for the RTT tunnel check.
 *
 * Data, not logic: `request.cf.colo` is the IATA code of the airport nearest
 * the data centre, so the airport's coordinates stand in for the colo's. A few
 * kilometres of error cost ~0.01 ms of light time, far below the check's slack.
 * A colo missing from this table (Cloudflare runs 300+) makes the RTT check
 * skip the request rather than guess: an unknown colo is never evidence.
 * Add rows freely; keep them sorted by region so reviews stay readable.
 */

/** [IATA code, latitude, longitude] in decimal degrees (north and east positive). */
type ColoRow = readonly [code: string, lat: number, lon: number];

const COLO_ROWS: readonly ColoRow[] = [
  // North America
  ["IAD", 38.94, -77.46], ["ORD", 41.98, -87.9], ["DFW", 32.9, -97.04], ["LAX", 33.94, -118.41],
  ["SJC", 37.36, -121.93], ["SEA", 47.45, -122.31], ["EWR", 40.69, -74.17], ["ATL", 33.64, -84.43],
  ["MIA", 25.79, -80.29], ["DEN", 39.86, -104.67], ["PHX", 33.43, -112.01], ["BOS", 42.36, -71.01],
  ["IAH", 29.98, -95.34], ["MSP", 44.88, -93.22], ["SLC", 40.79, -111.98], ["LAS", 36.08, -115.15],
  ["PDX", 45.59, -122.6], ["MCI", 39.3, -94.71], ["CLT", 35.21, -80.94], ["STL", 38.75, -90.37],
  ["PHL", 39.87, -75.24], ["DTW", 42.21, -83.35], ["BNA", 36.12, -86.68], ["TPA", 27.98, -82.53],
  ["JAX", 30.49, -81.69], ["IND", 39.72, -86.29], ["CMH", 40.0, -82.89], ["PIT", 40.49, -80.23],
  ["RIC", 37.51, -77.32], ["SAN", 32.73, -117.19], ["SMF", 38.7, -121.59], ["OMA", 41.3, -95.89],
  ["HNL", 21.32, -157.92], ["ANC", 61.17, -149.99], ["YYZ", 43.68, -79.63], ["YUL", 45.47, -73.74],
  ["YVR", 49.19, -123.18], ["YYC", 51.13, -114.01], ["YWG", 49.91, -97.24], ["YOW", 45.32, -75.67],
  ["MEX", 19.44, -99.07], ["QRO", 20.62, -100.19], ["GDL", 20.52, -103.31],
  // Central and South America
  ["GRU", -23.43, -46.47], ["GIG", -22.81, -43.25], ["FOR", -3.78, -38.53], ["POA", -29.99, -51.17],
  ["CWB", -25.53, -49.18], ["EZE", -34.82, -58.54], ["SCL", -33.39, -70.79], ["BOG", 4.7, -74.15],
  ["MDE", 6.16, -75.42], ["LIM", -12.02, -77.11], ["UIO", -0.13, -78.36], ["PTY", 9.07, -79.38],
  ["SJO", 9.99, -84.2],
  // Europe
  ["LHR", 51.47, -0.45], ["MAN", 53.35, -2.28], ["EDI", 55.95, -3.37], ["DUB", 53.42, -6.27],
  ["AMS", 52.31, 4.77], ["BRU", 50.9, 4.48], ["LUX", 49.63, 6.21], ["FRA", 50.03, 8.57],
  ["DUS", 51.29, 6.77], ["HAM", 53.63, 9.99], ["MUC", 48.35, 11.79], ["BER", 52.36, 13.5],
  ["CDG", 49.01, 2.55], ["MRS", 43.44, 5.22], ["MAD", 40.47, -3.57], ["BCN", 41.3, 2.08],
  ["LIS", 38.78, -9.14], ["MXP", 45.63, 8.72], ["FCO", 41.8, 12.25], ["ZRH", 47.46, 8.55],
  ["GVA", 46.24, 6.11], ["VIE", 48.11, 16.57], ["PRG", 50.1, 14.26], ["WAW", 52.17, 20.97],
  ["BUD", 47.44, 19.26], ["OTP", 44.57, 26.1], ["SOF", 42.7, 23.41], ["ATH", 37.94, 23.94],
  ["IST", 41.26, 28.74], ["ARN", 59.65, 17.92], ["CPH", 55.62, 12.66], ["OSL", 60.19, 11.1],
  ["HEL", 60.32, 24.96], ["RIX", 56.92, 23.97], ["TLL", 59.41, 24.83], ["VNO", 54.63, 25.29],
  ["KBP", 50.35, 30.89], ["ZAG", 45.74, 16.07], ["BEG", 44.82, 20.31], ["DME", 55.41, 37.9],
  ["LED", 59.8, 30.26],
  // Middle East
  ["DXB", 25.25, 55.36], ["TLV", 32.01, 34.89], ["DOH", 25.27, 51.61], ["BAH", 26.27, 50.63],
  ["KWI", 29.24, 47.97], ["MCT", 23.59, 58.28], ["RUH", 24.96, 46.7], ["JED", 21.68, 39.16],
  ["AMM", 31.72, 35.99],
  // Africa
  ["CAI", 30.12, 31.41], ["JNB", -26.14, 28.25], ["CPT", -33.97, 18.6], ["DUR", -29.61, 31.12],
  ["LOS", 6.58, 3.32], ["ACC", 5.61, -0.17], ["NBO", -1.32, 36.93], ["MBA", -4.03, 39.59],
  ["DAR", -6.88, 39.2], ["KGL", -1.97, 30.14], ["ADD", 8.98, 38.8], ["CMN", 33.37, -7.59],
  ["TUN", 36.85, 10.23], ["ALG", 36.69, 3.22], ["MRU", -20.43, 57.68],
  // Asia
  ["SIN", 1.36, 103.99], ["HKG", 22.31, 113.91], ["NRT", 35.77, 140.39], ["KIX", 34.43, 135.24],
  ["FUK", 33.59, 130.45], ["OKA", 26.2, 127.65], ["ICN", 37.46, 126.44], ["TPE", 25.08, 121.23],
  ["MNL", 14.51, 121.02], ["BKK", 13.69, 100.75], ["KUL", 2.75, 101.71], ["CGK", -6.13, 106.66],
  ["SGN", 10.82, 106.65], ["HAN", 21.22, 105.81], ["PNH", 11.55, 104.84], ["BOM", 19.09, 72.87],
  ["DEL", 28.56, 77.1], ["MAA", 12.99, 80.17], ["BLR", 13.2, 77.71], ["HYD", 17.24, 78.43],
  ["CCU", 22.65, 88.45], ["KHI", 24.91, 67.16], ["LHE", 31.52, 74.4], ["ISB", 33.55, 72.83],
  ["DAC", 23.84, 90.4], ["CMB", 7.18, 79.88], ["KTM", 27.7, 85.36], ["ULN", 47.84, 106.77],
  ["ALA", 43.35, 77.04],
  // Oceania
  ["SYD", -33.95, 151.18], ["MEL", -37.67, 144.84], ["BNE", -27.38, 153.12], ["PER", -31.94, 115.97],
  ["ADL", -34.95, 138.53], ["AKL", -37.01, 174.79], ["CHC", -43.49, 172.53],
];

export type LatLon = { readonly lat: number; readonly lon: number };

/**
 * A Map, not an object literal: a colo value such as "constructor" or
 * "__proto__" must miss, not hit Object.prototype.
 */
export const COLO_LOCATIONS: ReadonlyMap<string, LatLon> = new Map(
  COLO_ROWS.map(([code, lat, lon]) => [code, { lat, lon }]),
);

/** Coordinates of a colo by IATA code (case-insensitive), or null when the table lacks it. */
export function coloLocation(colo: string): LatLon | null {
  return COLO_LOCATIONS.get(colo.toUpperCase()) ?? null;
}
