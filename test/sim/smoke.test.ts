/**
 * The smoke scenario replayed in-process: the same generator and replay the
 * CLI uses, with the gateway reached through `exports.default.fetch` instead of
 * HTTP. Asserts only what must hold whatever the machine's speed: once the
 * gateway has seen the hydra, less of its traffic reaches the origin, and no
 * honest customer is ever blocked.
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import smokeFile from "../../scenarios/smoke.json";
import { generate, type Generated } from "../../sim/generate.ts";
import { simulationPolicy } from "../../sim/policy.ts";
import { realClock, replay, type ReplayResults } from "../../sim/replay.ts";
import { parseScenario } from "../../sim/scenario.ts";
import { linkClusters } from "../../worker/cron/linker.ts";
import { admin } from "../helpers.ts";
import { flushCollectorsTask, inProcess } from "./in-process.ts";

/**
 * Per third of one population's attack requests (first and last): the share answered 200, and the
 * output tokens that reached the client per request (a degraded answer is a 200 with few tokens).
 */
function leakage(gen: Generated, results: ReplayResults, population: string) {
  const p = gen.scenario.populations.findIndex((x) => x.name === population);
  const picked: number[] = [];
  for (let i = 0; i < results.count; i++) {
    if (gen.schedule.attack[i] === 1 && gen.accounts[gen.schedule.account[i] ?? 0]?.population === p) picked.push(i);
  }
  const third = Math.floor(picked.length / 3);
  const ok = (list: number[]) => list.filter((i) => results.status[i] === 200).length / Math.max(1, list.length);
  const tokens = (list: number[]) => list.reduce((sum, i) => sum + Math.max(0, results.outputTokens[i] ?? 0), 0) / Math.max(1, list.length);
  const first = picked.slice(0, third);
  const last = picked.slice(picked.length - third);
  return { okFirst: ok(first), okLast: ok(last), tokensFirst: tokens(first), tokensLast: tokens(last), n: picked.length };
}

describe("campaign simulator: the smoke scenario in-process", () => {
  afterAll(async () => {
    // Other test files share this worker's KV: leave the built-in policy behind.
    await admin("PUT", "/policy", {});
  });

  it("should let less of the hydra through once it is seen, and never block a legitimate customer", { timeout: 180_000 }, async () => {
    // The overhead benchmark needs a bare Worker the test pool does not have; the CLI measures it.
    const scenario = parseScenario({ ...smokeFile, overhead: false });
    // A fixed run tag: the same account ids, so the same collector shards, on every run of this test.
    const gen = await generate(scenario, "smoketest");
    const sim = simulationPolicy(gen);
    expect((await admin("PUT", "/policy", sim.document)).status).toBe(200);
    for (const a of gen.accounts) {
      const res = await admin("PUT", `/accounts/${a.id}`, {
        keys: [a.key],
        tier: a.tier,
        verified: a.verified,
        billingCountry: a.billingCountry,
        paymentFingerprint: a.paymentFingerprint,
      });
      expect(res.status).toBe(201);
    }

    const results = await replay(gen, {
      transport: inProcess,
      clock: realClock,
      concurrency: scenario.concurrency,
      tasks: [
        flushCollectorsTask(sim.policy),
        {
          name: "cron linker",
          everyMs: (scenario.linkerEverySeconds / scenario.timeCompression) * 1000,
          run: async () => {
            await linkClusters(env, sim.policy);
          },
        },
      ],
    });

    expect(results.transportErrors).toBe(0);
    const hydra = leakage(gen, results, "hydra");
    let legitBlocked = 0;
    let legitSent = 0;
    for (let i = 0; i < results.count; i++) {
      if (gen.schedule.attack[i] === 1) continue;
      legitSent++;
      if (results.status[i] === 403) legitBlocked++;
    }
    console.log(
      JSON.stringify({ sim: "smoke", requests: results.count, hydra, legitSent, legitBlocked, tasks: results.tasks }),
    );

    expect(hydra.n).toBeGreaterThan(100);
    expect(legitSent).toBeGreaterThan(100);
    expect(legitBlocked).toBe(0);
    expect(hydra.okLast).toBeLessThan(hydra.okFirst);
    expect(hydra.tokensLast).toBeLessThan(hydra.tokensFirst);
  });
});
