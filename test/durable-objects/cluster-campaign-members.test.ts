import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ReportBuffer } from "../../lib/cluster/report.ts";
import { accountObjectName, clusterCollectorName, clusterRootName, collectorIndex } from "../../lib/names.ts";
import { policyText, validatePolicy, type Policy } from "../../lib/policy/index.ts";
import { unique } from "../helpers.ts";

// Collectors flush only when the test says so (see cluster.test.ts): an alarm mid-test would split a round.
const NO_ALARM_WITHIN_A_TEST_SECONDS = 3_600;

function policy(): Policy {
  const result = validatePolicy({ clusters: { minAccounts: 10, minRequestsPerWindow: 20, shards: 4, reportIntervalSeconds: NO_ALARM_WITHIN_A_TEST_SECONDS } });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

/** One report per account: `perAccount` requests on `wrapper` and the shared client build, from hosting, at the account's own moments. */
async function send(p: Policy, accounts: readonly string[], wrapper: string, client: string, perAccount: number, t0: number) {
  for (const [i, account] of accounts.entries()) {
    const buffer = new ReportBuffer();
    for (let r = 0; r < perAccount; r++) {
      buffer.add({
        at: t0 + ((i * 7_919 + r * 2_713) % 28_000), keys: [wrapper, client], bands: [], model: "demo-model-1", inputTokens: 100, outputTokens: 500,
        elicited: false, hosting: true, client,
      });
    }
    const batch = buffer.drain(account);
    if (!batch) throw new Error("empty report");
    await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(account, p.clusters.shards))).report(batch, policyText(p));
  }
}

async function flushAll(p: Policy) {
  for (let i = 0; i < p.clusters.shards; i++) await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(i)).flushNow();
}

describe("A confirmed campaign's members on a new prompt (campaign_members)", () => {
  it("Should confirm a second wording's wrapper sent by a confirmed campaign's accounts, and not the same wrapper sent by other accounts", async () => {
    const p = policy();
    const client = `tls+sdk:${unique("build")}`;
    const first = `wrap:s:${unique("first")}`;
    const second = `wrap:s:${unique("second")}`;
    const lookalike = `wrap:s:${unique("lookalike")}`;
    const campaign = Array.from({ length: 30 }, () => unique("campaign"));
    const others = Array.from({ length: 30 }, () => unique("other"));
    const t0 = Date.now() - 30_000;

    // The first wording at a script's pace: confirmed on its own evidence.
    await send(p, campaign, first, client, 10, t0);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(first)).inspectRoot(p)).verdict).toBe("confirmed");

    // The same accounts move to a second wording at an unremarkable pace; other accounts send a third
    // wrapper exactly as the campaign sends its second.
    await send(p, campaign, second, client, 3, t0);
    await send(p, others, lookalike, client, 3, t0);
    await flushAll(p);

    const inherited = await env.CLUSTER_ROOTS.getByName(clusterRootName(second)).inspectRoot(p);
    const control = await env.CLUSTER_ROOTS.getByName(clusterRootName(lookalike)).inspectRoot(p);
    expect(inherited.metrics?.campaignMemberShare).toBe(1);
    expect(control.metrics?.campaignMemberShare).toBe(0);
    expect(inherited.evidence.find((e) => e.evidence === "campaign_members")).toMatchObject({
      value: 1, points: p.clusters.verdict.weights.campaign_members, reason: "cluster.campaign_members",
    });
    expect(control.evidence.find((e) => e.evidence === "campaign_members")).toMatchObject({ value: 0, points: 0 });
    expect(inherited.verdict).toBe("confirmed");
    expect(inherited.reasons).toContain("cluster.campaign_members");
    expect(control.verdict).not.toBe("confirmed");
  });

  it("Should know an account that joins a confirmed campaign while its key is held back from the root as one of its members", async () => {
    const p = policy();
    const client = `tls+sdk:${unique("build")}`;
    const first = `wrap:s:${unique("first")}`;
    const second = `wrap:s:${unique("second")}`;
    const t0 = Date.now() - 30_000;
    await send(p, Array.from({ length: 30 }, () => unique("campaign")), first, client, 10, t0);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(first)).inspectRoot(p)).verdict).toBe("confirmed");
    const rollups = (await env.CLUSTER_ROOTS.getByName(clusterRootName(first)).inspectRoot(p)).rollups;

    // New accounts send the confirmed wording; the collectors hold its delta (no roll-up), then the accounts
    // send only the new wording.
    const joined = Array.from({ length: 20 }, () => unique("joined"));
    await send(p, joined, first, client, 2, t0);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(first)).inspectRoot(p)).rollups).toBe(rollups);
    await send(p, joined, second, client, 3, t0);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(second)).inspectRoot(p)).metrics?.campaignMemberShare).toBe(1);
  });

  it("Should tell the members told of the first wording of the second one as soon as it is confirmed", async () => {
    const p = policy();
    const client = `tls+sdk:${unique("build")}`;
    const first = `wrap:s:${unique("first")}`;
    const second = `wrap:s:${unique("second")}`;
    const campaign = Array.from({ length: 30 }, () => unique("campaign"));
    const t0 = Date.now() - 30_000;
    const holds = async (account: string, key: string) =>
      (await env.ACCOUNTS.getByName(accountObjectName(account)).inspect()).clusters.some((v) => v.cluster === key && v.verdict === "confirmed");
    // Peers tell their members after answering the confirming collector: wait for those calls, never for a time.
    const settled = async () => {
      for (let n = 0; n < p.clusters.shards; n++) {
        await runInDurableObject(env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(n)), async (_i, state) => {
          await state.blockConcurrencyWhile(async () => {});
        });
      }
    };
    const everyoneHolds = async (key: string) => {
      for (let i = 0; i < 20; i++) {
        await settled();
        if ((await Promise.all(campaign.map((a) => holds(a, key)))).every(Boolean)) return true;
      }
      return false;
    };
    await send(p, campaign, first, client, 10, t0);
    await flushAll(p);
    expect(await everyoneHolds(first)).toBe(true);

    // The second wording, confirmed while the first stands: its requests carry none of the first's
    // signature, so a member that holds only the first would be served in full until its next report.
    await send(p, campaign, second, client, 3, t0);
    await flushAll(p);
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(second)).inspectRoot(p)).verdict).toBe("confirmed");
    expect(await everyoneHolds(second)).toBe(true);
  });
});
