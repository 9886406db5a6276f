/**
 * The objects of the old two-role class run as ClusterRootDO after the wrangler migration renamed it:
 * roots must come through with their state, and old collectors must still get their audit rows to D1.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ROOT_SCHEMA } from "../../durable-objects/cluster-root.ts";
import { AUDIT_SELECT, type AuditRow } from "../../lib/audit.ts";
import { clusterCollectorName, clusterRootName } from "../../lib/names.ts";
import { policyText, validatePolicy, type Policy } from "../../lib/policy/index.ts";
import { unique } from "../helpers.ts";

function policy(): Policy {
  const result = validatePolicy({ clusters: { minAccounts: 10, minRequestsPerWindow: 20, shards: 4 } });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

/** Gives an object the tables and schema version (4) the old ClusterDO left in every object it ran. */
function asOldClass(sql: SqlStorage): void {
  for (const statement of ROOT_SCHEMA.migrations.slice(0, 4).flat()) sql.exec(statement);
  sql.exec(`DELETE FROM schema_version`);
  sql.exec(`INSERT INTO schema_version (version) VALUES (4)`);
}

function tablesAndVersion(sql: SqlStorage): { tables: string[]; version: number } {
  return {
    tables: sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name != 'sqlite_sequence' ORDER BY name`).toArray().map((r) => r.name),
    version: sql.exec<{ version: number }>(`SELECT version FROM schema_version`).one().version,
  };
}

describe("Cluster objects made before the collector/root split", () => {
  it("should keep an old root's counters and verdict, and drop the old class's collector tables", async () => {
    const p = policy();
    const key = `tls:${unique("old-root")}`;
    const stub = env.CLUSTER_ROOTS.getByName(clusterRootName(key));
    const counts = { requests: 5, inputTokens: 500, outputTokens: 2_500, elicited: 5, bands: { "tpl:0:beef": 5 }, models: { "demo-model-1": 5 } };
    for (let i = 0; i < 3; i++) {
      await stub.rollup({ key, accounts: [`a-${i}`, `b-${i}`], counts, synchrony: { value: 0.9, pairs: 1 }, at: Date.now() }, policyText(p));
    }
    await runDurableObjectAlarm(stub);
    const before = await stub.inspectRoot(p);
    expect(before.rollups).toBe(3);
    await runInDurableObject(stub, (_instance, state) => asOldClass(state.storage.sql));
    await evictDurableObject(stub);

    // The window's active accounts live in memory (lib/cluster/active.ts): a fresh instance has no volume ratio yet.
    expect(await stub.inspectRoot(p)).toEqual({ ...before, metrics: { ...before.metrics, volumeRatio: undefined } });
    expect(await runInDurableObject(stub, (_instance, state) => tablesAndVersion(state.storage.sql))).toEqual({
      tables: ["buckets", "meta", "models_first_seen", "schema_version"],
      version: 5,
    });
  });

  it("should write an old collector's pending audit rows and counts to D1 from its alarm, then drop its audit tables", async () => {
    const stub = env.CLUSTER_ROOTS.getByName(clusterCollectorName(9_000 + Math.floor(Math.random() * 1_000)));
    const account = unique("old-collector");
    const at = Date.parse("2026-11-30T12:00:00.000Z");
    // A minute no other test counts in.
    const minute = 60_000 * (1_000 + Math.floor(Math.random() * 100_000));
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = state.storage.sql;
      asOldClass(sql);
      for (const [i, action] of ["throttle", "block"].entries()) {
        sql.exec(
          `INSERT INTO audit_pending (at, kind, request_id, account_id, action, enforced, reasons, risk, country, cluster, detail)
           VALUES (?, 'decision', ?, ?, ?, 1, 'cluster.confirmed', 72.5, 'US', 'tls:x', '{"n":1}')`,
          at + i, `req-${i}`, account, action,
        );
      }
      sql.exec(`INSERT INTO counts_pending (minute, action, enforced, count) VALUES (?, 'block', 1, 3)`, minute);
      // The old class kept an alarm set while it held rows.
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    await evictDurableObject(stub);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const { results } = await env.DB.prepare(`SELECT ${AUDIT_SELECT} FROM audit_log WHERE account_id = ? ORDER BY id`)
      .bind(account)
      .all<Omit<AuditRow, "at"> & { at: string }>();
    const row = (i: number, action: string) => ({
      at: new Date(at + i).toISOString(), kind: "decision", requestId: `req-${i}`, accountId: account, action, enforced: 1,
      reasons: "cluster.confirmed", risk: 72.5, country: "US", cluster: "tls:x", detail: '{"n":1}', count: 1,
    });
    expect(results).toEqual([row(0, "throttle"), row(1, "block")]);
    const count = await env.DB.prepare(`SELECT count FROM decision_counts WHERE minute = ? AND action = 'block' AND enforced = 1`)
      .bind(minute)
      .first<{ count: number }>();
    expect(count?.count).toBe(3);
    expect(await runInDurableObject(stub, (_instance, state) => tablesAndVersion(state.storage.sql))).toEqual({
      tables: ["buckets", "meta", "models_first_seen", "schema_version"],
      version: 5,
    });
  });
});
