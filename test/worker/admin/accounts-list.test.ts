/** `GET /admin/accounts` as the console's list uses it: prefix search, sorts over what D1 knows, keyset paging. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAccount, gateway, unique } from "../../helpers.ts";
import { admin, expectError, json, seedDecision, seedEdge } from "./helpers.ts";

type Listed = {
  id: string;
  tier: string;
  verified: boolean;
  risk: number | null;
  action: string | null;
  decidedAt: string | null;
  lastActivityAt: string | null;
};
type Page = { accounts: Listed[]; sort: string; order: string; nextCursor: string | null };

async function list(query: string): Promise<Page> {
  const res = await admin("GET", `/accounts?${query}`);
  expect(res.status).toBe(200);
  return json<Page>(res);
}

/** Three accounts under one fresh prefix, with different risk, activity, tier and verification. */
async function seedFleet() {
  const prefix = unique("fleet").replaceAll(/[^A-Za-z0-9]/g, "");
  const ids = { calm: `${prefix}-a`, risky: `${prefix}-b`, idle: `${prefix}-c` };
  for (const [id, fields] of [
    [ids.calm, { tier: "scale", verified: true }],
    [ids.risky, { tier: "build", verified: false }],
    [ids.idle, { tier: "free", verified: false }],
  ] as const) {
    const res = await admin("PUT", `/accounts/${id}`, { keys: [`sk-test-${unique("k")}`], ...fields });
    expect(res.status).toBe(201);
  }
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  await seedDecision(ids.calm, { action: "tag", at: hourAgo });
  await env.DB.prepare("UPDATE audit_log SET risk = 12 WHERE account_id = ?").bind(ids.calm).run();
  await seedDecision(ids.risky, { action: "throttle", at: hourAgo });
  await seedDecision(ids.risky, { action: "block" });
  await seedEdge(ids.calm, `tls:${unique("t")}`, Date.now() - 86_400_000, Date.now() - 60_000);
  return { prefix, ids };
}

describe("GET /admin/accounts search and sort", () => {
  it("should find accounts by id prefix only", async () => {
    const { prefix, ids } = await seedFleet();
    await createAccount();
    const page = await list(`prefix=${prefix}`);
    expect(page.accounts.map((a) => a.id)).toEqual([ids.calm, ids.risky, ids.idle]);
    expect((await list(`prefix=${prefix}-b`)).accounts.map((a) => a.id)).toEqual([ids.risky]);
    expect((await list(`prefix=${prefix}zzz`)).accounts).toEqual([]);
  });

  it("should show each account's latest audited decision, its risk and its last activity", async () => {
    const { prefix, ids } = await seedFleet();
    const byId = new Map((await list(`prefix=${prefix}`)).accounts.map((a) => [a.id, a]));
    expect(byId.get(ids.risky)).toMatchObject({ action: "block", risk: 72.5, tier: "build", verified: false });
    expect(byId.get(ids.calm)).toMatchObject({ action: "tag", risk: 12, verified: true });
    expect(byId.get(ids.idle)).toMatchObject({ action: null, risk: null, decidedAt: null, lastActivityAt: null });
    // The edge seen a minute ago is later than the decision an hour ago.
    const calmActivity = Date.parse(byId.get(ids.calm)?.lastActivityAt ?? "");
    expect(calmActivity).toBeGreaterThan(Date.parse(byId.get(ids.calm)?.decidedAt ?? ""));
  });

  it("should sort by risk, latest action, activity, tier and verification, each way", async () => {
    const { prefix, ids } = await seedFleet();
    const order = async (query: string) => (await list(`prefix=${prefix}&${query}`)).accounts.map((a) => a.id);
    expect(await order("sort=risk")).toEqual([ids.risky, ids.calm, ids.idle]);
    expect(await order("sort=risk&order=asc")).toEqual([ids.idle, ids.calm, ids.risky]);
    expect(await order("sort=action")).toEqual([ids.risky, ids.calm, ids.idle]);
    // risky's block is from now, calm's edge from a minute ago, idle has done nothing.
    expect(await order("sort=activity")).toEqual([ids.risky, ids.calm, ids.idle]);
    expect(await order("sort=tier")).toEqual([ids.risky, ids.idle, ids.calm]);
    // Ties fall back to the id, in the same direction.
    expect(await order("sort=verified")).toEqual([ids.calm, ids.idle, ids.risky]);
    expect(await order("sort=id&order=desc")).toEqual([ids.idle, ids.risky, ids.calm]);
  });

  it("should page a sorted list with cursors that keep the order and repeat no account", async () => {
    const { prefix, ids } = await seedFleet();
    const first = await list(`prefix=${prefix}&sort=risk&limit=2`);
    expect(first.accounts.map((a) => a.id)).toEqual([ids.risky, ids.calm]);
    expect(first.nextCursor).not.toBeNull();
    const second = await list(`prefix=${prefix}&sort=risk&limit=2&cursor=${encodeURIComponent(first.nextCursor ?? "")}`);
    expect(second.accounts.map((a) => a.id)).toEqual([ids.idle]);
    expect(second.nextCursor).toBeNull();
    // A cursor belongs to its ordering: reusing it under another is a client error, not a wrong page.
    const body = await expectError(await admin("GET", `/accounts?prefix=${prefix}&sort=tier&cursor=${encodeURIComponent(first.nextCursor ?? "")}`), 400, "invalid_request_error");
    expect(body.error.message).toMatch(/cursor/);
  });

  it("should refuse bad parameters with 400 naming each one", async () => {
    for (const [query, field] of [
      ["sort=password", "query.sort"],
      ["order=sideways", "query.order"],
      ["prefix=%27%20OR%201%3D1", "query.prefix"],
      ["limit=0", "query.limit"],
      ["limit=501", "query.limit"],
      ["colour=red", "query"],
      ["cursor=%%%", "query.cursor"],
    ]) {
      const body = await expectError(await admin("GET", `/accounts?${query}`), 400, "invalid_request_error");
      expect(body.error.message, query).toContain(field);
    }
  });

  it("should require the admin token", async () => {
    await expectError(await gateway("/admin/accounts?sort=risk"), 401, "authentication_error");
    await expectError(await gateway("/admin/accounts?sort=risk", { headers: { authorization: "Bearer wrong" } }), 401, "authentication_error");
  });
});
