/**
 * Storage an attacker can make the cluster objects keep (issue 16, item 7): each test grows a table
 * the way a campaign would and checks that it stops at its bound.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ClusterCollectorDO } from "../../durable-objects/cluster-collector.ts";
import type { AccountAuditRow } from "../../lib/audit.ts";
import { clusterCollectorName, clusterRootName } from "../../lib/names.ts";
import { DEFAULT_POLICY, policyText } from "../../lib/policy/index.ts";
import { unique } from "../helpers.ts";

function auditRow(i: number): AccountAuditRow {
  return { at: Date.now(), kind: "decision", requestId: `req-${i}`, action: "throttle", enforced: 1, reasons: `quota.requests,test.r${i}`,
    risk: 0, country: "US", cluster: null, detail: null, count: 1 };
}

describe("Cluster objects' storage bounds", () => {
  it("should keep at most its cap of audit rows waiting for D1, dropping the oldest", async () => {
    // A collector of its own: no other test hands rows to it.
    const stub = env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(1_000 + Math.floor(Math.random() * 1_000_000)));
    await runInDurableObject<ClusterCollectorDO, void>(stub, (instance) => {
      instance.pendingAuditCap = 40;
    });
    const accountId = unique("acct");
    // D1 never gets them (no flush runs): hand-offs pile up as they would during an outage.
    for (let batch = 0; batch < 5; batch++) {
      await stub.report(null, policyText(DEFAULT_POLICY), { accountId, rows: Array.from({ length: 20 }, (_, i) => auditRow(batch * 20 + i)), counts: [] });
    }
    const kept = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ n: number; oldest: string }>(`SELECT COUNT(*) AS n, MIN(request_id) AS oldest FROM audit_pending`).one(),
    );
    expect(kept.n).toBe(40);
    // The newest 40 of 100: req-60 … req-99.
    const ids = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ request_id: string }>(`SELECT request_id FROM audit_pending ORDER BY id`).toArray().map((r) => r.request_id),
    );
    expect(ids[0]).toBe("req-60");
    expect(ids.at(-1)).toBe("req-99");
  });

  it("should remember at most 64 models per key, however many names clients make up", async () => {
    const key = `tls:${unique("models")}`;
    const stub = env.CLUSTER_ROOTS.getByName(clusterRootName(key));
    const counts = (models: string[]) => ({
      requests: models.length, inputTokens: 0, outputTokens: 0, elicited: 0, bands: {}, models: Object.fromEntries(models.map((m) => [m, 1])),
    });
    // A real model in every roll-up, and 16 invented names in each (a delta carries at most 16 models).
    for (let round = 0; round < 20; round++) {
      const junk = Array.from({ length: 15 }, (_, i) => `made-up-${round}-${i}`);
      await stub.rollup({ key, accounts: ["a", "b"], counts: counts(["demo-model-1", ...junk]), synchrony: null, at: Date.now() }, policyText(DEFAULT_POLICY));
    }
    const models = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ model: string }>(`SELECT model FROM models_first_seen`).toArray().map((r) => r.model),
    );
    expect(models).toHaveLength(64);
    // The model in use is never the one evicted.
    expect(models).toContain("demo-model-1");
  });
});
