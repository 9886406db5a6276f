/** `GET /admin/stats/top` and the per-account series of `GET /admin/stats/decisions?account=`, from the audit log. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gateway, unique } from "../../helpers.ts";
import { admin, expectError, json } from "./helpers.ts";

type Tally = { decisions: number; lastAt: string; actions: Record<string, number> };
type Top = {
  decisions: number;
  complete: boolean;
  accounts: Array<Tally & { account: string }>;
  reasons: Array<Tally & { reason: string }>;
  clusters: Array<Tally & { cluster: string; accounts: number }>;
};
type Series = { bucket: string; bucketSeconds: number; source: string; series: Array<{ start: string; enforced: Record<string, number> }>; totals: { enforced: Record<string, number>; shadow: Record<string, number> } };

/** A decision row standing for `count` repeats, as the collectors write them. */
async function audit(account: string, fields: { at: Date; action: string; reasons: string; cluster?: string; count?: number; enforced?: number }) {
  await env.DB.prepare(
    `INSERT INTO audit_log (at, kind, request_id, account_id, action, enforced, reasons, risk, country, cluster, detail, count)
     VALUES (?, 'decision', ?, ?, ?, ?, ?, 50, 'US', ?, NULL, ?)`,
  )
    .bind(fields.at.toISOString(), unique("req"), account, fields.action, fields.enforced ?? 1, fields.reasons, fields.cluster ?? null, fields.count ?? 1)
    .run();
}

/** A range of its own in the past, so other tests' rows (written "now") stay out of it. */
function range() {
  const until = new Date(Date.UTC(2020, 0, 1) + Math.floor(Math.random() * 1_000_000) * 3_600_000);
  return { since: new Date(until.getTime() - 3_600_000), until };
}

describe("GET /admin/stats/top", () => {
  it("should rank accounts, reasons and clusters by the decisions their audit rows stand for", async () => {
    const { since, until } = range();
    const [a, b] = [unique("top"), unique("top")];
    const cluster = `cc:${unique("c")}`;
    const at = new Date(since.getTime() + 60_000);
    await audit(a, { at, action: "throttle", reasons: "risk.threshold,tor", count: 33, cluster });
    await audit(a, { at, action: "block", reasons: "tor", count: 2, cluster });
    await audit(b, { at, action: "degrade", reasons: "cluster_verdict", count: 5, cluster });
    await audit(b, { at: new Date(since.getTime() - 60_000), action: "block", reasons: "too_early", count: 100 });

    const res = await admin("GET", `/stats/top?since=${since.toISOString()}&until=${until.toISOString()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const top = await json<Top>(res);
    expect(top.decisions).toBe(40);
    expect(top.complete).toBe(true);
    expect(top.accounts.map((t) => [t.account, t.decisions])).toEqual([[a, 35], [b, 5]]);
    expect(top.accounts[0]?.actions).toMatchObject({ throttle: 33, block: 2 });
    expect(top.reasons.map((t) => [t.reason, t.decisions])).toEqual([["tor", 35], ["risk.threshold", 33], ["cluster_verdict", 5]]);
    expect(top.clusters).toEqual([expect.objectContaining({ cluster, decisions: 40, accounts: 2 })]);
  });

  it("should cut each list at the limit", async () => {
    const { since, until } = range();
    for (let i = 0; i < 4; i++) await audit(unique("many"), { at: new Date(since.getTime() + 1_000), action: "tag", reasons: `r${i}`, count: i + 1 });
    const top = await json<Top>(await admin("GET", `/stats/top?since=${since.toISOString()}&until=${until.toISOString()}&limit=2`));
    expect(top.accounts.map((t) => t.decisions)).toEqual([4, 3]);
    expect(top.reasons.map((t) => t.reason)).toEqual(["r3", "r2"]);
  });

  it("should refuse bad parameters with 400 naming each one, and require the admin token", async () => {
    for (const [query, field] of [
      ["since=yesterday", "query.since"],
      ["since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "query.until"],
      ["limit=101", "query.limit"],
      ["by=accounts", "query"],
    ]) {
      const body = await expectError(await admin("GET", `/stats/top?${query}`), 400, "invalid_request_error");
      expect(body.error.message, query).toContain(field);
    }
    await expectError(await gateway("/admin/stats/top"), 401, "authentication_error");
  });
});

describe("GET /admin/stats/decisions?account=", () => {
  it("should chart one account's audited decisions per bucket, repeats counted", async () => {
    const { since, until } = range();
    const [mine, other] = [unique("acct"), unique("acct")];
    await audit(mine, { at: new Date(since.getTime() + 5 * 60_000), action: "throttle", reasons: "x", count: 33 });
    await audit(mine, { at: new Date(since.getTime() + 50 * 60_000), action: "block", reasons: "x", count: 2 });
    await audit(mine, { at: new Date(since.getTime() + 50 * 60_000), action: "block", reasons: "x", enforced: 0 });
    await audit(other, { at: new Date(since.getTime() + 5 * 60_000), action: "block", reasons: "x", count: 7 });

    const res = await admin("GET", `/stats/decisions?account=${mine}&since=${since.toISOString()}&until=${until.toISOString()}&bucket=15m`);
    expect(res.status).toBe(200);
    const stats = await json<Series>(res);
    expect(stats.source).toBe("audit_log");
    expect(stats.series).toHaveLength(4);
    expect(stats.series.map((p) => [p.enforced.throttle, p.enforced.block])).toEqual([[33, 0], [0, 0], [0, 0], [0, 2]]);
    expect(stats.totals.enforced).toEqual({ allow: 0, tag: 0, degrade: 0, throttle: 33, block: 2 });
    expect(stats.totals.shadow.block).toBe(1);
  });

  it("should refuse a malformed account id", async () => {
    const body = await expectError(await admin("GET", "/stats/decisions?account=%27%3B--"), 400, "invalid_request_error");
    expect(body.error.message).toContain("query.account");
  });
});
