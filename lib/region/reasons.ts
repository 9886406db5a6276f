/** Reason codes the region checks emit; the audit log and the origin headers carry them. */
export const REGION_REASONS = {
  countryDenied: "region.country_denied",
  billingDenied: "region.billing_denied",
  tor: "region.tor",
  unknownCountry: "region.unknown_country",
  billingMismatch: "region.billing_mismatch",
  rttTunnel: "region.rtt_tunnel",
  geoWander: "region.geo_wander",
  evasion: "region.evasion",
} as const;
