/**
 * Risk: the evidence signals and the points each adds (`risk`), and the thresholds at which risk
 * tags, degrades, throttles and blocks an account (`actions`). The scoring is lib/quota/risk.ts.
 */
import * as z from "../zod.ts";
import { intBetween, points, section } from "./fields.ts";

/**
 * Every evidence signal the gateway knows, with the risk points it adds by
 * default and whether it is standing. Adding a signal is one line here.
 *
 * A standing signal is a fact about where an account's requests come from or
 * who pays for them. Seeing one again confirms it and resets its decay, but
 * never piles up: a customer billed in one country and living in another, or a
 * CI job on a cloud provider, shows the same fact on every request, and adding
 * its weight every cooldown would block them within hours (a repeated signal
 * converges to ~100× its weight with the default half-life and cooldown).
 * Behaviour (elicitation, templates, synchrony, client mismatch) still
 * accumulates.
 */
const SIGNALS = {
  cluster_member: { weight: 10, standing: false },
  cluster_verdict: { weight: 40, standing: false },
  cot_elicitation: { weight: 6, standing: false },
  template_repetition: { weight: 4, standing: false },
  synchronized_timing: { weight: 10, standing: false },
  region_mismatch: { weight: 8, standing: true },
  hosting_asn: { weight: 6, standing: true },
  vpn_asn: { weight: 10, standing: true },
  proxy_asn: { weight: 12, standing: true },
  tor: { weight: 20, standing: true },
  unknown_country: { weight: 5, standing: true },
  geo_wander: { weight: 10, standing: true },
  rtt_tunnel: { weight: 8, standing: true },
  // Billed in one country, connecting from another through a route that hides where the client is (lib/region/
  // evaluate.ts), on top of its parts. A privacy VPN abroad alone (8 + 10 + 13) stays under actions.degrade: people
  // use those honestly. A tunnel-like RTT (the client is far from its exit), or an eliciting prompt on top, reaches
  // degrade; nothing of this shape alone reaches actions.throttle.
  region_evasion: { weight: 13, standing: true },
  client_mismatch: { weight: 8, standing: false },
  // Standing: an imported indicator is a fact about the client's network or build, seen on every
  // request; accumulating it would block an honest customer who shares an ASN or SDK build with
  // another provider's campaign. At the tag threshold, so a match alone is tagged and audited.
  shared_indicator: { weight: 10, standing: true },
} as const satisfies Record<string, { weight: number; standing: boolean }>;

export type RiskSignal = keyof typeof SIGNALS;
export const RISK_SIGNALS = Object.keys(SIGNALS) as [RiskSignal, ...RiskSignal[]];

/** Standing signals top their share up to their weight instead of adding to it (see SIGNALS). */
export function isStandingSignal(signal: RiskSignal): boolean {
  return SIGNALS[signal].standing;
}

const DEFAULT_SIGNAL_WEIGHTS = Object.fromEntries(RISK_SIGNALS.map((signal) => [signal, SIGNALS[signal].weight])) as Record<
  RiskSignal,
  number
>;

export const riskSchema = section({
  /** Risk halves after this many seconds without new evidence. */
  halfLifeSeconds: z._default(intBetween(1, 30 * 86_400), 6 * 3_600),
  /** Points each signal adds (capped at 100 in total). */
  weights: z.pipe(
    z._default(z.partialRecord(z.enum(RISK_SIGNALS), points), {}),
    z.transform((w) => ({ ...DEFAULT_SIGNAL_WEIGHTS, ...w })),
  ),
  /** A signal counts at most once per this many seconds per account (stops one burst from maxing risk). */
  signalCooldownSeconds: z._default(intBetween(0, 86_400), 300),
  /** Most points cluster evidence (cluster_member + cluster_verdict) may hold at once; keep it below actions.block. */
  clusterPointsCap: z._default(points, 45),
  /** A cached cluster verdict not restated by its cluster for this long is ignored: staleness stays bounded if the cluster stops re-sending. */
  verdictTtlSeconds: z._default(intBetween(10, 7 * 86_400), 3_600),
});

export const actionsSchema = section({
  tag: z._default(points, 10),
  degrade: z._default(points, 35),
  throttle: z._default(points, 60),
  block: z._default(points, 85),
}).check(
  z.refine((a) => a.tag <= a.degrade && a.degrade <= a.throttle && a.throttle <= a.block, {
    message: "thresholds must satisfy tag <= degrade <= throttle <= block",
  }),
);
