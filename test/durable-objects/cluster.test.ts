import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ReportBuffer } from "../../lib/cluster/report.ts";
import { accountObjectName, clusterCollectorName, clusterRootName, collectorIndex } from "../../lib/names.ts";
import { policyText, validatePolicy, type Policy } from "../../lib/policy/index.ts";
import { admin, unique } from "../helpers.ts";

/**
 * Collectors here flush only when a test says so (`flushAll`): with the default 10 s interval, a slow
 * run let a collector's alarm flush half a round, the root confirm the key early, and that collector
 * hold the rest of its accounts' deltas, so the root counted fewer accounts than the test reported.
 */
const NO_ALARM_WITHIN_A_TEST_SECONDS = 3_600;

function policy(overrides: Record<string, unknown> = {}): Policy {
  const result = validatePolicy({
    clusters: { minAccounts: 10, minRequestsPerWindow: 20, shards: 4, reportIntervalSeconds: NO_ALARM_WITHIN_A_TEST_SECONDS, ...overrides },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

/** Reports one account's requests through its collector, as the account object's alarm does. */
async function report(p: Policy, accountId: string, keys: string[], starts: number[], elicited: boolean, bands: string[]) {
  const buffer = new ReportBuffer();
  for (const at of starts) {
    buffer.add({ at, keys, bands, model: "demo-model-1", inputTokens: 100, outputTokens: 500, elicited });
  }
  const batch = buffer.drain(accountId);
  if (!batch) throw new Error("empty report");
  return env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(accountId, p.clusters.shards))).report(batch, policyText(p));
}

/** Account objects the collectors have told of confirmations so far (this file's instances). */
async function membersTold(): Promise<number> {
  let n = 0;
  for (const i of [0, 1, 2, 3]) {
    n += await runInDurableObject(env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(i)), (instance: { membersTold: number }) => instance.membersTold);
  }
  return n;
}

async function flushAll(p: Policy) {
  for (let i = 0; i < p.clusters.shards; i++) await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(i)).flushNow();
}

