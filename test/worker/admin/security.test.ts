import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { POLICY_KEY, refreshPolicyNow } from "../../../worker/policy.ts";
import { ADMIN_TOKEN, createAccount, gateway, messageBody, originSaw, postMessage, unique, type TestAccount } from "../../helpers.ts";
import { expectError, seedComponent, seedKey } from "./helpers.ts";

let account: TestAccount;
let componentId: string;
const fpKey = `tls:${"ab".repeat(8)}`;

beforeAll(async () => {
  account = await createAccount({ billingCountry: "DE", paymentFingerprint: "pm_fp_secret_marker" });
  componentId = await seedComponent({ members: [account.id], keys: [fpKey], verdict: "confirmed" });
  await seedKey({ key: fpKey });
});

afterEach(async () => {
  await env.CONFIG.delete(POLICY_KEY);
  await refreshPolicyNow(env.CONFIG);
});

/** Every admin route, with a body that would succeed if the token were right. */
function routes(): Array<[string, string, unknown?]> {
  return [
    ["GET", "/accounts"],
    ["GET", `/accounts?prefix=${account.id}&sort=risk&order=desc`],
    ["GET", `/accounts/${account.id}`],
    ["PUT", `/accounts/${account.id}`, { keys: [account.key, "sk-attacker-key-123"] }],
    ["POST", "/accounts", { accounts: [{ id: account.id, keys: [account.key, "sk-attacker-key-456"] }] }],
    ["DELETE", `/accounts/${account.id}/keys`],
    ["POST", `/accounts/${account.id}/overrides`, { kind: "allow", reason: "attacker" }],
    ["DELETE", `/accounts/${account.id}/overrides/block`],
    ["GET", "/clusters"],
    ["GET", `/clusters/${encodeURIComponent(componentId)}`],
    ["GET", `/clusters/${encodeURIComponent(fpKey)}`],
    ["GET", "/policy"],
    ["PUT", "/policy", { mode: "shadow" }],
    ["POST", "/policy/validate", {}],
    ["GET", "/audit"],
    ["GET", "/stats/decisions"],
    ["GET", `/stats/decisions?account=${account.id}`],
    ["GET", "/stats/top"],
    ["GET", `/audit?cluster=${encodeURIComponent(componentId)}`],
    ["GET", "/indicators"],
    ["GET", "/indicators/imports"],
    ["GET", "/no-such-route"],
  ];
}

const BAD_AUTH: Array<[string, Record<string, string>]> = [
  ["no token", {}],
  ["a wrong token of the same length", { authorization: `Bearer ${"x".repeat(ADMIN_TOKEN.length)}` }],
  ["a shorter token (a prefix of the real one)", { authorization: `Bearer ${ADMIN_TOKEN.slice(0, 8)}` }],
  ["a longer token (the real one plus a suffix)", { authorization: `Bearer ${ADMIN_TOKEN}x` }],
  ["the token with another scheme", { authorization: `Basic ${ADMIN_TOKEN}` }],
  ["the token as an x-api-key", { "x-api-key": ADMIN_TOKEN }],
  ["an empty bearer", { authorization: "Bearer " }],
];

describe("admin authentication", () => {
  for (const [label, headers] of BAD_AUTH) {
    it(`should refuse every admin route with ${label}: 401, error shape, no data`, async () => {
      for (const [method, path, body] of routes()) {
        const res = await gateway(`/admin${path}`, {
          method,
          headers: { ...headers, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(JSON.parse(text)).toEqual({
          type: "error",
          error: { type: "authentication_error", message: "a valid admin token is required" },
        });
        expect(res.headers.get("request-id")).toMatch(/^req_/);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(text).not.toContain(account.id);
        expect(text).not.toContain(componentId);
      }
    });
  }

  it("should change nothing when a write is refused", async () => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE account_id = ?").bind(account.id).first<{ n: number }>();
    for (const [method, path, body] of routes()) {
      await gateway(`/admin${path}`, {
        method,
        headers: { authorization: "Bearer wrong", "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    }
    expect(await env.CONFIG.get(POLICY_KEY)).toBeNull();
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE account_id = ?").bind(account.id).first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
    expect((await postMessage(account.key)).status).toBe(200);
    expect((await postMessage("sk-attacker-key-123")).status).toBe(401);
  });

  it("should not read a large body before checking the token", async () => {
    const res = await gateway("/admin/policy", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: "x".repeat(6 * 1024 * 1024),
    });
    await expectError(res, 401, "authentication_error");
  });
});

describe("the admin token is not an API key", () => {
  for (const [label, header] of [
    ["x-api-key", "x-api-key"],
    ["Authorization: Bearer", "authorization"],
  ] as const) {
    it(`should answer /v1/messages with the admin token in ${label} with 401, origin untouched`, async () => {
      const tag = unique("admin-as-key");
      const value = header === "authorization" ? `Bearer ${ADMIN_TOKEN}` : ADMIN_TOKEN;
      const res = await gateway("/v1/messages", {
        method: "POST",
        headers: { [header]: value, "content-type": "application/json", "x-demo-tag": tag },
        body: JSON.stringify(messageBody()),
      });
      const text = await res.text();
      expect(res.status).toBe(401);
      expect(JSON.parse(text)).toMatchObject({ type: "error", error: { type: "authentication_error" } });
      expect(text).not.toContain(account.id);
      expect(text).not.toContain(ADMIN_TOKEN);
      expect(await originSaw(tag)).toBe(0);
    });
  }

  it("should not serve admin data under /v1 paths", async () => {
    for (const path of ["/v1/admin/accounts", "/v1/../admin/accounts", "/v1/%2e%2e/admin/accounts"]) {
      const res = await gateway(path, { headers: { "x-api-key": ADMIN_TOKEN } });
      const text = await res.text();
      expect(res.status, path).toBe(401);
      expect(text).not.toContain(account.id);
    }
  });

  it("should refuse an API key on admin routes", async () => {
    const res = await gateway(`/admin/accounts/${account.id}`, { headers: { authorization: `Bearer ${account.key}` } });
    await expectError(res, 401, "authentication_error");
  });
});
