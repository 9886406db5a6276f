/**
 * Every /v1 path the gateway does not meter is 404 and reaches nothing, unless
 * the policy lists its exact method and path (then it is metered as a request).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAccount, gateway, resetPolicy, usePolicy } from "../../helpers.ts";
import { accountStateWhen, call, expectError, pathOf, QUIET, ROOMY, tagged, type Echo } from "./helpers.ts";

afterEach(resetPolicy);

async function roomyAccount(policy: Record<string, unknown> = {}) {
  await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET, ...policy });
  return createAccount({ tier: "roomy" });
}

describe("unknown /v1 routes", () => {
  const unknown = [
    ["POST", "/v1/complete"], ["GET", "/v1/files"], ["POST", "/v1/files"], ["GET", "/v1/organizations/me"], ["POST", "/v1/messages/batches/x/y/z"],
    ["GET", "/v1"], ["GET", "/v1/"], ["POST", "/v1/messages/stream"], ["OPTIONS", "/v1/messages"], ["GET", "/v1/admin/accounts"],
    ["POST", "/v2/messages"],
  ] as const;
  for (const [method, path] of unknown) {
    it(`Should answer ${method} ${path} with 404 not_found_error, origin untouched`, async () => {
      const account = await roomyAccount();
      const { tag, seen } = tagged();
      const res = await call(method, path, account.key, {
        body: method === "POST" ? { model: "demo-model-1", max_tokens: 64_000, prompt: "\n\nHuman: hi\n\nAssistant:" } : undefined,
        headers: { "x-demo-tag": tag },
      });
      await expectError(res, 404, "not_found_error");
      expect(await seen()).toBe(0);
      const state = await accountStateWhen(account.id, () => false, 1);
      expect(state.usage.requests).toBe(0);
    });
  }

  it("Should ask for a key before saying whether a /v1 path exists", async () => {
    await expectError(await gateway("/v1/complete", { method: "POST", body: "{}" }), 401, "authentication_error");
  });
});

describe("routes the policy lists", () => {
  it("Should forward a listed route at its exact path, metered as one request with no reservation", async () => {
    const account = await roomyAccount({ endpoints: { extra: [{ method: "GET", path: "/v1/files" }] } });
    const res = await call("GET", "/v1/files?limit=5", account.key, { headers: { "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Echo;
    expect(pathOf(seen.url)).toBe("/v1/files?limit=5");
    expect(seen.headers["x-distillguard-account"]).toBe(account.id);
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.requests === 1);
    expect(state.usage.requests).toBe(1);
    expect(state.usage.outputTokens).toBe(0);
  });

  it("Should not reach a listed route through another method, case, encoding or trailing slash", async () => {
    const account = await roomyAccount({ endpoints: { extra: [{ method: "GET", path: "/v1/files" }] } });
    const { tag, seen } = tagged();
    for (const [method, path] of [["POST", "/v1/files"], ["GET", "/v1/Files"], ["GET", "/v1/%66iles"], ["GET", "/v1/files/"], ["GET", "/v1//files"], ["GET", "/v1/files/x"]] as const) {
      const res = await call(method, path, account.key, { body: method === "POST" ? {} : undefined, headers: { "x-demo-tag": tag } });
      await expectError(res, 404, "not_found_error");
    }
    expect(await seen()).toBe(0);
  });

  it("Should refuse a policy listing a path that is not a plain /v1 path", async () => {
    const { validatePolicy } = await import("../../../lib/policy/index.ts");
    for (const path of ["/v1/../admin", "/admin/accounts", "/v1/files/", "/v1//files", "/v1/%2e%2e", "/v1/files?x=1", "/v1/:id"]) {
      expect(validatePolicy({ endpoints: { extra: [{ method: "GET", path }] } }).ok, path).toBe(false);
    }
    expect(validatePolicy({ endpoints: { extra: [{ method: "GET", path: "/v1/files" }] } }).ok).toBe(true);
  });
});
