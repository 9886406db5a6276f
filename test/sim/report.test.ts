/**
 * The report's own computations on synthetic inputs: per-account precision and recall, the
 * pass/fail paragraph with its no-gateway baseline, where leakage rose again and why, the spread
 * of repeated runs, and which campaign a cluster belongs to. No gateway: what goes in is made up,
 * so each expected number can be worked out by hand.
 */
import { describe, expect, it } from "vitest";
import { generate, type Generated } from "../../sim/generate.ts";
import {
  attributeClusters,
  buildReport,
  findRises,
  judgeTargets,
  reasonShifts,
  spread,
  summariseAccounts,
  type AccountOutcome,
  type DecisionInfo,
  type Report,
  type Rise,
  type RiseWindow,
} from "../../sim/metrics/index.ts";
import { doLoadModel } from "../../sim/model.ts";
import { simulationPolicy } from "../../sim/policy.ts";
import { emptyResults, type ReplayResults } from "../../sim/replay.ts";
import { explainRise, renderHtml, summaryParagraph } from "../../sim/report.ts";
import { parseScenario, type ScenarioInput, type Targets } from "../../sim/scenario.ts";

const THRESHOLDS = { tag: 10, degrade: 35, throttle: 60, block: 85 };

function outcome(label: "attack" | "legit", flagged: boolean, touched: boolean, peakRisk: number | null): AccountOutcome {
  return { population: label === "attack" ? "hydra" : "customers", label, flagged, touched, peakRisk };
}

describe("per-account results", () => {
  it("should count precision over flagged accounts and recall over attack accounts", () => {
    const list = [
      outcome("attack", true, true, 72),
      outcome("attack", true, true, 61),
      outcome("attack", false, false, 12),
      outcome("legit", true, true, 40),
      outcome("legit", false, true, 0),
      outcome("legit", false, false, null),
    ];
    const r = summariseAccounts(list, "decision log", THRESHOLDS);
    expect(r).toMatchObject({ labelledAttack: 3, labelledHonest: 3, flaggedAttack: 2, flaggedHonest: 1 });
    expect(r.precision).toBeCloseTo(2 / 3);
    expect(r.recall).toBeCloseTo(2 / 3);
    // Peak risk 72 and 61 in the 60–69 and 70–79 buckets; 12 in 10–19; honest 40 and 0; one honest unknown.
    expect(r.risk?.attack).toEqual([0, 1, 0, 0, 0, 0, 1, 1, 0, 0]);
    expect(r.risk?.honest).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(r.risk?.unknown).toEqual({ honest: 1, attack: 0 });
    expect(r.byPopulation).toEqual([
      { population: "hydra", label: "attack", accounts: 3, flagged: 2 },
      { population: "customers", label: "legit", accounts: 3, flagged: 1 },
    ]);
  });

  it("should fall back to refused-or-degraded without the decision log, and give no risk figures", () => {
    const list = [outcome("attack", false, true, null), outcome("legit", false, true, null), outcome("legit", false, false, null)];
    const r = summariseAccounts(list, "responses", THRESHOLDS);
    expect(r.flaggedAttack).toBe(1);
    expect(r.flaggedHonest).toBe(1);
    expect(r.precision).toBe(0.5);
    expect(r.risk).toBeNull();
  });

  it("should report no precision when nothing was flagged, and put risk 100 in the top bucket", () => {
    const r = summariseAccounts([outcome("attack", false, false, 100)], "decision log", THRESHOLDS);
    expect(r.precision).toBeNull();
    expect(r.recall).toBe(0);
    expect(r.risk?.attack[9]).toBe(1);
  });
});

const TARGETS: Targets = { honestTouchedMax: 0.001, leakageMax: 0.5, detectWithinSeconds: 300, accountRecallMin: 0.8 };

