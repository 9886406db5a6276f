/**
 * GET /v1/models and GET /v1/models/{id}: metered as one request each, no token
 * reservation, and an id can never move the origin path.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAccount, resetPolicy, usePolicy } from "../../helpers.ts";
import { accountStateWhen, call, expectError, pathOf, QUIET, ROOMY, tagged, type Echo } from "./helpers.ts";

afterEach(resetPolicy);

async function roomyAccount() {
  await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET });
  return createAccount({ tier: "roomy" });
}

describe("GET /v1/models", () => {
  it("Should list models, metered as one request with no reservation left behind", async () => {
    const account = await roomyAccount();
    const res = await call("GET", "/v1/models", account.key);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.requests === 1);
    expect(state.usage.requests).toBe(1);
    expect(state.usage.outputTokens).toBe(0);
    expect(state.usage.inputTokens).toBe(0);
  });

  it("Should not lock a tight account out by listing models", async () => {
    await usePolicy({ tiers: { tight: { ...ROOMY, outputTokens: 100 } }, defaultTier: "tight", actions: QUIET });
    const account = await createAccount({ tier: "tight" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("GET", "/v1/models", account.key);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200]);
  });

  it("Should forward the listing's query and nothing from a client's override headers", async () => {
    const account = await roomyAccount();
    const res = await call("GET", "/v1/models?limit=2&after_id=demo-model-1", account.key, {
      headers: { "x-demo-echo": "1", "x-http-method-override": "POST", "x-original-url": "/v1/messages" },
    });
    const seen = (await res.json()) as Echo;
    expect(seen.method).toBe("GET");
    expect(pathOf(seen.url)).toBe("/v1/models?limit=2&after_id=demo-model-1");
    expect(seen.headers["x-http-method-override"]).toBeUndefined();
  });

  it("Should refuse a missing key with 401, origin untouched", async () => {
    const { tag, seen } = tagged();
    await expectError(await call("GET", "/v1/models", null, { headers: { "x-demo-tag": tag } }), 401, "authentication_error");
    expect(await seen()).toBe(0);
  });

  it("Should answer POST and DELETE /v1/models with 404", async () => {
    const account = await roomyAccount();
    await expectError(await call("POST", "/v1/models", account.key, { body: {} }), 404, "not_found_error");
    await expectError(await call("DELETE", "/v1/models/demo-model-1", account.key), 404, "not_found_error");
  });
});

describe("GET /v1/models/{id}", () => {
  it("Should forward a model id to its canonical path, metered as one request", async () => {
    const account = await roomyAccount();
    const res = await call("GET", "/v1/models/claude-sonnet-4-5-20250929", account.key, { headers: { "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    expect(pathOf(((await res.json()) as Echo).url)).toBe("/v1/models/claude-sonnet-4-5-20250929");
    const state = await accountStateWhen(account.id, (s) => s.usage.requests === 1);
    expect(state.usage.outputTokens).toBe(0);
  });

  for (const path of [
    "/v1/models/..%2F..%2Fadmin%2Faccounts", "/v1/models/%2e%2e", "/v1/models/a%2Fb", "/v1/models/.hidden", "/v1/models/%2F",
    "/v1/models/a%00b", "/v1/models/a%20b", "/v1/models/demo-model-1/extra", "/v1/models/" + "a".repeat(300), "/v1/models/%E2%80%AEx",
  ]) {
    it(`Should answer ${path.slice(0, 60)} with 404 without reaching the origin`, async () => {
      const account = await roomyAccount();
      const { tag, seen } = tagged();
      await expectError(await call("GET", path, account.key, { headers: { "x-demo-tag": tag } }), 404, "not_found_error");
      expect(await seen()).toBe(0);
    });
  }
});
