import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertRows, ROWS_PER_STATEMENT } from "../../lib/d1-rows.ts";
import { unique } from "../helpers.ts";

type EdgeRow = { account_id: string; fp_key: string; kind: string; first_seen: number; last_seen: number };

describe("insertRows (many D1 rows as one json_each statement)", () => {
  it("should write every row, a statement per ROWS_PER_STATEMENT, with the values' SQL types", async () => {
    const account = unique("rows");
    const n = ROWS_PER_STATEMENT * 2 + 7;
    const rows = Array.from({ length: n }, (_, i) => [account, `tls:${i}`, "tls", 1_000 + i, 2_000 + i]);
    const statements = insertRows(env.DB, "account_fingerprints", ["account_id", "fp_key", "kind", "first_seen", "last_seen"], rows);
    expect(statements).toHaveLength(3);
    await env.DB.batch(statements);

    const { results } = await env.DB.prepare(
      `SELECT account_id, fp_key, kind, first_seen, last_seen, typeof(first_seen) AS t FROM account_fingerprints WHERE account_id = ? ORDER BY first_seen`,
    )
      .bind(account)
      .all<EdgeRow & { t: string }>();
    expect(results).toHaveLength(n);
    expect(results[0]).toEqual({ account_id: account, fp_key: "tls:0", kind: "tls", first_seen: 1_000, last_seen: 2_000, t: "integer" });
    expect(results.at(-1)?.fp_key).toBe(`tls:${n - 1}`);
  });

  it("should apply the conflict clause, also to a key repeated inside one statement", async () => {
    const account = unique("rows");
    const columns = ["account_id", "fp_key", "kind", "first_seen", "last_seen"];
    const conflict = "ON CONFLICT (account_id, fp_key) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)";
    await env.DB.batch(insertRows(env.DB, "account_fingerprints", columns, [[account, "asn:1", "asn", 10, 20]], conflict));
    await env.DB.batch(
      insertRows(env.DB, "account_fingerprints", columns, [[account, "asn:1", "asn", 10, 50], [account, "asn:1", "asn", 10, 30]], conflict),
    );
    const row = await env.DB.prepare(`SELECT first_seen, last_seen FROM account_fingerprints WHERE account_id = ?`).bind(account).first();
    expect(row).toEqual({ first_seen: 10, last_seen: 50 });
  });

  it("should keep text as it is (quotes, unicode, JSON) and store booleans as 0/1 and null as NULL", async () => {
    const id = unique("rows");
    const detail = JSON.stringify({ note: `it's "quoted" — ünïcode ✓`, n: [1, 2] });
    await env.DB.batch(
      insertRows(
        env.DB,
        "audit_log",
        ["at", "kind", "request_id", "account_id", "action", "enforced", "reasons", "risk", "country", "cluster", "detail"],
        [["2026-11-27T00:00:00.000Z", "decision", id, id, "deny", true, "a,b", 12.5, null, null, detail]],
      ),
    );
    const row = await env.DB.prepare(`SELECT enforced, risk, country, detail, typeof(risk) AS t FROM audit_log WHERE request_id = ?`).bind(id).first();
    expect(row).toEqual({ enforced: 1, risk: 12.5, country: null, detail, t: "real" });
  });

  it("should give no statement for no rows", () => {
    expect(insertRows(env.DB, "audit_log", ["at"], [])).toEqual([]);
  });
});
