/**
 * How eval:detection judges one run (sim/detection.ts), on a generated family
 * with answers and verdict polls made up to order: when a campaign counts as
 * detected, what counts as served after that, and what touches an honest customer.
 */
import { describe, expect, it } from "vitest";
import { acrossSeeds, judge, keyTimeline, leakCauses, summarise, TARGETS, type FamilyResult, type JudgeInput, type LeakSample } from "../../sim/detection.ts";
import { CAMPAIGN_FAMILIES, evalRun } from "../../sim/families/index.ts";
import { generate, type Generated } from "../../sim/generate.ts";
import type { DecisionInfo, VerdictPoll } from "../../sim/metrics/index.ts";
import type { ReplayResults } from "../../sim/replay.ts";

const FAMILY = CAMPAIGN_FAMILIES.find((f) => f.name === "hold-synthetic-tiny");
if (!FAMILY) throw new Error("no hold-synthetic-tiny family");
const SPEC = evalRun(FAMILY, { seed: 1, quick: true, timeCompression: 5 });

type Answer = { status: number; degrade?: boolean };

/** Every request sent on schedule, answered as `answer` says. */
function results(gen: Generated, answer: (i: number, wallMs: number, attack: boolean) => Answer): { results: ReplayResults; decisions: Map<string, DecisionInfo> } {
  const n = gen.schedule.count;
  const decisions = new Map<string, DecisionInfo>();
  const out: ReplayResults = {
    count: n,
    sentAt: new Float64Array(n),
    latencyMs: new Float32Array(n),
    status: new Uint16Array(n),
    outputTokens: new Int32Array(n),
    expectedTokens: new Int32Array(n),
    requestIds: new Array<string | null>(n).fill(null),
    wallMs: (gen.scenario.durationSeconds / gen.scenario.timeCompression) * 1000,
    maxLagMs: 0,
    tasks: {},
    transportErrors: 0,
    firstTransportError: null,
  };
  for (let i = 0; i < n; i++) {
    const wallMs = (gen.schedule.at[i] ?? 0) / gen.scenario.timeCompression;
    const a = answer(i, wallMs, gen.schedule.attack[i] === 1);
    out.sentAt[i] = wallMs;
    out.status[i] = a.status;
    out.requestIds[i] = `req-${i}`;
    if (a.degrade) decisions.set(`req-${i}`, { action: "degrade", enforced: true, reasons: ["cluster.verdict"] });
  }
  return { results: out, decisions };
}

/** Polls every wall second; from `fromMs` on, `key` is confirmed. */
function polls(gen: Generated, key: string, fromMs: number): VerdictPoll[] {
  const out: VerdictPoll[] = [];
  const end = (gen.scenario.durationSeconds / gen.scenario.timeCompression) * 1000;
  for (let t = 1000; t <= end; t += 1000) out.push({ atWallMs: t, confirmed: t >= fromMs ? [key, "asn:7922"] : [] });
  return out;
}

function campaignAccounts(gen: Generated): number[] {
  const p = gen.scenario.populations.findIndex((x) => x.name === SPEC.campaign[0]);
  return gen.accounts.filter((a) => a.population === p).map((a) => a.index);
}

function firstAttackWallMs(gen: Generated): number {
  for (let i = 0; i < gen.schedule.count; i++) if (gen.schedule.attack[i] === 1) return (gen.schedule.at[i] ?? 0) / gen.scenario.timeCompression;
  throw new Error("no attack request");
}

function input(gen: Generated, r: ReturnType<typeof results>, p: VerdictPoll[], keyed: number[], degradeMaxTokens = 1_024): JudgeInput {
  return {
    gen,
    results: r.results,
    polls: p,
    split: "heldout",
    family: FAMILY?.name ?? "",
    campaign: SPEC.campaign,
    honest: SPEC.honest,
    accountKeys: new Map(keyed.map((a) => [a, ["tls:campaign-build", "asn:7922"]])),
    decisions: r.decisions,
    degradeMaxTokens,
  };
}

