import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AUDIT_COLUMNS, AUDIT_SELECT, auditLogStatements, type AuditLogRow, type AuditRow } from "../../lib/audit.ts";
import { clusterCollectorName } from "../../lib/names.ts";
import { unique } from "../helpers.ts";

describe("The audit row (lib/audit.ts)", () => {
  it("should read back from D1 the rows it wrote, with `at` as ISO text", async () => {
    const account = unique("audit");
    const rows: AuditRow[] = [
      { at: Date.parse("2026-11-30T08:00:00.123Z"), kind: "decision", requestId: "req-1", accountId: account, action: "degrade", enforced: 0,
        reasons: "risk.elicitation,cluster.suspect", risk: 41.25, country: "DE", cluster: "tpl:0:ab", detail: `{"quote":"it's \\"x\\""}`, count: 12 },
      { at: Date.parse("2026-11-30T08:00:01.000Z"), kind: "admin", requestId: null, accountId: account, action: "revoke_keys", enforced: null,
        reasons: null, risk: null, country: null, cluster: null, detail: null, count: 1 },
    ];
    await env.DB.batch(auditLogStatements(env.DB, rows));
    const { results } = await env.DB.prepare(`SELECT id, ${AUDIT_SELECT} FROM audit_log WHERE account_id = ? ORDER BY id`).bind(account).all<AuditLogRow>();
    expect(results.map(({ id: _id, ...row }) => row)).toEqual(rows.map((row) => ({ ...row, at: new Date(row.at).toISOString() })));
  });

  it("should name the columns of D1's audit_log and of a collector's pending table alike", async () => {
    const columns = (rows: { name: string }[]) => rows.map((r) => r.name);
    const log = await env.DB.prepare(`SELECT name FROM pragma_table_info('audit_log') ORDER BY cid`).all<{ name: string }>();
    const pending = await runInDurableObject(env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(0)), (_instance, state) =>
      state.storage.sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('audit_pending') ORDER BY cid`).toArray(),
    );
    expect(columns(log.results)).toEqual(["id", ...AUDIT_COLUMNS]);
    expect(columns(pending)).toEqual(["id", ...AUDIT_COLUMNS]);
  });
});
