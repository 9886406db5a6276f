/**
 * Geo wander: one account seen from too many countries or network prefixes in
 * a day, the shape of a shared key behind a rotating proxy pool. The AccountDO
 * keeps the distinct sets (it has the state); this is only the threshold, so
 * the DO, the simulator and tests share one definition of "too many".
 */
import type { Policy, RiskSignal } from "../policy/index.ts";
import { REGION_REASONS } from "./reasons.ts";

export type WanderSeen = { countries: number; prefixes: number };

/**
 * Signals for the distinct counts seen so far today. "Above" is strict: at
 * exactly wanderCountries the account is still within policy. The caller skips
 * this for accounts evaluateRegion reported exempt.
 */
export function wanderSignals(
  seen: WanderSeen,
  policy: Policy,
): { signals: RiskSignal[]; reasons: string[] } {
  const { wanderCountries, wanderPrefixes } = policy.regions;
  // NaN compares false, so a corrupt count reads as "not wandering" rather than throwing.
  const wandering = seen.countries > wanderCountries || seen.prefixes > wanderPrefixes;
  return wandering ? { signals: ["geo_wander"], reasons: [REGION_REASONS.geoWander] } : { signals: [], reasons: [] };
}
