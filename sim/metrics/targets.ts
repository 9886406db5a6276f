/** The run judged against the scenario's targets. */
import type { Targets } from "../scenario.ts";
import type { Detection } from "./campaigns.ts";

/** One requirement of the scenario's targets, judged. */
export type TargetCheck = { name: string; target: string; actual: string; pass: boolean };

export type Verdict = { pass: boolean; checks: TargetCheck[] };

export type VerdictInput = {
  honestSent: number;
  honestTouched: number;
  attackSent: number;
  attackServedInFull: number;
  detection: readonly Pick<Detection, "population" | "accounts" | "timeToFirstEnforcementS" | "firstEnforcement" | "timeToConfirmedS">[];
  recall: number | null;
};

const percent = (v: number) => `${(100 * v).toFixed(v > 0 && v < 0.001 ? 3 : 1)}%`;

/** The run against the scenario's targets: every check, and pass only when each passes. */
export function judgeTargets(targets: Targets, m: VerdictInput): Verdict {
  const checks: TargetCheck[] = [];
  const honest = m.honestSent > 0 ? m.honestTouched / m.honestSent : 0;
  checks.push({ name: "honest requests touched", target: `≤ ${percent(targets.honestTouchedMax)}`, actual: `${percent(honest)} (${m.honestTouched} of ${m.honestSent})`, pass: honest <= targets.honestTouchedMax });
  const leaked = m.attackSent > 0 ? m.attackServedInFull / m.attackSent : 0;
  checks.push({ name: "attack exchanges served in full", target: `≤ ${percent(targets.leakageMax)}`, actual: `${percent(leaked)} (${m.attackServedInFull} of ${m.attackSent})`, pass: leaked <= targets.leakageMax });
  const within = targets.detectWithinSeconds;
  if (within !== null) {
    for (const d of m.detection) {
      // Whatever the policy does to a campaign first counts: a refusal, a degrade (a region rule or a
      // verdict may only ever degrade it) or a confirmed verdict; the line names which it was.
      const seen = [
        { s: d.timeToFirstEnforcementS, how: d.firstEnforcement ?? "enforcement" },
        { s: d.timeToConfirmedS, how: "confirmed verdict" },
      ].filter((x): x is { s: number; how: string } => x.s !== null);
      const first = seen.reduce<{ s: number; how: string } | null>((best, x) => (best === null || x.s < best.s ? x : best), null);
      checks.push({
        name: `${d.population} detected (first refusal, degrade or confirmed verdict)`,
        target: `≤ ${within} s`,
        actual: first === null ? "never" : `${first.s.toFixed(0)} s (${first.how})`,
        pass: first !== null && first.s <= within,
      });
    }
  }
  if (targets.accountRecallMin !== null) {
    checks.push({
      name: "attack accounts flagged (recall)",
      target: `≥ ${percent(targets.accountRecallMin)}`,
      actual: m.recall === null ? "no attack accounts" : percent(m.recall),
      pass: m.recall === null || m.recall >= targets.accountRecallMin,
    });
  }
  return { pass: checks.every((c) => c.pass), checks };
}
