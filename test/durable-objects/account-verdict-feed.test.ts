/**
 * The account object's side of the verdict feed, by direct RPC: what it reads from its collector with a
 * report, what it hands the edge after the edge's version, and that an edge's stale copy of a verdict
 * cannot undo the verdict's end.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ReportBuffer } from "../../lib/cluster/report.ts";
import type { CachedVerdict } from "../../lib/decision.ts";
import { clusterCollectorName, clusterRootName } from "../../lib/names.ts";
import { policyText } from "../../lib/policy/index.ts";
import { unique } from "../helpers.ts";
import { admitRequest, advanceClock, newAccount, testPolicy } from "./account-helpers.ts";

const BANDS = ["tpl:0:f00d", "tpl:2:d00d"];

function campaignRequest(id: string, policy: ReturnType<typeof testPolicy>, key: string, verdicts?: CachedVerdict[]) {
  const base = admitRequest(id, policy);
  return { ...base, fingerprint: { ...base.fingerprint, keys: [key, ...BANDS], elicitation: 0.9 }, ...(verdicts ? { verdicts } : {}) };
}

describe("the account object's verdict feed", () => {
  it("Should not let an edge's older copy of a confirmed verdict bring back one whose end it has heard", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { requests: 1_000 });
    const key = `tls:${unique("stale")}`;
    const decidedAt = Date.now() - 60_000;
    const confirmed: CachedVerdict = { cluster: key, verdict: "confirmed", capPerWindow: 5, reasons: [], decidedAt, signature: { bands: BANDS, eliciting: true } };
    expect((await stub.admit(campaignRequest(id, policy, key, [confirmed]))).reasons).toContain("cluster.confirmed");
    const end: CachedVerdict = { cluster: key, verdict: "none", capPerWindow: null, reasons: [], decidedAt: decidedAt + 30_000 };
    expect((await stub.admit(campaignRequest(id, policy, key, [end]))).reasons).not.toContain("cluster.confirmed");
    // Another edge that has not heard of the end still sends the confirmed copy.
    const stale = await stub.admit(campaignRequest(id, policy, key, [confirmed]));
    expect(stale.reasons).not.toContain("cluster.confirmed");
    expect(stale.clusters).toEqual([]);
  });

  it("Should read the collector's confirmations with its report and hand the edge only what is newer than the edge's version", async () => {
    const policy = testPolicy({ clusters: { shards: 1, reportIntervalSeconds: 1, minAccounts: 10, minRequestsPerWindow: 20 } }, { requests: 1_000 });
    const collector = env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(0));
    const key = `tls:${unique("feed")}`;
    const t0 = Date.now() - 20_000;
    // Twenty accounts in step on one template, asking for reasoning: a confirmed key at its root.
    for (let a = 0; a < 20; a++) {
      const buffer = new ReportBuffer();
      for (let r = 0; r < 4; r++) buffer.add({ at: t0 + r * 2_000, keys: [key, ...BANDS], bands: BANDS, model: "demo-model-1", inputTokens: 100, outputTokens: 500, elicited: true });
      await collector.report(buffer.drain(unique("member")), policyText(policy));
    }
    await collector.flushNow();
    expect((await env.CLUSTER_ROOTS.getByName(clusterRootName(key)).inspectRoot(policy)).verdict).toBe("confirmed");

    // An account that shares nothing with the campaign reports once, and learns of it.
    const { id, stub } = newAccount();
    await stub.admit(admitRequest(id, policy, { fingerprint: { ...admitRequest(id, policy).fingerprint, keys: [`asn:${unique("home")}`] } }));
    await advanceClock(stub, 1_100);
    await runDurableObjectAlarm(stub);

    const first = await stub.admit({ ...admitRequest(id, policy), feedSince: 0 });
    const fed = first.feed?.verdicts.find((v) => v.cluster === key);
    expect(fed?.verdict).toBe("confirmed");
    expect(fed?.signature?.bands).toEqual(expect.arrayContaining(BANDS));
    // Not its own verdict: nothing lands on this account's requests.
    expect(first.clusters).toEqual([]);
    const version = first.feed?.version ?? 0;
    expect(version).toBeGreaterThanOrEqual(fed?.version ?? Number.POSITIVE_INFINITY);
    // An edge that is up to date gets no feed at all; one that asks for none neither.
    expect((await stub.admit({ ...admitRequest(id, policy), feedSince: version })).feed).toBeUndefined();
    expect((await stub.admit(admitRequest(id, policy))).feed).toBeUndefined();
    // The account's own request carrying the key is the campaign's from now on, with no edge's help.
    expect((await stub.admit(campaignRequest(id, policy, key))).reasons).toContain("cluster.confirmed");
  });
});
