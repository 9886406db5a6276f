/**
 * Account risk: 0..100, raised by evidence, halved every `risk.halfLifeSeconds`
 * without new evidence. Decay is computed from elapsed time when the score is
 * read, so an idle account recovers with no timer and no operator.
 *
 * Each signal keeps its own share of the score, so the reasons an operator sees
 * add up to the score. All shares decay at the same rate, so their sum never
 * rises above 100 once a new share is capped at what is left under 100.
 */
import { isStandingSignal, type Policy, type RiskSignal } from "../policy/index.ts";

export const MAX_RISK = 100;

/** One signal's share of the risk, as of `updatedAt`. */
export type SignalState = {
  signal: RiskSignal;
  /** Points as of `updatedAt`; decays from there. */
  points: number;
  updatedAt: number;
  /** When the signal last counted (the cooldown runs from here). */
  lastAt: number;
  /** How often it counted. */
  count: number;
};

export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  if (elapsedMs <= 0) return 1;
  return 2 ** (-elapsedMs / halfLifeMs);
}

export function decayedPoints(state: SignalState, now: number, halfLifeMs: number): number {
  return state.points * decayFactor(now - state.updatedAt, halfLifeMs);
}

export function riskScore(states: Iterable<SignalState>, now: number, halfLifeMs: number): number {
  let sum = 0;
  for (const s of states) sum += decayedPoints(s, now, halfLifeMs);
  return Math.min(MAX_RISK, sum);
}

export type SignalUpdate = {
  /** Signal states that changed (to be written through). */
  changed: SignalState[];
  /** Signals that counted on this call (after de-duplication and cooldown). */
  counted: RiskSignal[];
  score: number;
};

const CLUSTER_SIGNALS: ReadonlySet<RiskSignal> = new Set(["cluster_member", "cluster_verdict"]);

/**
 * The score without what cluster verdicts added to it: the risk a request is judged by when no
 * verdict applies to it. A verdict lands only on a campaign's own requests; through the account's
 * risk it would also degrade every other request of an account the campaign shares (a reseller's
 * ordinary customers), for as long as the points take to decay.
 */
export function riskWithoutClusters(states: ReadonlyMap<RiskSignal, SignalState>, score: number, now: number, halfLifeMs: number): number {
  let cluster = 0;
  for (const s of CLUSTER_SIGNALS) {
    const state = states.get(s);
    if (state) cluster += decayedPoints(state, now, halfLifeMs);
  }
  return Math.max(0, score - cluster);
}

/**
 * Adds each signal's policy weight, at most once per signal per cooldown, the
 * total capped at 100; a standing signal's share is topped up to its weight
 * instead of added to. `states` is not modified.
 */

export function applySignals(
  states: ReadonlyMap<RiskSignal, SignalState>,
  signals: readonly RiskSignal[],
  now: number,
  risk: Policy["risk"],
): SignalUpdate {
  const halfLifeMs = risk.halfLifeSeconds * 1000;
  const cooldownMs = risk.signalCooldownSeconds * 1000;
  let score = riskScore(states.values(), now, halfLifeMs);
  const changed: SignalState[] = [];
  const counted: RiskSignal[] = [];
  let clusterPoints = 0;
  for (const s of CLUSTER_SIGNALS) {
    const state = states.get(s);
    if (state) clusterPoints += decayedPoints(state, now, halfLifeMs);
  }
  for (const signal of new Set(signals)) {
    const prev = states.get(signal);
    if (prev && prev.count > 0 && now - prev.lastAt < cooldownMs) continue;
    const current = prev ? decayedPoints(prev, now, halfLifeMs) : 0;
    const weight = risk.weights[signal] ?? 0;
    let add = Math.max(0, Math.min(isStandingSignal(signal) ? weight - current : weight, MAX_RISK - score));
    if (CLUSTER_SIGNALS.has(signal)) {
      // Guilt by association is capped: the cluster cap throttles a campaign's members, and only an
      // account's own evidence (region, content, client, operator) can take it on to a block.
      add = Math.max(0, Math.min(add, risk.clusterPointsCap - clusterPoints));
      clusterPoints += add;
    }
    score += add;
    changed.push({ signal, points: current + add, updatedAt: now, lastAt: now, count: (prev?.count ?? 0) + 1 });
    counted.push(signal);
  }
  return { changed, counted, score: Math.min(MAX_RISK, score) };
}

/** Milliseconds until `score` decays below `threshold` with no new evidence (0 if already below). */
export function msUntilBelow(score: number, threshold: number, halfLifeMs: number): number {
  if (score < threshold) return 0;
  if (threshold <= 0) return Number.POSITIVE_INFINITY;
  // Strictly below: a hair past the exact crossing point.
  return Math.ceil(halfLifeMs * Math.log2(score / threshold)) + 1;
}

/** A signal's share has decayed to nothing worth keeping (and its cooldown is over). */
export function isSpent(state: SignalState, now: number, risk: Policy["risk"]): boolean {
  return decayedPoints(state, now, risk.halfLifeSeconds * 1000) < 0.01 && now - state.lastAt >= risk.signalCooldownSeconds * 1000;
}
