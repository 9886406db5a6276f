/**
 * One eval:detection run in-process: a small campaign family beside the honest
 * families of its split, replayed through `exports.default.fetch` with the
 * generator, replay and judgement the command line uses. Asserts what holds
 * whatever the machine's speed: the judgement accounts for every request the
 * generator labelled, and the gateway answered every one of them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { judge } from "../../sim/detection.ts";
import { CAMPAIGN_FAMILIES, evalRun } from "../../sim/families/index.ts";
import { generate } from "../../sim/generate.ts";
import { keysOfRequest } from "../../sim/keys.ts";
import type { VerdictPoll } from "../../sim/metrics/index.ts";
import { simulationPolicy } from "../../sim/policy.ts";
import { realClock, replay } from "../../sim/replay.ts";
import { parseScenario } from "../../sim/scenario.ts";
import { admin } from "../helpers.ts";
import { flushCollectorsTask, inProcess } from "./in-process.ts";

describe("eval:detection: one family in-process", () => {
  afterAll(async () => {
    // Other test files share this worker's KV: leave the built-in policy behind.
    await admin("PUT", "/policy", {});
  });

  it("should judge every labelled request of a small campaign and its honest neighbours", { timeout: 120_000 }, async () => {
    const family = CAMPAIGN_FAMILIES.find((f) => f.name === "hold-synthetic-tiny");
    if (!family) throw new Error("no hold-synthetic-tiny family");
    // 120 campaign seconds in four wall seconds (the policy's report interval clamps to 1 s, which is
    // fine here), and a fifth of each population's requests: a test of the plumbing, not of detection.
    const spec = evalRun(family, { seed: 3, quick: true, timeCompression: 30 });
    const scenario = parseScenario({ ...spec.scenario, populations: spec.scenario.populations.map((p) => ({ ...p, requests: Math.ceil(p.requests / 5) })) });
    const gen = await generate(scenario, "evalruntest");
    const sim = simulationPolicy(gen);
    expect((await admin("PUT", "/policy", sim.document)).status).toBe(200);
    const accounts = gen.accounts.map((a) => ({ id: a.id, keys: [a.key], tier: a.tier, verified: a.verified, billingCountry: a.billingCountry, paymentFingerprint: a.paymentFingerprint }));
    for (let i = 0; i < accounts.length; i += 250) {
      expect((await admin("POST", "/accounts", { accounts: accounts.slice(i, i + 250) })).status).toBe(200);
    }

    const polls: VerdictPoll[] = [];
    const poll = async (atWallMs: number) => {
      const res = await admin("GET", "/clusters?verdict=confirmed&limit=500");
      const body = (await res.json()) as { clusters: { id: string; type: string; sharedKeys: string[] | null }[] };
      polls.push({ atWallMs, confirmed: body.clusters.flatMap((c) => (c.type === "key" ? [c.id] : [c.id, ...(c.sharedKeys ?? [])])) });
    };
    const results = await replay(gen, {
      transport: inProcess,
      clock: realClock,
      concurrency: scenario.concurrency,
      tasks: [
        flushCollectorsTask(sim.policy),
        { name: "poll verdicts", everyMs: 500, run: poll },
      ],
    });
    await poll(results.wallMs);

    const campaignPop = gen.scenario.populations.findIndex((p) => p.name === spec.campaign[0]);
    const honestPops = new Set(spec.honest.map((n) => gen.scenario.populations.findIndex((p) => p.name === n)));
    const accountKeys = new Map<number, string[]>();
    let attack = 0;
    let honest = 0;
    for (let i = 0; i < gen.schedule.count; i++) {
      const a = gen.schedule.account[i] ?? 0;
      const p = gen.accounts[a]?.population;
      if (gen.schedule.attack[i] === 1) {
        attack++;
        if (!accountKeys.has(a)) accountKeys.set(a, await keysOfRequest(gen, i, sim.policy));
      } else if (p !== undefined && honestPops.has(p)) honest++;
    }
    const result = judge({
      gen,
      results,
      polls,
      split: family.split,
      family: family.name,
      campaign: spec.campaign,
      honest: spec.honest,
      accountKeys,
      decisions: new Map(),
      degradeMaxTokens: sim.policy.degrade.maxTokens,
    });
    console.log(JSON.stringify({ sim: "eval-run", ...result }));

    expect(results.transportErrors).toBe(0);
    expect(result.accounts).toBe(gen.accounts.filter((a) => a.population === campaignPop).length);
    expect(result.campaign.exchanges).toBe(attack);
    expect(result.honest.requests).toBe(honest);
    expect(result.campaign.errors + result.honest.errors).toBe(0);
    expect(result.campaign.served + result.campaign.degraded + result.campaign.refused).toBe(attack);
    expect(polls.length).toBeGreaterThan(1);
  });
});
