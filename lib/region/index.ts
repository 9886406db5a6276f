/** Regional access restrictions: pure checks over `request.cf`, the account and the policy. */
export { REGION_REASONS } from "./reasons.ts";
export { evaluateRegion, type RegionInput, type RegionVerdict } from "./evaluate.ts";
export { wanderSignals, type WanderSeen } from "./wander.ts";
export { asnCategoriesOf, isAsnIn, ASN_CATEGORIES, ASN_CATEGORY_SIGNAL, type AsnCategory } from "./asn.ts";
export { parseCountry, parseAsn, countryLabel, TOR_COUNTRY, UNKNOWN_COUNTRY, type CountryReading } from "./cf.ts";
export { judgeRtt, greatCircleKm, plausibleRttMs, type RttVerdict } from "./rtt.ts";
export { coloLocation, COLO_LOCATIONS, type LatLon } from "./colos.ts";