describe("eval:detection's judgement of one run", () => {
  it("should time detection from the campaign's first request to the poll whose confirmed keys cover its accounts", async () => {
    const gen = await generate(SPEC.scenario, "fixed");
    const verdictMs = firstAttackWallMs(gen) + 6_000;
    const r = results(gen, (_, wallMs, attack) => ({ status: attack && wallMs >= verdictMs ? 429 : 200 }));
    const result = judge(input(gen, r, polls(gen, "tls:campaign-build", verdictMs), campaignAccounts(gen)));
    const pollMs = Math.ceil(verdictMs / 1000) * 1000;
    expect(result.detectedWithinS).toBeCloseTo(((pollMs - firstAttackWallMs(gen)) * 5) / 1000, 0);
    expect(result.attackServedAfterDetect).toBe(0);
    // Stopped from the campaign's first request after the verdict: its next round.
    let nextMs = Infinity;
    for (let i = 0; i < gen.schedule.count; i++) {
      const wallMs = (gen.schedule.at[i] ?? 0) / 5;
      if (gen.schedule.attack[i] === 1 && wallMs >= verdictMs) nextMs = Math.min(nextMs, wallMs);
    }
    expect(result.stoppedWithinS).toBeCloseTo(((nextMs - firstAttackWallMs(gen)) * 5) / 1000, 0);
    expect(result.honestTouched).toBe(0);
    expect(result.confirmedKinds).toEqual(["asn", "tls"]);
    expect(result.meets).toEqual({ detected: true, served: true, honest: true });
    expect(result.campaign.served + result.campaign.refused).toBe(result.campaign.exchanges);
  });

  it("should not count a campaign as detected while confirmed keys cover fewer than half of its accounts", async () => {
    const gen = await generate(SPEC.scenario, "fixed");
    const accounts = campaignAccounts(gen);
    const r = results(gen, () => ({ status: 200 }));
    const result = judge(input(gen, r, polls(gen, "tls:campaign-build", 0), accounts.slice(0, Math.floor(accounts.length * 0.4))));
    expect(result.detectedWithinS).toBeNull();
    expect(result.attackServedAfterDetect).toBeNull();
    expect(result.stoppedWithinS).toBeNull();
    expect(result.coverageAtEnd).toBeLessThan(0.5);
    expect(result.meets.detected).toBe(false);
  });

  it("should count a degraded campaign exchange as served when the clamp is above what it asked for", async () => {
    const gen = await generate(SPEC.scenario, "fixed");
    const r = results(gen, (_, __, attack) => ({ status: 200, degrade: attack }));
    const keyed = campaignAccounts(gen);
    const bites = judge(input(gen, r, polls(gen, "tls:campaign-build", 0), keyed, 64));
    const blunt = judge(input(gen, r, polls(gen, "tls:campaign-build", 0), keyed, 1_000_000));
    expect(bites.attackServedAfterDetect).toBe(0);
    expect(bites.campaign.degraded).toBe(bites.campaign.exchanges);
    expect(blunt.attackServedAfterDetect).toBe(1);
    expect(blunt.meets.served).toBe(false);
  });

  it("should count an honest request under a degrade decision as touched, whatever the clamp changed", async () => {
    const gen = await generate(SPEC.scenario, "fixed");
    let first = true;
    const r = results(gen, (_, __, attack) => {
      const touch = !attack && first;
      if (touch) first = false;
      return { status: 200, degrade: touch };
    });
    const result = judge(input(gen, r, [], [], 1_000_000));
    expect(result.honest.degraded).toBe(1);
    expect(result.honestTouched).toBeCloseTo(1 / result.honest.requests, 4);
    // One in a few hundred is above the 0.1 % target.
    expect(result.meets.honest).toBe(result.honestTouched <= TARGETS.maxHonestTouched);
    expect(result.meets.honest).toBe(false);
  });

  it("should pass a split only when every campaign of 20+ accounts meets the targets and pooled honest traffic does", () => {
    const line = (family: string, detected: boolean, accounts = 100): FamilyResult =>
      ({
        family,
        split: "heldout",
        accounts,
        attackServedAfterDetect: 0,
        honest: { requests: 1_000, refused: 0, degraded: 0, errors: 0, reasons: {} },
        run: { wallSeconds: 24, maxLagSeconds: 0, onSchedule: true, timeCompression: 5, seed: 1 },
        meets: { detected, served: true, honest: true },
      }) as FamilyResult;
    expect(summarise([line("a", true), line("b", true)]).heldout.pass.all).toBe(true);
    expect(summarise([line("a", true), line("b", false)]).heldout.pass.all).toBe(false);
    // A fleet below 20 accounts is reported, not judged.
    expect(summarise([line("a", true), line("tiny", false, 12)]).heldout.pass.all).toBe(true);
    expect(summarise([line("a", true)]).tune.pass.all).toBe(false);
  });
});

