import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, RISK_SIGNALS, policySchema, type RiskSignal } from "../../../lib/policy/index.ts";
import { applySignals, isSpent, msUntilBelow, riskScore, type SignalState } from "../../../lib/quota/index.ts";

const risk = DEFAULT_POLICY.risk;
const H = risk.halfLifeSeconds * 1000;

function stateAfter(signals: RiskSignal[], now: number, states = new Map<RiskSignal, SignalState>()) {
  const update = applySignals(states, signals, now, risk);
  const next = new Map(states);
  for (const s of update.changed) next.set(s.signal, s);
  return { next, update };
}

function decayedPointsOf(states: Map<RiskSignal, SignalState>, signal: RiskSignal, now: number): number {
  const state = states.get(signal);
  return state ? riskScore([state], now, H) : 0;
}

describe("risk score", () => {
  it("should add each signal's policy weight once per request", () => {
    const { update } = stateAfter(["tor", "tor", "hosting_asn"], 0);
    expect(update.score).toBe(risk.weights.tor + risk.weights.hosting_asn);
    expect(update.counted).toEqual(["tor", "hosting_asn"]);
  });

  it("should halve after each half-life without new evidence", () => {
    const { next } = stateAfter(["tor"], 0);
    expect(riskScore(next.values(), H, H)).toBeCloseTo(risk.weights.tor / 2, 6);
    expect(riskScore(next.values(), 3 * H, H)).toBeCloseTo(risk.weights.tor / 8, 6);
  });

  it("should count a signal at most once per cooldown", () => {
    const cooldown = risk.signalCooldownSeconds * 1000;
    const first = stateAfter(["tor"], 0);
    const again = stateAfter(["tor"], cooldown - 1, first.next);
    expect(again.update.counted).toEqual([]);
    const later = stateAfter(["tor"], cooldown, first.next);
    expect(later.update.counted).toEqual(["tor"]);
    expect(later.next.get("tor")?.count).toBe(2);
  });

  it("should refresh a standing fact without piling it up, and let behaviour accumulate", () => {
    const cooldown = risk.signalCooldownSeconds * 1000;
    let states = new Map<RiskSignal, SignalState>();
    let last = stateAfter([], 0, states);
    // Twelve hours of a customer billed abroad who also asks for step-by-step reasoning all day.
    for (let t = 0; t <= 12 * 3_600_000; t += cooldown) {
      last = stateAfter(["region_mismatch", "cot_elicitation"], t, states);
      states = last.next;
    }
    const now = 12 * 3_600_000;
    expect(decayedPointsOf(states, "region_mismatch", now)).toBeCloseTo(risk.weights.region_mismatch, 6);
    expect(decayedPointsOf(states, "cot_elicitation", now)).toBeGreaterThan(10 * risk.weights.cot_elicitation);
    expect(states.get("region_mismatch")?.count).toBe(145);
  });

  it("should cap the total at 100 and keep per-signal shares adding up to the score", () => {
    const noCooldown = policySchema.parse({ risk: { signalCooldownSeconds: 0, weights: { tor: 60, vpn_asn: 60 } } }).risk;
    const u = applySignals(new Map(), ["tor", "vpn_asn"], 0, noCooldown);
    expect(u.score).toBe(100);
    expect(u.changed.reduce((sum, s) => sum + s.points, 0)).toBe(100);
  });

  it("should say how long until the score decays below a threshold", () => {
    expect(msUntilBelow(30, 60, H)).toBe(0);
    expect(msUntilBelow(80, 40, H)).toBe(H + 1);
    expect(msUntilBelow(10, 0, H)).toBe(Number.POSITIVE_INFINITY);
  });

  it("should treat a fully decayed signal as spent only after its cooldown", () => {
    const { next } = stateAfter(["tor"], 0);
    const tor = next.get("tor");
    expect(tor).toBeDefined();
    if (!tor) return;
    expect(isSpent(tor, H, risk)).toBe(false);
    expect(isSpent(tor, 20 * H, risk)).toBe(true);
  });

  it("should stay within 0..100 and never rise without evidence (property)", () => {
    const signal = fc.constantFrom(...RISK_SIGNALS);
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 4 * H }), signals: fc.array(signal, { maxLength: 5 }) }), { maxLength: 60 }),
        (steps) => {
          let states = new Map<RiskSignal, SignalState>();
          let now = 0;
          for (const step of steps) {
            const before = riskScore(states.values(), now + step.dt, H);
            now += step.dt;
            const { next, update } = stateAfter(step.signals, now, states);
            expect(update.score).toBeGreaterThanOrEqual(0);
            expect(update.score).toBeLessThanOrEqual(100 + 1e-9);
            if (update.counted.length === 0) expect(update.score).toBeCloseTo(before, 9);
            states = next;
            expect(riskScore(states.values(), now + H, H)).toBeLessThanOrEqual(update.score + 1e-9);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("cluster evidence cap", () => {
  it("should never let cluster signals alone hold more than clusterPointsCap, however often they repeat", () => {
    const noCooldown = policySchema.parse({ risk: { signalCooldownSeconds: 0 } }).risk;
    let states = new Map<RiskSignal, SignalState>();
    let score = 0;
    for (let i = 0; i < 10; i++) {
      const update = applySignals(states, ["cluster_verdict", "cluster_member"], 1_000 + i, noCooldown);
      states = new Map(states);
      for (const s of update.changed) states.set(s.signal, s);
      score = update.score;
    }
    expect(score).toBeCloseTo(noCooldown.clusterPointsCap, 5);
    expect(score).toBeLessThan(DEFAULT_POLICY.actions.block);
    // An account's own evidence still counts on top.
    const own = applySignals(states, ["tor", "vpn_asn"], 2_000, noCooldown);
    expect(own.score).toBeGreaterThan(noCooldown.clusterPointsCap + 20);
  });
});
