/**
 * POST /v1/messages/count_tokens generates nothing: it is metered as one
 * request with no token reservation, and never rewritten by degrade.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAccount, messageBody, resetPolicy, usePolicy } from "../../helpers.ts";
import { accountStateWhen, ALWAYS_DEGRADE, call, expectError, pathOf, QUIET, ROOMY, tagged, type Echo } from "./helpers.ts";

afterEach(resetPolicy);

const PATH = "/v1/messages/count_tokens";
const countBody = () => ({ model: "demo-model-1", messages: [{ role: "user", content: "How many tokens is this?" }] });

describe("POST /v1/messages/count_tokens", () => {
  it("Should meter each call as one request and reserve no output tokens", async () => {
    // An output budget smaller than one default max_tokens: a reservation would throttle the second call.
    await usePolicy({ tiers: { tight: { ...ROOMY, outputTokens: 1_000 } }, defaultTier: "tight", actions: QUIET });
    const account = await createAccount({ tier: "tight" });
    for (let i = 0; i < 3; i++) {
      const res = await call("POST", PATH, account.key, { body: countBody() });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    }
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.requests === 3);
    expect(state.usage.requests).toBe(3);
    expect(state.usage.outputTokens).toBe(0);
    expect(state.usage.inputTokens).toBe(0);
  });

  it("Should still count against the request limit", async () => {
    await usePolicy({ tiers: { two: { ...ROOMY, requests: 2 } }, defaultTier: "two", actions: QUIET });
    const account = await createAccount({ tier: "two" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("POST", PATH, account.key, { body: countBody() });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("Should forward the body byte-exact when the decision is degrade (no max_tokens added)", async () => {
    await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: ALWAYS_DEGRADE });
    const account = await createAccount({ tier: "roomy" });
    const raw = JSON.stringify({ ...countBody(), thinking: { type: "enabled", budget_tokens: 2048 } });
    const res = await call("POST", PATH, account.key, { body: raw, headers: { "x-demo-echo": "1" } });
    const seen = (await res.json()) as Echo;
    expect(seen.body).toBe(raw);
    expect(pathOf(seen.url)).toBe(PATH);
  });

  it("Should refuse a body that is not a JSON object with 400, origin untouched", async () => {
    await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET });
    const account = await createAccount({ tier: "roomy" });
    const { tag, seen } = tagged();
    for (const body of ["[1,2]", '"text"', "{nope", `{"messages":${"[".repeat(10_000)}${"]".repeat(10_000)}}`]) {
      await expectError(await call("POST", PATH, account.key, { body, headers: { "x-demo-tag": tag } }), 400, "invalid_request_error");
    }
    expect(await seen()).toBe(0);
  });

  it("Should answer other methods and spellings with 404, origin untouched", async () => {
    await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET });
    const account = await createAccount({ tier: "roomy" });
    const { tag, seen } = tagged();
    for (const [method, path] of [
      ["GET", PATH], ["PUT", PATH], ["POST", `${PATH}/`], ["POST", "/v1/messages/count_tokens%2F"], ["POST", "/v1/messages/Count_Tokens"],
      ["POST", "/v1/messages//count_tokens"], ["POST", "/v1/messages%2Fcount_tokens"],
    ] as const) {
      const res = await call(method, path, account.key, { body: method === "GET" ? undefined : countBody(), headers: { "x-demo-tag": tag } });
      await expectError(res, 404, "not_found_error");
    }
    expect(await seen()).toBe(0);
  });

  it("Should not let a count_tokens call be a free /v1/messages", async () => {
    await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET });
    const account = await createAccount({ tier: "roomy" });
    const res = await call("POST", `${PATH}?x=/../../messages`, account.key, {
      body: messageBody({ max_tokens: 4000 }),
      headers: { "x-demo-echo": "1", "x-original-url": "/v1/messages" },
    });
    const seen = (await res.json()) as Echo;
    expect(new URL(seen.url).pathname).toBe(PATH);
  });
});