describe("Cluster collectors and roots", () => {
  it("should confirm a synchronized, templated hydra and tell its members", async () => {
    const p = policy();
    const key = `tls:${unique("hydra")}`;
    const band = `tpl:0:${unique("b")}`;
    const t0 = Date.now() - 20_000;
    const ticks = [0, 2_000, 4_000, 6_000, 8_000].map((d) => t0 + d);
    const accounts = Array.from({ length: 40 }, () => unique("h"));
    for (const a of accounts) await report(p, a, [key, band], ticks, true, [band]);
    await flushAll(p);
    // A collector caches the answer its own roll-up got; the ones that flushed before the root had
    // seen enough accounts learn the verdict with the campaign's next interval, as here.
    for (const a of accounts) await report(p, a, [key, band], ticks.map((t) => t + 10_000), true, [band]);
    await flushAll(p);

    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p);
    expect(root.accounts).toBeGreaterThanOrEqual(38);
    expect(root.accounts).toBeLessThanOrEqual(42);
    expect(root.metrics?.synchrony).toBeGreaterThan(0.9);
    expect(root.metrics?.templateShare).toBe(1);
    expect(root.verdict).toBe("confirmed");
    // Roots are called once per collector flush, not once per account.
    expect(root.rollups).toBeLessThanOrEqual(2 * p.clusters.shards);

    // Confirmed: the collectors hold the key's next deltas (summed) for a few intervals instead of calling the root.
    const rollupsBefore = root.rollups;
    for (const a of accounts.slice(0, 10)) await report(p, a, [key, band], [Date.now()], true, [band]);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p)).rollups).toBe(rollupsBefore);

    const first = accounts[0] ?? "";
    const { verdicts } = await report(p, first, [key, band], [Date.now()], true, [band]);
    const onKey = verdicts.find((v) => v.cluster === key);
    expect(onKey?.verdict).toBe("confirmed");
    // Staleness counts from the root's latest answer (a confirmed key's is restated every few intervals).
    expect(onKey?.refreshedAt).toBeGreaterThanOrEqual(onKey?.decidedAt ?? Number.POSITIVE_INFINITY);
    // The cap is the aggregate cap shared by the members the root counted when it answered this collector:
    // never looser than an even share among minAccounts, never tighter than among all members.
    expect(onKey?.capPerWindow).toBeGreaterThanOrEqual(p.clusters.aggregateCapPerWindow / root.accounts - 1e-9);
    expect(onKey?.capPerWindow).toBeLessThanOrEqual(p.clusters.aggregateCapPerWindow / p.clusters.minAccounts);

    const row = await env.DB.prepare(`SELECT verdict, accounts FROM fingerprint_keys WHERE fp_key = ?`).bind(key).first<{ verdict: string; accounts: number }>();
    expect(row?.verdict).toBe("confirmed");
    const edges = await env.DB.prepare(`SELECT COUNT(*) AS n FROM account_fingerprints WHERE fp_key = ?`).bind(key).first<{ n: number }>();
    expect(edges?.n).toBe(40);
  });

  it("should confirm a fleet on one exact system prompt from hosting, client and volume evidence and explain it in the admin API", async () => {
    const p = policy({ verdict: {} });
    const key = `system:${unique("fleet")}`;
    const client = `tls+sdk:${unique("build")}`;
    const t0 = Date.now() - 30_000;
    for (let i = 0; i < 30; i++) {
      const account = unique("fleet");
      const buffer = new ReportBuffer();
      // Ten requests each, at the account's own moments: no synchrony, no template, no elicitation.
      for (let r = 0; r < 10; r++) {
        buffer.add({
          at: t0 + ((i * 7_919 + r * 2_713) % 28_000), keys: [key, client], bands: [], model: "demo-model-1", inputTokens: 100, outputTokens: 500,
          elicited: false, hosting: true, client, system: key,
        });
      }
      const batch = buffer.drain(account);
      if (!batch) throw new Error("empty report");
      await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(account, p.clusters.shards))).report(batch, policyText(p));
    }
    await flushAll(p);
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p);
    expect(root.verdict).toBe("confirmed");
    expect(root.metrics?.synchrony ?? 1).toBeLessThan(0.5);
    // 300 requests by 30 active accounts: 10 each against an honest 2.
    expect(root.metrics?.volumeRatio).toBeCloseTo(5, 0);

    const res = await admin("GET", `/clusters/${encodeURIComponent(key)}`);
    expect(res.status).toBe(200);
    type Item = { evidence: string; value: number | null; points: number; reason: string | null; implied: boolean };
    const body = (await res.json()) as { cluster: { verdict: string; score: number | null; evidence: Item[] } };
    expect(body.cluster.verdict).toBe("confirmed");
    expect(body.cluster.score).toBeGreaterThanOrEqual(p.clusters.verdict.confirmScore);
    const byName = new Map(body.cluster.evidence.map((e) => [e.evidence, e]));
    expect(byName.get("hosting")).toMatchObject({ value: 1, reason: "cluster.hosting" });
    expect(byName.get("hosting")?.points).toBeGreaterThan(0);
    expect(byName.get("volume")).toMatchObject({ reason: "cluster.heavy_volume" });
    expect(byName.get("client")).toMatchObject({ value: 1, reason: "cluster.one_client" });
    // The key is the prompt: that evidence is implied and adds nothing.
    expect(byName.get("system_prompt")).toMatchObject({ implied: true, points: 0 });
    // The points explain the score: prior plus items is the logistic's argument.
    const logOdds = p.clusters.verdict.priors.content + body.cluster.evidence.reduce((n, e) => n + e.points, 0);
    expect(body.cluster.score).toBeCloseTo(1 / (1 + Math.exp(-logOdds)), 2);
  });

  it("should judge a campaign prompt riding on busy pooled accounts under the rate gate, and explain it as pooled", async () => {
    const p = policy({ minRequestsPerWindow: 50 });
    const key = `system:${unique("pooled")}`;
    const client = `tls+sdk:${unique("egress")}`;
    const t0 = Date.now() - 30_000;
    for (let i = 0; i < 20; i++) {
      const account = unique("reseller");
      const buffer = new ReportBuffer();
      // Each pooled account serves one campaign request (eliciting, on the campaign's prompt) beside three of
      // its ordinary customers' in each of two reports (the first on a key measures nothing): 40 requests on
      // the prompt's key, under the gate of 50.
      for (let report = 0; report < 2; report++) {
        for (let r = 0; r < 4; r++) {
          const campaign = r === 0;
          buffer.add({
            at: t0 + ((i * 7_919 + r * 2_713 + report * 14_000) % 28_000), keys: campaign ? [key, client] : [client], bands: [], model: "demo-model-1",
            inputTokens: 100, outputTokens: 500, elicited: campaign, hosting: true, client, system: campaign ? key : null,
          });
        }
        const batch = buffer.drain(account);
        if (!batch) throw new Error("empty report");
        await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(account, p.clusters.shards))).report(batch, policyText(p));
      }
    }
    await flushAll(p);
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p);
    expect(root.metrics?.requestsPerWindow).toBeLessThan(p.clusters.minRequestsPerWindow);
    expect(root.metrics?.memberShare).toBeCloseTo(0.25);
    expect(root.verdict).toBe("confirmed");
    expect(root.reasons).toContain("cluster.pooled");

    const res = await admin("GET", `/clusters/${encodeURIComponent(key)}`);
    type Item = { evidence: string; value: number | null; points: number; reason: string | null };
    const body = (await res.json()) as { cluster: { verdict: string; evidence: Item[] } };
    expect(body.cluster.evidence.find((e) => e.evidence === "pooled")).toMatchObject({ value: 0.25, points: p.clusters.verdict.weights.pooled, reason: "cluster.pooled" });
  });

  it("should measure the volume of free accounts against an honest free account's pace, not the flat one", async () => {
    const p = policy({ verdict: { honestRequestsPerAccountPerWindow: 2, honestRequestsPerTier: { free: 1 } } });
    const key = `tls+sdk:${unique("free-fleet")}`;
    const paid = `tls+sdk:${unique("paid-fleet")}`;
    const t0 = Date.now() - 30_000;
    for (let i = 0; i < 30; i++) {
      // The same pace from build accounts, a tier the policy gives no pace of its own: the flat baseline.
      // Each account all on its own key, so the key's traffic is all of its members'.
      for (const [fleetKey, tier] of [[key, "free"], [paid, "build"]] as const) {
        const account = unique("tiered");
        const buffer = new ReportBuffer();
        for (let r = 0; r < 6; r++) {
          const at = t0 + ((i * 7_919 + r * 2_713) % 28_000);
          buffer.add({ at, bands: [], model: "demo-model-1", inputTokens: 100, outputTokens: 500, elicited: false, keys: [fleetKey], tier });
        }
        const batch = buffer.drain(account);
        if (!batch) throw new Error("empty report");
        await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(account, p.clusters.shards))).report(batch, policyText(p));
      }
    }
    await flushAll(p);
    // 180 requests by 30 active accounts: 6 each, against an honest free account's 1 and the flat 2.
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p)).metrics?.volumeRatio).toBeCloseTo(6, 0);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(paid)).inspectRoot(p)).metrics?.volumeRatio).toBeCloseTo(3, 0);
  });

  it("should write a burst of roll-ups to storage behind them, by alarm, and read the same root back after an eviction", async () => {
    const p = policy();
    const key = `tls:${unique("burst")}`;
    const stub = env.CLUSTER_ROOTS.getByName(clusterRootName(key));
    const counts = { requests: 5, inputTokens: 500, outputTokens: 2_500, elicited: 5, bands: { "tpl:0:beef": 5 }, models: { "demo-model-1": 5 } };
    // Two accounts, far below minAccounts: the verdict stays "none", so nothing forces a write.
    const delta = () => ({ key, accounts: ["acct-a", "acct-b"], counts, synchrony: { value: 0.9, pairs: 1 }, at: Date.now() });
    for (let i = 0; i < 6; i++) await stub.rollup(delta(), policyText(p));
    const before = await stub.inspectRoot(p);
    expect(before.rollups).toBe(6);
    const stored = () =>
      runInDurableObject(stub, (_i, state) => ({
        rollups: state.storage.sql.exec<{ v: number }>(`SELECT v FROM meta WHERE k = 'rollups'`).toArray()[0]?.v ?? 0,
        requests: state.storage.sql.exec<{ counts: string }>(`SELECT counts FROM buckets`).toArray().reduce((n, r) => n + (JSON.parse(r.counts) as { requests: number }).requests, 0),
      }));
    // The first roll-up is written at once; the rest of the burst waits for the alarm.
    expect(await stored()).toEqual({ rollups: 1, requests: 5 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored()).toEqual({ rollups: 6, requests: 30 });
    await evictDurableObject(stub);
    // The window's active accounts live in memory: a fresh instance does not guess a volume ratio.
    expect(await stub.inspectRoot(p)).toEqual({ ...before, metrics: { ...before.metrics, volumeRatio: undefined } });
  });

  it("should leave many honest accounts on one key with diverse prompts and timing alone", async () => {
    const p = policy();
    const key = `prefix:${unique("nat")}`;
    const t0 = Date.now() - 50_000;
    for (let i = 0; i < 40; i++) {
      // Each human at their own moments, each with their own prompt.
      const starts = [t0 + ((i * 7919) % 40_000), t0 + ((i * 104_729) % 45_000) + 1_000];
      await report(p, unique("office"), [key], starts, false, [`tpl:0:${unique("own")}`]);
    }
    await flushAll(p);
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p);
    expect(root.accounts).toBeGreaterThanOrEqual(38);
    expect(root.verdict).toBe("none");
  });

  it("should tell every collector holding a key of its confirmation at once, not at each one's next flush", async () => {
    const p = policy();
    const key = `tls:${unique("told")}`;
    const band = `tpl:0:${unique("b")}`;
    const t0 = Date.now() - 20_000;
    const ticks = [0, 2_000, 4_000, 6_000, 8_000].map((d) => t0 + d);
    // Too few accounts on the first three collectors for the root to confirm before the last one flushes.
    const perCollector = [3, 3, 3, 31];
    const accounts: string[] = [];
    const placed = [0, 0, 0, 0];
    while (accounts.length < 40) {
      const a = unique("t");
      const n = collectorIndex(a, p.clusters.shards);
      if ((placed[n] ?? 0) >= (perCollector[n] ?? 0)) continue;
      placed[n] = (placed[n] ?? 0) + 1;
      accounts.push(a);
    }
    for (const a of accounts) await report(p, a, [key, band], ticks, true, [band]);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p)).verdict).toBe("confirmed");

    // The first collector flushed while the root still said none; its feed now announces the confirmation.
    const first = await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(0)).readFeed(0);
    expect(first.verdicts.find((v) => v.cluster === key)?.verdict).toBe("confirmed");
  });

  it("Should hand a confirmation to the account object of every member that reported the key lately, quiet ones included, and to no one else", async () => {
    const p = policy();
    const key = `tls:${unique("members")}`;
    const band = `tpl:0:${unique("b")}`;
    const t0 = Date.now() - 40_000;
    const ticks = (from: number) => [0, 2_000, 4_000, 6_000, 8_000].map((d) => from + d);
    // Eight members, two per collector, report once and fall quiet: too few for a verdict then, and absent
    // from the interval that confirms. (A collector forwards, and so remembers, a key two of its accounts share.)
    const quiet: string[] = [];
    const placed = [0, 0, 0, 0];
    while (quiet.length < 8) {
      const a = unique("q");
      const n = collectorIndex(a, p.clusters.shards);
      if ((placed[n] ?? 0) >= 2) continue;
      placed[n] = (placed[n] ?? 0) + 1;
      quiet.push(a);
    }
    const toldBefore = await membersTold();
    for (const a of quiet) await report(p, a, [key, band], ticks(t0), true, [band]);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p)).verdict).not.toBe("confirmed");
    const busy = Array.from({ length: 40 }, () => unique("m"));
    for (const a of busy) await report(p, a, [key, band], ticks(t0 + 20_000), true, [band]);
    // An honest account on the same collectors that never carried the key.
    const bystander = unique("by");
    await report(p, bystander, [`tls:${unique("own")}`], ticks(t0 + 20_000), false, []);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p)).verdict).toBe("confirmed");

    const holds = async (account: string) => (await env.ACCOUNTS.getByName(accountObjectName(account)).inspect()).clusters.some((v) => v.cluster === key && v.verdict === "confirmed");
    // Collectors that flushed before the root confirmed hear of it from a peer and tell their members after
    // answering it: wait for those calls, never for a time.
    const told = async () => {
      for (const n of [0, 1, 2, 3]) {
        const stub = env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(n));
        await runInDurableObject(stub, async (_i, state) => {
          await state.blockConcurrencyWhile(async () => {});
        });
      }
      const all = await Promise.all([...quiet, ...busy].map(holds));
      return all.every(Boolean);
    };
    let everyone = await told();
    for (let i = 0; i < 20 && !everyone; i++) everyone = await told();
    expect(everyone).toBe(true);
    expect(await holds(bystander)).toBe(false);
    // One call per member: the key and its band are confirmed at different collectors' flushes, and a
    // member told of the first while it stands is not told again of the second (the feed carries it).
    const calls = (await membersTold()) - toldBefore;
    expect(calls).toBe(quiet.length + busy.length);
  });

  it("should store a verdict a root only restates at most once a minute", async () => {
    const p = policy();
    const key = `tls:${unique("restated")}`;
    const a = unique("r-a");
    // A second account on the same collector: a two-account delta reaches the root, which answers every flush.
    let b = unique("r-b");
    while (collectorIndex(b, p.clusters.shards) !== collectorIndex(a, p.clusters.shards)) b = unique("r-b");
    const collector = env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(a, p.clusters.shards)));
    const stored = () =>
      runInDurableObject(collector, (_i, state) =>
        state.storage.sql.exec<{ answered_at: number }>(`SELECT answered_at FROM verdicts WHERE fp_key = ?`, key).toArray()[0]?.answered_at ?? null,
      );
    const round = async () => {
      for (const account of [a, b]) await report(p, account, [key], [Date.now()], false, []);
      await collector.flushNow();
    };
    await round();
    const first = await stored();
    expect(first).not.toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    await round();
    // Only restated ("none" again): the row keeps the first answer's time.
    expect(await stored()).toBe(first);
  });

  it("should bring a quiet fleet's accounts to their key's root though no collector hears two of them in one interval", async () => {
    const p = policy();
    const key = `wrap:p:${unique("quiet")}`;
    // Accounts by collector, so each round gives every collector exactly one of them.
    const byCollector: string[][] = [[], [], [], []];
    while (byCollector.some((list) => list.length < 6)) {
      const account = unique("q");
      const list = byCollector[collectorIndex(account, p.clusters.shards)];
      if (list && list.length < 6) list.push(account);
    }
    for (let round = 0; round < 6; round++) {
      for (const list of byCollector) {
        const account = list[round];
        if (account) await report(p, account, [key], [Date.now()], true, []);
      }
      await flushAll(p);
    }
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p);
    // All 24 (the sketch's error is ±1.6 %): the first account of each collector waited for the second and
    // went with it, and once the root had answered, the collector forwarded every later one alone.
    expect(Math.round(root.accounts)).toBe(24);
    expect(root.metrics?.requestsPerWindow).toBeGreaterThan(23);
  });

  it("should keep single-account keys away from roots but still record their edges", async () => {
    const p = policy();
    const key = `payment:${unique("solo")}`;
    const account = unique("solo-acct");
    await report(p, account, [key], [Date.now()], false, []);
    await flushAll(p);
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(p);
    expect(root.rollups).toBe(0);
    const edge = await env.DB.prepare(`SELECT account_id FROM account_fingerprints WHERE fp_key = ?`).bind(key).first<{ account_id: string }>();
    expect(edge?.account_id).toBe(account);
  });
});