describe("eval:detection over several seeds", () => {
  const line = (family: string, evalSeed: number, r: { detected: number | null; served: number | null; touched?: number; split?: "tune" | "heldout"; onSchedule?: boolean }): FamilyResult =>
    ({
      family,
      split: r.split ?? "tune",
      accounts: 100,
      detectedWithinS: r.detected,
      attackServedAfterDetect: r.served,
      honestTouched: r.touched ?? 0,
      honest: { requests: 1_000, refused: Math.round((r.touched ?? 0) * 1_000), degraded: 0, errors: 0, reasons: {} },
      run: { wallSeconds: 24, maxLagSeconds: r.onSchedule === false ? 9 : 0, onSchedule: r.onSchedule ?? true, timeCompression: 2.5, seed: 77 + evalSeed, evalSeed },
      meets: {
        detected: r.detected !== null && r.detected <= TARGETS.detectWithinS,
        served: r.served !== null && r.served <= TARGETS.maxServedAfterDetect,
        honest: (r.touched ?? 0) <= TARGETS.maxHonestTouched,
      },
    }) as FamilyResult;

  it("Should report a family's worst and median run, so one good seed does not read as a fix", () => {
    const { families } = acrossSeeds([
      line("mix", 1, { detected: 30, served: 0.097 }),
      line("mix", 2, { detected: 20, served: 0 }),
      line("mix", 3, { detected: 40, served: 0.09 }),
    ]);
    const mix = families.find((f) => f.family === "mix");
    expect(mix?.seeds).toEqual([1, 2, 3]);
    expect(mix?.attackServedAfterDetect).toEqual({ worst: 0.097, median: 0.09, values: [0.097, 0, 0.09] });
    expect(mix?.detectedWithinS).toEqual({ worst: 40, median: 30, values: [30, 20, 40] });
    expect(mix?.meetsEverySeed.served).toBe(false);
  });

  it("Should count a seed that never detected the campaign as its worst run, and leave it out of the served share", () => {
    const { families } = acrossSeeds([line("fleet", 2, { detected: null, served: null }), line("fleet", 1, { detected: 50, served: 0.01 })]);
    const fleet = families[0];
    expect(fleet?.seeds).toEqual([1, 2]);
    expect(fleet?.detectedWithinS.worst).toBeNull();
    // Half the runs never detected it: no median time either.
    expect(fleet?.detectedWithinS.median).toBeNull();
    expect(fleet?.attackServedAfterDetect).toEqual({ worst: 0.01, median: 0.01, values: [0.01, null] });
    expect(fleet?.meetsEverySeed.detected).toBe(false);
  });

  it("Should pass a split across seeds only when it passes on every seed, and name the seeds a family ran off schedule", () => {
    const good = (seed: number) => line("hold-a", seed, { detected: 20, served: 0, split: "heldout" });
    const both = acrossSeeds([good(1), good(2), line("hold-b", 1, { detected: 25, served: 0.01, split: "heldout" }), line("hold-b", 2, { detected: 25, served: 0.05, split: "heldout", onSchedule: false })]);
    expect(both.heldout.seeds).toEqual([1, 2]);
    expect(both.heldout.pass).toEqual({ everySeed: false, seeds: 1 });
    expect(both.heldout.servedAfterDetectMax).toEqual({ worst: 0.05, median: 0.03, values: [0.01, 0.05] });
    expect(both.families.find((f) => f.family === "hold-b")?.offScheduleSeeds).toEqual([2]);
    expect(both.tune.pass.everySeed).toBe(false);
    expect(acrossSeeds([good(1), good(2)]).heldout.pass).toEqual({ everySeed: true, seeds: 2 });
  });

  it("Should tell seeds apart on lines that carry only their scenario's seed", () => {
    const old = (seed: number) => {
      const l = line("old", 1, { detected: 10, served: 0 });
      return { ...l, run: { ...l.run, evalSeed: undefined, seed } };
    };
    expect(acrossSeeds([old(123), old(456)]).families[0]?.seeds).toEqual([123, 456]);
  });
});