describe("the run against its targets", () => {
  const detected = { population: "hydra", accounts: 60, timeToFirstEnforcementS: 420, firstEnforcement: "429 refusal" as const, timeToConfirmedS: 200 };

  it("should pass when every target is met, taking the earlier of first enforcement and confirmed verdict, and say which", () => {
    const v = judgeTargets(TARGETS, { honestSent: 2000, honestTouched: 2, attackSent: 100, attackServedInFull: 50, detection: [detected], recall: 0.9 });
    expect(v.pass).toBe(true);
    expect(v.checks.map((c) => c.actual)).toEqual(["0.1% (2 of 2000)", "50.0% (50 of 100)", "200 s (confirmed verdict)", "90.0%"]);
  });

  it("should fail on any one missed target, and on a campaign never detected", () => {
    const base = { honestSent: 2000, honestTouched: 0, attackSent: 100, attackServedInFull: 10, detection: [detected], recall: 1 };
    expect(judgeTargets(TARGETS, { ...base, honestTouched: 3 }).pass).toBe(false);
    expect(judgeTargets(TARGETS, { ...base, attackServedInFull: 51 }).pass).toBe(false);
    expect(judgeTargets(TARGETS, { ...base, recall: 0.5 }).pass).toBe(false);
    const never = judgeTargets(TARGETS, { ...base, detection: [{ ...detected, timeToFirstEnforcementS: null, firstEnforcement: null, timeToConfirmedS: null }] });
    expect(never.pass).toBe(false);
    expect(never.checks[2]).toMatchObject({ actual: "never", pass: false });
  });

  it("should leave detection time and recall unjudged when the scenario sets no target for them", () => {
    const v = judgeTargets({ ...TARGETS, detectWithinSeconds: null, accountRecallMin: null }, { honestSent: 10, honestTouched: 0, attackSent: 10, attackServedInFull: 0, detection: [], recall: null });
    expect(v.checks.map((c) => c.name)).toEqual(["honest requests touched", "attack exchanges served in full"]);
  });
});

type Answer = (i: number, attack: boolean, expected: number) => { status: number; tokens: number; decision?: DecisionInfo };

/** A tiny scenario (a hydra unless `setup` says otherwise), and answers made up per request: the gateway's part played by `answer`. */
async function synthetic(answer: Answer, setup: Partial<Pick<ScenarioInput, "populations" | "targets">> = {}) {
  const scenario = parseScenario({
    name: "synthetic",
    seed: 3,
    durationSeconds: 600,
    timeCompression: 60,
    overhead: false,
    targets: setup.targets ?? { honestTouchedMax: 0, leakageMax: 0.25 },
    populations: setup.populations ?? [
      { kind: "legit", name: "customers", accounts: 4, requests: 20 },
      { kind: "hydra", name: "hydra", accounts: 6, requests: 40 },
    ],
  });
  const gen: Generated = await generate(scenario, "reporttest");
  const n = gen.schedule.count;
  const results: ReplayResults = { ...emptyResults(n), wallMs: 10_000 };
  const decisions = new Map<string, DecisionInfo>();
  for (let i = 0; i < n; i++) {
    results.sentAt[i] = (gen.schedule.at[i] ?? 0) / scenario.timeCompression;
    const expected = 100 + (i % 7);
    results.expectedTokens[i] = expected;
    const a = answer(i, gen.schedule.attack[i] === 1, expected);
    results.status[i] = a.status;
    results.outputTokens[i] = a.status === 200 ? a.tokens : -1;
    results.requestIds[i] = `req-${i}`;
    if (a.decision) decisions.set(`req-${i}`, a.decision);
  }
  const sim = simulationPolicy(gen);
  const report = buildReport({
    gen,
    results,
    policy: sim.policy,
    scaled: sim.scaled,
    policyDocument: sim.document,
    polls: [],
    keyOwners: new Map(),
    doLoad: doLoadModel(gen, results, sim.policy, new Map()),
    overhead: null,
    decisions,
    run: { mode: "self-contained", gateway: "synthetic", startedAt: new Date(0).toISOString(), setupSeconds: 0, accountsCreated: gen.accounts.length, accountCreateSeconds: 0, notes: [] },
  });
  let attackSent = 0;
  let attackTokens = 0;
  for (let i = 0; i < n; i++) {
    if (gen.schedule.attack[i] !== 1) continue;
    attackSent++;
    attackTokens += results.expectedTokens[i] ?? 0;
  }
  return { report, attackSent, attackTokens };
}

