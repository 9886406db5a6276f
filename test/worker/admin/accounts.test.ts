import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountState } from "../../../lib/decision.ts";
import { ADMIN_TOKEN, admin, createAccount, gateway, postMessage, unique } from "../../helpers.ts";
import { expectError, json, seedComponent } from "./helpers.ts";

type PublicAccount = { id: string; tier: string; verified: boolean; keyCount: number; billingCountry: string | null };
type AccountView = {
  account: PublicAccount;
  state: AccountState;
  clusters: Array<{ id: string; size: number | null; verdict: string | null; reasons: string[] }>;
};
type AccountList = { accounts: PublicAccount[]; nextCursor: string | null };

describe("GET /admin/accounts/{id}", () => {
  it("should show the record, the live object state and cluster memberships", async () => {
    const account = await createAccount({ tier: "build", verified: true, billingCountry: "FR" });
    expect((await postMessage(account.key)).status).toBe(200);
    const clusterId = await seedComponent({ members: [account.id, unique("other")], verdict: "suspect", reasons: "synchronized,templated" });

    const res = await admin("GET", `/accounts/${account.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const view = await json<AccountView>(res);
    expect(view.account).toMatchObject({ id: account.id, tier: "build", verified: true, billingCountry: "FR", keyCount: 1 });
    expect(view.state.accountId).toBe(account.id);
    expect(view.state.usage.requests).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(view.state.overrides)).toBe(true);
    expect(view.clusters).toEqual([{ id: clusterId, size: 2, verdict: "suspect", reasons: ["synchronized", "templated"], updatedAt: expect.any(String) }]);
    expect(JSON.stringify(view)).not.toContain(account.key);
  });

  it("should answer an unknown account with 404 not_found_error", async () => {
    await expectError(await admin("GET", `/accounts/${unique("nobody")}`), 404, "not_found_error");
  });

  it("should answer a malformed id with 400 naming the path", async () => {
    const body = await expectError(await admin("GET", "/accounts/-bad%20id"), 400, "invalid_request_error");
    expect(body.error.message).toMatch(/^path: account id/);
  });
});

describe("GET /admin/accounts", () => {
  it("should page through every account in id order with an opaque cursor", async () => {
    const seen: string[] = [];
    const created = [await createAccount(), await createAccount(), await createAccount()].map((a) => a.id);
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : "?limit=2";
      const res = await admin("GET", `/accounts${query}`);
      expect(res.status).toBe(200);
      const page = await json<AccountList>(res);
      expect(page.accounts.length).toBeLessThanOrEqual(2);
      seen.push(...page.accounts.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of created) expect(seen).toContain(id);
  });

  it("should refuse a bad limit, an unknown parameter and a forged cursor with 400 naming the field", async () => {
    expect((await expectError(await admin("GET", "/accounts?limit=0"), 400, "invalid_request_error")).error.message).toContain("query.limit");
    expect((await expectError(await admin("GET", "/accounts?limit=501"), 400, "invalid_request_error")).error.message).toContain("query.limit");
    expect((await expectError(await admin("GET", "/accounts?limit=abc"), 400, "invalid_request_error")).error.message).toContain("query.limit");
    expect((await expectError(await admin("GET", "/accounts?sort=password"), 400, "invalid_request_error")).error.message).toContain("query.sort");
    expect((await expectError(await admin("GET", "/accounts?colour=red"), 400, "invalid_request_error")).error.message).toContain("query");
    expect((await expectError(await admin("GET", "/accounts?cursor=%%%"), 400, "invalid_request_error")).error.message).toContain("query.cursor");
  });
});

describe("PUT /admin/accounts/{id}", () => {
  it("should record creation and update in the audit log without billing or payment data", async () => {
    const id = unique("acct");
    expect((await admin("PUT", `/accounts/${id}`, { keys: [`sk-test-${unique("k")}`], billingCountry: "BR", paymentFingerprint: "pm_marker_123" })).status).toBe(201);
    expect((await admin("PUT", `/accounts/${id}`, { keys: [`sk-test-${unique("k")}`], tier: "scale" })).status).toBe(200);
    const { results } = await env.DB.prepare("SELECT action, detail FROM audit_log WHERE account_id = ? ORDER BY id").bind(id).all<{ action: string; detail: string }>();
    expect(results.map((r) => r.action)).toEqual(["account_create", "account_update"]);
    const text = JSON.stringify(results);
    expect(text).not.toContain("pm_marker_123");
    expect(text).not.toContain("BR");
  });

  it("should date an account from the provider's createdAt, keep it on later upserts, and hand it to the account's requests", async () => {
    const id = unique("acct");
    const key = `sk-test-${unique("k")}`;
    const opened = "2023-04-05T06:07:08.000Z";
    expect((await admin("PUT", `/accounts/${id}`, { keys: [key], createdAt: "2023-04-05T06:07:08Z" })).status).toBe(201);
    expect((await admin("PUT", `/accounts/${id}`, { keys: [key], tier: "build" })).status).toBe(200);
    const record = JSON.parse((await env.CONFIG.get(`account:${id}`)) ?? "{}") as { createdAt?: string; profile?: { createdAt?: number } };
    expect(record.createdAt).toBe(opened);
    // The profile the edge reads carries it too: account age is verdict evidence.
    expect(record.profile?.createdAt).toBe(Date.parse(opened));
    const row = await env.DB.prepare("SELECT created_at FROM accounts WHERE id = ?").bind(id).first<{ created_at: string }>();
    expect(row?.created_at).toBe(opened);
    // Without one, a new account is dated from its import.
    const fresh = await createAccount();
    const freshRecord = JSON.parse((await env.CONFIG.get(`account:${fresh.id}`)) ?? "{}") as { createdAt?: string };
    expect(Date.now() - Date.parse(freshRecord.createdAt ?? "")).toBeLessThan(86_400_000);
  });

  it("should refuse a createdAt that is not a date or lies in the future", async () => {
    for (const createdAt of ["yesterday", "", new Date(Date.now() + 7 * 86_400_000).toISOString()]) {
      const body = await expectError(await admin("PUT", `/accounts/${unique("acct")}`, { keys: [`sk-test-${unique("k")}`], createdAt }), 400, "invalid_request_error");
      expect(body.error.message, createdAt).toContain("body.createdAt");
    }
  });

  it("should name the bad field of an invalid body", async () => {
    const body = await expectError(await admin("PUT", `/accounts/${unique("acct")}`, { keys: ["short"] }), 400, "invalid_request_error");
    expect(body.error.message).toContain("body.keys.0");
    const missing = await expectError(await admin("PUT", `/accounts/${unique("acct")}`, { tier: "free" }), 400, "invalid_request_error");
    expect(missing.error.message).toContain("body.keys");
  });
});

describe("DELETE /admin/accounts/{id}/keys", () => {
  it("should revoke every key at once in this isolate, keeping the account", async () => {
    const account = await createAccount();
    expect((await postMessage(account.key)).status).toBe(200);
    const res = await admin("DELETE", `/accounts/${account.id}/keys`);
    expect(res.status).toBe(200);
    expect(await json<{ account: PublicAccount; revoked: number }>(res)).toMatchObject({ revoked: 1, account: { id: account.id, keyCount: 0 } });
    expect((await postMessage(account.key)).status).toBe(401);
    const listed = await json<AccountView>(await admin("GET", `/accounts/${account.id}`));
    expect(listed.account.keyCount).toBe(0);
    const audit = await env.DB.prepare("SELECT detail FROM audit_log WHERE account_id = ? AND action = 'revoke_keys'").bind(account.id).first<{ detail: string }>();
    expect(JSON.parse(audit?.detail ?? "null")).toEqual({ revoked: 1, remaining: 0 });
  });

  it("should revoke only the listed keys and let the others work", async () => {
    const id = unique("acct");
    const [leaked, kept] = [`sk-test-${unique("leaked")}`, `sk-test-${unique("kept")}`];
    expect((await admin("PUT", `/accounts/${id}`, { keys: [leaked, kept] })).status).toBe(201);
    const res = await admin("DELETE", `/accounts/${id}/keys`, { keys: [leaked] });
    expect(await json<{ revoked: number; account: PublicAccount }>(res)).toMatchObject({ revoked: 1, account: { keyCount: 1 } });
    expect((await postMessage(leaked)).status).toBe(401);
    expect((await postMessage(kept)).status).toBe(200);
  });

  it("should refuse keys of another account and revoke nothing", async () => {
    const [a, b] = [await createAccount(), await createAccount()];
    const body = await expectError(await admin("DELETE", `/accounts/${a.id}/keys`, { keys: [b.key] }), 400, "invalid_request_error");
    expect(body.error.message).toContain("body.keys");
    expect((await postMessage(a.key)).status).toBe(200);
    expect((await postMessage(b.key)).status).toBe(200);
  });

  it("should refuse a body that is not JSON instead of revoking every key", async () => {
    const account = await createAccount();
    const res = await gateway(`/admin/accounts/${account.id}/keys`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/x-www-form-urlencoded" },
      body: account.key,
    });
    expect((await expectError(res, 400, "invalid_request_error")).error.message).toContain("body");
    expect((await postMessage(account.key)).status).toBe(200);
  });

  it("should answer an unknown account with 404", async () => {
    await expectError(await admin("DELETE", `/accounts/${unique("nobody")}/keys`), 404, "not_found_error");
  });
});

describe("POST /admin/accounts (import)", () => {
  it("should create and update many accounts in one call, each usable at once and audited", async () => {
    const existing = await createAccount({ tier: "build" });
    const fresh = Array.from({ length: 40 }, () => ({ id: unique("imp"), keys: [`sk-${unique("key")}-imported`], tier: "scale" }));
    const res = await admin("POST", "/accounts", {
      accounts: [...fresh, { id: existing.id, keys: [existing.key], verified: true }],
    });
    expect(res.status).toBe(200);
    const body = await json<{ created: number; updated: number; accounts: PublicAccount[] }>(res);
    expect(body).toMatchObject({ created: 40, updated: 1 });
    expect(JSON.stringify(body)).not.toContain("-imported");
    const sample = fresh[17];
    if (!sample) throw new Error("fixture");
    expect((await postMessage(sample.keys[0] ?? "")).status).toBe(200);
    const view = await json<AccountView>(await admin("GET", `/accounts/${existing.id}`));
    expect(view.account).toMatchObject({ tier: "build", verified: true, keyCount: 1 });
    const audit = await env.DB.prepare("SELECT action FROM audit_log WHERE account_id = ?").bind(sample.id).all<{ action: string }>();
    expect(audit.results.map((r) => r.action)).toEqual(["account_create"]);
  });

  it("should see current records and key owners past the first bulk read of 100 names", async () => {
    // 120 new accounts (240 names to read) with an existing account and a taken key at the end.
    const existing = await createAccount({ tier: "build", billingCountry: "DE" });
    const taken = await createAccount();
    const fresh = Array.from({ length: 120 }, () => ({ id: unique("bulk"), keys: [`sk-${unique("key")}-imported`] }));
    await expectError(
      await admin("POST", "/accounts", { accounts: [...fresh, { id: unique("bulk"), keys: [taken.key] }] }),
      400,
      "invalid_request_error",
    );
    await expectError(await admin("GET", `/accounts/${fresh[0]?.id ?? ""}`), 404, "not_found_error");

    const res = await admin("POST", "/accounts", { accounts: [...fresh, { id: existing.id, keys: [existing.key], verified: true }] });
    expect(res.status).toBe(200);
    expect(await json<{ created: number; updated: number }>(res)).toMatchObject({ created: 120, updated: 1 });
    const view = await json<AccountView>(await admin("GET", `/accounts/${existing.id}`));
    // The update kept what it did not name: the stored record was read, not taken as new.
    expect(view.account).toMatchObject({ tier: "build", billingCountry: "DE", verified: true, keyCount: 1 });
  });

  it("should write nothing when any account in the batch is invalid", async () => {
    const taken = await createAccount();
    const ids = [unique("imp"), unique("imp")];
    const attempts: unknown[] = [
      { accounts: [{ id: ids[0], keys: ["sk-imported-one-key"] }, { id: ids[1], keys: [taken.key] }] },
      { accounts: [{ id: ids[0], keys: ["sk-imported-key-a"] }, { id: ids[1], keys: ["sk-imported-key-a"] }] },
      { accounts: [{ id: ids[0], keys: ["sk-imported-key-b"] }, { id: ids[0], keys: ["sk-imported-key-c"] }] },
      { accounts: [{ id: ids[0], keys: ["short"] }] },
      { accounts: [] },
      { accounts: Array.from({ length: 501 }, (_, i) => ({ id: `${ids[0]}-${i}`, keys: [`sk-imported-${i}-key`] })) },
    ];
    for (const attempt of attempts) await expectError(await admin("POST", "/accounts", attempt), 400, "invalid_request_error");
    for (const id of ids) await expectError(await admin("GET", `/accounts/${id}`), 404, "not_found_error");
    expect((await postMessage("sk-imported-one-key")).status).toBe(401);
  });
});