describe("why campaign requests were served after detection", () => {
  const SYSTEM = "system:0123456789abcdef";
  const TLS = "tls:aaaa";
  const polls: VerdictPoll[] = [
    { atWallMs: 1_000, confirmed: [TLS] },
    { atWallMs: 2_000, confirmed: [TLS, SYSTEM] },
  ];
  const served = (at: number, keys: string[], decision?: Partial<DecisionInfo>): LeakSample => ({
    at, account: at, keys, elicitation: 0, sentBefore: false,
    decision: { action: "allow", enforced: true, reasons: [], ...decision },
  });

  it("Should tell a landed verdict, a key not yet confirmed, the landing rule, the allowance path and an edge that had not heard apart", () => {
    const causes = leakCauses({
      samples: [
        served(2_500, [TLS, SYSTEM], { action: "degrade", reasons: ["cluster.confirmed"], clusters: [SYSTEM] }),
        served(500, [TLS, SYSTEM]),
        served(1_500, [TLS, SYSTEM]),
        served(2_500, [TLS, SYSTEM], { local: true }),
        served(2_600, [TLS, SYSTEM]),
      ],
      polls,
      // The broad key's verdict lands only on its wrapper, which none of these requests carries.
      signatures: new Map([[TLS, { bands: [], eliciting: false, wrappers: ["wrap:s:fedcba9876543210"] }], [SYSTEM, { bands: [], eliciting: false }]]),
      landsAt: 0.85,
      timeCompression: 5,
      firstAfterDetect: new Set([0, 1]),
      firstLanded: new Map([[SYSTEM, 2_500]]),
    });
    expect(causes.causes).toEqual({ "landed.degrade": 1, "unconfirmed.later": 1, "landing.no_signature": 1, "edge.allowance": 1, "edge.not_heard": 1 });
    expect(causes.noSignatureLaterKinds).toEqual({ system: 1 });
    // The edge had landed the system key on another request 100 ms before: it knew, and still did not land it here.
    expect(causes.notHeardKnownElsewhere).toBe(1);
    expect(causes.notHeardLagS).toEqual({ median: 3, max: 3 });
    expect(causes.firstAfterDetect).toBe(2);
    expect(causes.newAccounts["edge.not_heard"]).toBe(1);
  });

  it("Should count the unconfirmed requests of accounts that had presented a confirmed key on other requests", () => {
    const WRAP_A = "wrap:s:aaaaaaaaaaaaaaaa";
    const WRAP_B = "wrap:s:bbbbbbbbbbbbbbbb";
    const sample = (at: number, account: number, elicitation: number): LeakSample => ({ at, account, keys: [WRAP_B], elicitation, sentBefore: true, decision: undefined });
    const causes = leakCauses({
      // Account 1 presented the confirmed wrapper A elsewhere, account 2 never did.
      samples: [sample(1_500, 1, 0.9), sample(1_600, 1, 0.1), sample(1_700, 2, 0.9)],
      polls: [{ atWallMs: 1_000, confirmed: [WRAP_A] }],
      signatures: new Map(),
      landsAt: 0.85,
      timeCompression: 5,
      firstAfterDetect: new Set(),
      firstLanded: new Map(),
      accountKeys: new Map([[1, [WRAP_A, WRAP_B]], [2, [WRAP_B]]]),
    });
    expect(causes.causes).toEqual({ "unconfirmed.never": 3 });
    expect(causes.unconfirmedMembers).toEqual({ requests: 2, eliciting: 1, kinds: { wrap: 2 } });
  });

  it("Should list a campaign's keys in the order they were confirmed, in campaign seconds after the first, and when each first landed", () => {
    const WRAP_A = "wrap:s:aaaaaaaaaaaaaaaa";
    const WRAP_B = "wrap:s:bbbbbbbbbbbbbbbb";
    const HONEST = "system:cccccccccccccccc";
    const timeline = keyTimeline(
      [
        { atWallMs: 3_000, confirmed: [WRAP_A, WRAP_B, HONEST] },
        { atWallMs: 1_000, confirmed: [WRAP_A] },
        { atWallMs: 2_000, confirmed: [WRAP_A] },
      ],
      new Set([WRAP_A, WRAP_B]),
      new Map([[WRAP_A, 1_500]]),
      5,
    );
    // The second wording came 10 campaign seconds after the first; an honest key confirmed meanwhile is not the campaign's.
    expect(timeline).toEqual([{ kind: "wrap", afterS: 0, landedS: 2.5 }, { kind: "wrap", afterS: 10, landedS: null }]);
  });
});
