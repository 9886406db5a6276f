/**
 * Per-account limits seen through the real gateway. These tests write the KV
 * policy, which every test in this file shares: it is reset after each test.
 */
import Anthropic from "@anthropic-ai/sdk";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { accountObjectName } from "../../lib/names.ts";
import type { PolicyInput } from "../../lib/policy/index.ts";
import { POLICY_KEY, refreshPolicyNow } from "../../worker/policy.ts";
import { admin, createAccount, GATEWAY, messageBody, postMessage } from "../helpers.ts";

const tier = (requests: number, extra: Record<string, number> = {}) => ({
  requests, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 100_000, concurrency: 1_000, ...extra,
});

async function setPolicy(policy: PolicyInput): Promise<void> {
  await env.CONFIG.put(POLICY_KEY, JSON.stringify(policy));
  await refreshPolicyNow(env.CONFIG);
}

// Risk actions off: these tests are about quotas, whatever the fingerprint of a test client looks like.
const quiet = { actions: { tag: 100, degrade: 100, throttle: 100, block: 100 } };

afterEach(async () => {
  await env.CONFIG.delete(POLICY_KEY);
  await refreshPolicyNow(env.CONFIG);
});

describe("per-account limits through the gateway", () => {
  it("should let exactly 10 of 100 concurrent requests through on a limit of 10", async () => {
    await setPolicy({ ...quiet, tiers: { small: tier(10) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const responses = await Promise.all(Array.from({ length: 100 }, () => postMessage(account.key)));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.body?.cancel()));
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(90);
  });

  it("should answer 429 with retry-after and rate-limit headers, and reveal no risk or reasons", async () => {
    await setPolicy({ ...quiet, tiers: { small: tier(1) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const ok = await postMessage(account.key);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("anthropic-ratelimit-requests-remaining")).toBe("0");
    await ok.arrayBuffer();

    const res = await postMessage(account.key);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(65);
    expect(res.headers.get("ratelimit-policy")).toContain('"requests";q=1;w=60');
    expect(res.headers.get("ratelimit")).toMatch(/"requests";r=0;t=\d+/);
    expect(res.headers.get("anthropic-ratelimit-requests-limit")).toBe("1");
    expect(res.headers.get("anthropic-ratelimit-requests-remaining")).toBe("0");
    expect(res.headers.get("anthropic-ratelimit-requests-reset")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ type: "error", error: { type: "rate_limit_error", message: expect.any(String) } });
    for (const [name, value] of res.headers) {
      expect(name).not.toMatch(/distillguard|risk|reason/i);
      expect(value).not.toMatch(/quota\.|risk\./);
    }
    expect(text).not.toMatch(/quota\.|risk|reason/i);
  });

  it("should give the official SDK a RateLimitError carrying retry-after", async () => {
    await setPolicy({ ...quiet, tiers: { small: tier(1) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const client = new Anthropic({
      apiKey: account.key,
      baseURL: GATEWAY,
      maxRetries: 0,
      fetch: (input: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
    });
    const ask = () => client.messages.create({ model: "demo-model-1", max_tokens: 16, messages: [{ role: "user", content: "Hi" }] });
    await ask();
    const err: unknown = await ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    if (!(err instanceof Anthropic.RateLimitError)) return;
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(err.headers.get("anthropic-ratelimit-requests-limit")).toBe("1");
  });

  it("should apply a new tier's limits as soon as the account is moved to it", async () => {
    await setPolicy({ ...quiet, tiers: { small: tier(2), large: tier(5) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const first = await postMessage(account.key);
    expect(first.headers.get("anthropic-ratelimit-requests-limit")).toBe("2");
    await first.arrayBuffer();
    await (await postMessage(account.key)).arrayBuffer();
    expect((await postMessage(account.key)).status).toBe(429);

    const moved = await admin("PUT", `/accounts/${account.id}`, { keys: [account.key], tier: "large" });
    expect(moved.status).toBe(200);
    const after = await postMessage(account.key);
    expect(after.status).toBe(200);
    expect(after.headers.get("anthropic-ratelimit-requests-limit")).toBe("5");
    expect(after.headers.get("anthropic-ratelimit-requests-remaining")).toBe("2");
    await after.arrayBuffer();
  });

  it("should stop an account at its daily exchange limit", async () => {
    await setPolicy({ ...quiet, tiers: { small: tier(100, { exchangesPerDay: 3 }) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    for (let i = 0; i < 3; i++) expect((await postMessage(account.key)).status).toBe(200);
    const over = await postMessage(account.key);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(3_600);
    const state = await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect();
    expect(state.usage.exchangesToday).toBe(3);
  });

  it("should reconcile the max_tokens reservation to the usage the origin reported", async () => {
    await setPolicy({ ...quiet, tiers: { small: tier(100, { outputTokens: 1_000 }) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const big = await postMessage(account.key, messageBody({ max_tokens: 900 }));
    expect(big.status).toBe(200);
    await big.arrayBuffer();
    // Settle runs in waitUntil after the body is passed on: wait (bounded) for the lease to come back.
    const stub = env.ACCOUNTS.getByName(accountObjectName(account.id));
    for (let i = 0; i < 50 && (await stub.inspect()).usage.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const used = (await stub.inspect()).usage.outputTokens;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(900);
  });

  it("should never forward a max_tokens larger than the free tier's whole window of output tokens", async () => {
    await setPolicy(quiet);
    const account = await createAccount({ tier: "free" });
    const tag = `oversized-${account.id}`;
    // An empty window, and 64,000 asked where the free tier allows 8,000 per window.
    const res = await postMessage(account.key, messageBody({ max_tokens: 64_000 }), { headers: { "x-demo-tag": tag } });
    // 400 naming the limit the account's standing earns (published policy, never the risk-shrunk one).
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toBe("max_tokens 64000 exceeds this account's 8000 output tokens per 60 s");
    const seen = await fetch(`${env.ORIGIN_URL}/__demo/seen?tag=${encodeURIComponent(tag)}`);
    expect(((await seen.json()) as { count: number }).count).toBe(0);
    // The same request within the limit goes through.
    expect((await postMessage(account.key, messageBody({ max_tokens: 8_000 }))).status).toBe(200);
  });
});