describe("the report's first paragraph", () => {
  it("should say FAIL with the missed target, and the baseline of every attack request reaching the origin", async () => {
    // Every request answered in full: the gateway did nothing.
    const { report, attackSent, attackTokens } = await synthetic((_i, _attack, expected) => ({ status: 200, tokens: expected }));
    expect(report.baseline).toEqual({ attackExchanges: attackSent, attackOutputTokens: attackTokens });
    const text = summaryParagraph(report);
    expect(text).toMatch(/^FAIL: 1 of 2 targets missed \(attack exchanges served in full: 100\.0%/);
    expect(text).toContain(`${attackSent} exchanges, ${attackTokens.toLocaleString("en-US")} output tokens`);
    expect(text).toContain(`With it, ${attackSent} reached the origin (100.0%; 0 of them degraded)`);
  });

  it("should say PASS when the gateway refuses the campaign and leaves honest customers alone, and flag only attack accounts", async () => {
    const throttle: DecisionInfo = { action: "throttle", enforced: true, reasons: ["risk.throttle", "cluster.confirmed"], risk: 70 };
    const allow: DecisionInfo = { action: "allow", enforced: true, reasons: [], risk: 0 };
    const { report } = await synthetic((_i, attack, expected) => (attack ? { status: 429, tokens: 0, decision: throttle } : { status: 200, tokens: expected, decision: allow }));
    expect(report.verdict.pass).toBe(true);
    expect(summaryParagraph(report)).toMatch(/^PASS: all 2 of the scenario's targets met\./);
    expect(report.accounts).toMatchObject({ labelledAttack: 6, flaggedAttack: 6, flaggedHonest: 0, precision: 1, recall: 1 });
    expect(report.accounts.risk?.attack[7]).toBe(6);
    const html = renderHtml(report);
    expect(html).toContain('class="verdict pass"');
    // Security results come before the engineering figures, the full policy last.
    expect(html.indexOf("Per-account results")).toBeLessThan(html.indexOf("Engineering figures"));
    expect(html.indexOf("Engineering figures")).toBeLessThan(html.indexOf("The policy in full"));
    expect(html).toContain("&quot;halfLifeSeconds&quot;");
  });

  it("should not count a plain quota refusal as flagging an account", async () => {
    const quota: DecisionInfo = { action: "throttle", enforced: true, reasons: ["quota.requests"], risk: 0 };
    const { report } = await synthetic((_i, attack) => (attack ? { status: 429, tokens: 0, decision: quota } : { status: 200, tokens: 100 }));
    expect(report.accounts.flaggedAttack).toBe(0);
    expect(report.accounts.recall).toBe(0);
  });
});

describe("a campaign's first enforcement", () => {
  // The full scenario's region evaders, scaled down: degraded or refused by region, rarely throttled.
  const evaders: Pick<ScenarioInput, "populations" | "targets"> = {
    targets: { honestTouchedMax: 0.001, leakageMax: 0.25, detectWithinSeconds: 300 },
    populations: [
      { kind: "legit", name: "customers", accounts: 4, requests: 20 },
      { kind: "regionEvasion", name: "evaders", accounts: 6, requests: 40, templates: ["agentic-cot"], active: { from: 0.2, to: 1 } },
    ],
  };
  const evasion: DecisionInfo = { action: "degrade", enforced: true, reasons: ["region.evasion"], risk: 41 };
  const detectedLine = (report: Report) => report.verdict.checks.find((c) => c.name.startsWith("evaders detected"));

  it("should count a campaign degraded from its first request as detected at once, and say it was a degrade", async () => {
    const { report } = await synthetic((_i, attack, expected) => (attack ? { status: 200, tokens: 64, decision: evasion } : { status: 200, tokens: expected }), evaders);
    expect(report.detection[0]).toMatchObject({ population: "evaders", firstEnforcement: "degrade", timeToFirstEnforcementS: 0, timeToFirstDenialS: null });
    expect(detectedLine(report)).toMatchObject({ actual: "0 s (degrade)", pass: true });
  });

  it("should count a 403 region refusal, and name it", async () => {
    const { report } = await synthetic((_i, attack, expected) => (attack ? { status: 403, tokens: 0 } : { status: 200, tokens: expected }), evaders);
    expect(detectedLine(report)).toMatchObject({ actual: "0 s (403 refusal)", pass: true });
  });

  it("should take the degrade that came before a later throttle, and keep the first denial apart", async () => {
    const throttle: DecisionInfo = { action: "throttle", enforced: true, reasons: ["risk.throttle"], risk: 70 };
    let attacks = 0;
    const { report } = await synthetic((_i, attack, expected) => {
      if (!attack) return { status: 200, tokens: expected };
      attacks++;
      // The first ten answered in full, the next ten degraded, the rest throttled.
      if (attacks <= 10) return { status: 200, tokens: expected };
      return attacks <= 20 ? { status: 200, tokens: 64, decision: evasion } : { status: 429, tokens: 0, decision: throttle };
    }, evaders);
    const d = report.detection[0];
    expect(d?.firstEnforcement).toBe("degrade");
    expect(d?.timeToFirstEnforcementS).toBeGreaterThan(0);
    expect(d?.timeToFirstDenialS).toBeGreaterThan(d?.timeToFirstEnforcementS ?? Infinity);
    expect(detectedLine(report)?.actual).toBe(`${(d?.timeToFirstEnforcementS ?? 0).toFixed(0)} s (degrade)`);
  });

  it("should count an enforced degrade the clamp did not shorten, but never a shadow one", async () => {
    const shadow: DecisionInfo = { ...evasion, enforced: false };
    const unclamped = await synthetic((_i, attack, expected) => ({ status: 200, tokens: expected, decision: attack ? evasion : undefined }), evaders);
    expect(detectedLine(unclamped.report)).toMatchObject({ actual: "0 s (degrade)", pass: true });
    const shadowed = await synthetic((_i, attack, expected) => ({ status: 200, tokens: expected, decision: attack ? shadow : undefined }), evaders);
    expect(shadowed.report.detection[0]?.firstEnforcement).toBeNull();
    expect(detectedLine(shadowed.report)).toMatchObject({ actual: "never", pass: false });
  });
});

describe("leakage that rises again", () => {
  it("should find the fall and the rise, and skip bins too small to have a share", () => {
    const sent = [0, 10, 10, 10, 10, 1, 10, 10, 10, 10];
    const ok = [0, 10, 10, 0, 0, 1, 4, 5, 0, 0];
    expect(findRises(sent, ok)).toEqual([{ fallBin: 3, troughBin: 3, troughShare: 0, riseBin: 6, riseShare: 0.5, riseEnd: 7 }]);
  });

  it("should not call a shallow dip at the onset of detection a fall", () => {
    expect(findRises([10, 10, 10, 10, 10], [10, 6, 9, 6, 7])).toEqual([]);
  });

  it("should find a second rise after the first has ended", () => {
    const sent = new Array<number>(10).fill(10);
    const ok = [10, 0, 5, 0, 0, 6, 6, 0, 0, 0];
    const rises = findRises(sent, ok);
    expect(rises.map((r) => [r.fallBin, r.riseBin, r.riseEnd])).toEqual([[1, 2, 2], [3, 5, 6]]);
  });

  const window = (over: Partial<RiseWindow>): RiseWindow => ({ fromS: 0, toS: 60, requests: 20, ok: 0, degraded: 0, actions: {}, reasons: {}, meanRisk: null, newModelShare: null, ...over });

  it("should explain a rise from the gateway's decisions: risk below a threshold, evidence no longer cited, the new model", () => {
    const before = window({ fromS: 540, toS: 570, actions: { throttle: 20 }, reasons: { "risk.throttle": 20, "cluster.confirmed": 20, "content.elicitation": 20 }, meanRisk: 66, newModelShare: 0.5 });
    const after = window({ fromS: 570, toS: 630, ok: 10, degraded: 8, actions: { degrade: 8, allow: 2, throttle: 10 }, reasons: { "risk.degrade": 8, "risk.throttle": 10, "cluster.confirmed": 4, "content.elicitation": 20 }, meanRisk: 48, newModelShare: 0.8 });
    expect(reasonShifts(before, after)).toEqual([
      { reason: "cluster.confirmed", before: 1, after: 0.2 },
      { reason: "risk.throttle", before: 1, after: 0.5 },
      { reason: "risk.degrade", before: 0, after: 0.4 },
    ]);
    const rise: Rise = { population: "hydra", fallS: 540, troughShare: 0, riseS: 570, riseShare: 0.5, before, after };
    const text = explainRise(rise, THRESHOLDS).join("\n");
    expect(text).toContain("mean risk fell from 66 to 48, below the throttle threshold (60)");
    expect(text).toContain("evidence cited on fewer requests: cluster.confirmed 100.0% → 20.0%");
    expect(text).toContain("rules that acted on fewer requests: risk.throttle 100.0% → 50.0%");
    expect(text).toContain("more of the traffic was on the new model (50.0% → 80.0%)");
    expect(text).toContain("most answers that came back were degraded");
  });

  it("should say so when the decisions show nothing that explains the rise", () => {
    const same = window({ actions: { allow: 20 }, meanRisk: 5 });
    const text = explainRise({ population: "hydra", fallS: 0, troughShare: 0, riseS: 60, riseShare: 0.4, before: same, after: { ...same, ok: 8 } }, THRESHOLDS);
    expect(text.at(-1)).toBe("The gateway's decisions do not show a change that explains it.");
  });
});

describe("run-to-run spread", () => {
  it("should give min, median and max per figure, and count runs without it as missing", () => {
    const runs = [
      [{ name: "leak", unit: "share" as const, value: 0.4 }, { name: "detect", unit: "seconds" as const, value: 300 }],
      [{ name: "leak", unit: "share" as const, value: 0.2 }, { name: "detect", unit: "seconds" as const, value: null }],
      [{ name: "leak", unit: "share" as const, value: 0.3 }, { name: "detect", unit: "seconds" as const, value: 100 }],
      [{ name: "leak", unit: "share" as const, value: 0.6 }, { name: "detect", unit: "seconds" as const, value: 200 }],
    ];
    const [leak, detect] = spread(runs);
    expect(leak).toMatchObject({ name: "leak", runs: 4, missing: 0, min: 0.2, max: 0.6 });
    expect(leak?.median).toBeCloseTo(0.35);
    expect(detect).toEqual({ name: "detect", unit: "seconds", runs: 4, missing: 1, min: 100, median: 200, max: 300 });
  });
});

describe("which campaign a cluster belongs to", () => {
  it("should give a key to its clear owner, a component to most of its members, and skip a key nobody owns", () => {
    const owners = new Map([
      ["tls:aa", { population: 1, share: 0.95, accounts: 40 }],
      ["sdk:bb", { population: 0, share: 0.6, accounts: 50 }],
    ]);
    const byPopulation = attributeClusters(
      [
        { id: "tls:aa", type: "key", verdict: "confirmed", size: 40, score: 0.7, evidence: [{ evidence: "elicitation", value: 1, points: 3, reason: "cluster.eliciting" }] },
        { id: "sdk:bb", type: "key", verdict: "suspect", size: 50 },
        { id: "cc:1", type: "component", verdict: "confirmed", size: 100, sharedKeys: ["tls:aa"], members: new Map([[0, 35], [1, 65]]) },
      ],
      owners,
      ["customers", "hydra"],
    );
    expect(byPopulation).toHaveLength(1);
    expect(byPopulation[0]?.population).toBe("hydra");
    expect(byPopulation[0]?.clusters.map((c) => [c.id, c.ownerShare])).toEqual([["cc:1", 0.65], ["tls:aa", 0.95]]);
    expect(byPopulation[0]?.clusters[0]?.members).toEqual({ customers: 35, hydra: 65 });
    expect(byPopulation[0]?.clusters[1]?.score).toBe(0.7);
  });
});
