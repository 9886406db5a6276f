import { describe, expect, it } from "vitest";
import { admin, createAccount, unique } from "../../helpers.ts";
import { expectError, json, seedDecision } from "./helpers.ts";

type Entry = { id: number; at: string; kind: string; account: string | null; action: string | null; enforced: boolean | null; reasons: string[]; risk: number | null; country: string | null; detail: unknown };
type Page = { entries: Entry[]; nextCursor: string | null };

async function audit(query: string): Promise<Page> {
  const res = await admin("GET", `/audit?${query}`);
  expect(res.status, query).toBe(200);
  return json<Page>(res);
}

describe("GET /admin/audit", () => {
  it("should page newest first with a keyset cursor, no entry twice", async () => {
    const account = unique("audited");
    for (let i = 0; i < 5; i++) await seedDecision(account, { action: i % 2 ? "throttle" : "block" });
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await audit(`account=${account}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.entries.length).toBeLessThanOrEqual(2);
      ids.push(...page.entries.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(ids).toHaveLength(5);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });

  it("should show decisions with typed fields", async () => {
    const account = unique("audited");
    await seedDecision(account, { reasons: "cluster_verdict,region.asn_hosting" });
    const [entry] = (await audit(`account=${account}`)).entries;
    expect(entry).toMatchObject({ kind: "decision", account, action: "block", enforced: true, reasons: ["cluster_verdict", "region.asn_hosting"], risk: 72.5, country: "FR" });
  });

  it("should filter by kind, action, reason code and time", async () => {
    const account = unique("audited");
    await seedDecision(account, { action: "block", reasons: "tor,cluster_member", at: "2026-03-01T10:00:00.000Z" });
    await seedDecision(account, { action: "throttle", reasons: "cluster_member_x", at: "2026-03-02T10:00:00.000Z" });
    await seedDecision(account, { action: "degrade", reasons: "cot_elicitation", at: "2026-03-03T10:00:00.000Z" });
    const actions = async (q: string) => (await audit(`account=${account}&${q}`)).entries.map((e) => e.action);
    expect(await actions("action=throttle")).toEqual(["throttle"]);
    // Exact reason codes: "cluster_member" must not match "cluster_member_x".
    expect(await actions("reason=cluster_member")).toEqual(["block"]);
    expect(await actions("since=2026-03-02T00:00:00Z")).toEqual(["degrade", "throttle"]);
    expect(await actions("until=2026-03-02T00:00:00Z")).toEqual(["block"]);
    expect(await actions(`since=${encodeURIComponent("2026-03-02T11:00:00+02:00")}&until=2026-03-03T00:00:00Z`)).toEqual(["throttle"]);
    expect(await actions("kind=override")).toEqual([]);
  });

  it("should hold the operator's changes: account writes and key revocations", async () => {
    const account = await createAccount();
    await admin("DELETE", `/accounts/${account.id}/keys`);
    const page = await audit(`account=${account.id}&kind=admin`);
    expect(page.entries.map((e) => e.action)).toEqual(["revoke_keys", "account_create"]);
    expect(JSON.stringify(page)).not.toContain(account.key);
  });

  it("should refuse bad parameters with 400 naming them", async () => {
    for (const [query, field] of [
      ["limit=1000", "query.limit"],
      ["kind=login", "query.kind"],
      ["since=yesterday", "query.since"],
      ["until=2026-13-01T00:00:00Z", "query.until"],
      ["cursor=abc", "query.cursor"],
      ["user=x", "query"],
    ]) {
      const body = await expectError(await admin("GET", `/audit?${query}`), 400, "invalid_request_error");
      expect(body.error.message, query).toContain(field);
    }
  });
});
