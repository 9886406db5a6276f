/**
 * Degrade and shadow mode through the real gateway, observed at the origin
 * (the demo origin echoes what it received when asked with x-demo-echo).
 * These tests write the shared KV policy and reset it after each test.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { accountObjectName } from "../../lib/names.ts";
import type { PolicyInput } from "../../lib/policy/index.ts";
import { POLICY_KEY, refreshPolicyNow } from "../../worker/policy.ts";
import { createAccount, messageBody, postMessage } from "../helpers.ts";

type Echo = { headers: Record<string, string>; body: string };

const tier = (requests: number) => ({ requests, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 100_000, concurrency: 1_000 });
const quiet = { tag: 100, degrade: 100, throttle: 100, block: 100 };
// Every request lands on "degrade" whatever its risk, without needing evidence.
const alwaysDegrade = { tag: 0, degrade: 0, throttle: 100, block: 100 };

async function setPolicy(policy: PolicyInput): Promise<void> {
  await env.CONFIG.put(POLICY_KEY, JSON.stringify(policy));
  await refreshPolicyNow(env.CONFIG);
}

async function echo(key: string, body: Record<string, unknown> = messageBody(), cf?: Record<string, unknown>): Promise<{ status: number; echo: Echo | null }> {
  const res = await postMessage(key, body, { headers: { "x-demo-echo": "1" }, cf });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return { status: res.status, echo: null };
  }
  return { status: 200, echo: (await res.json()) as Echo };
}

const thinkingBody = messageBody({ max_tokens: 8_000, thinking: { type: "enabled", budget_tokens: 4_000 } });

afterEach(async () => {
  await env.CONFIG.delete(POLICY_KEY);
  await refreshPolicyNow(env.CONFIG);
});

describe("degrade through the gateway", () => {
  it("should clamp max_tokens and drop thinking in the body the origin receives", async () => {
    await setPolicy({ actions: alwaysDegrade, degrade: { maxTokens: 256, dropThinking: true }, tiers: { small: tier(100) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const { status, echo: seen } = await echo(account.key, thinkingBody);
    expect(status).toBe(200);
    const forwarded = JSON.parse(seen?.body ?? "{}") as Record<string, unknown>;
    expect(forwarded.max_tokens).toBe(256);
    expect(forwarded).not.toHaveProperty("thinking");
    expect(forwarded.messages).toEqual(thinkingBody.messages);
    expect(seen?.headers["x-distillguard-action"]).toBe("degrade");
  });

  it("should forward the body untouched when the risk rule is in shadow mode", async () => {
    await setPolicy({ actions: alwaysDegrade, shadowRules: ["risk"], tiers: { small: tier(100) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const { echo: seen } = await echo(account.key, thinkingBody);
    expect(JSON.parse(seen?.body ?? "{}")).toEqual(thinkingBody);
    expect(seen?.headers["x-distillguard-action"]).toBe("degrade;shadow");
  });
});

describe("shadow mode through the gateway", () => {
  it("should forward and count over-limit requests in global shadow mode, marked for the origin", async () => {
    await setPolicy({ mode: "shadow", actions: quiet, tiers: { small: tier(1) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await echo(account.key));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.echo?.headers["x-distillguard-action"])).toEqual(["allow", "throttle;shadow", "throttle;shadow"]);
    const state = await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect();
    expect(state.usage.requests).toBe(3);
    expect(state.recentDecisions.map((d) => [d.action, d.enforced])).toEqual([["throttle", false], ["throttle", false], ["allow", true]]);
  });

  it("should shadow only the account quota rule when it alone is listed", async () => {
    await setPolicy({ shadowRules: ["account_quota"], actions: quiet, tiers: { small: tier(1) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    await echo(account.key);
    const second = await echo(account.key);
    expect(second.status).toBe(200);
    expect(second.echo?.headers["x-distillguard-action"]).toBe("throttle;shadow");
  });

  it("should still enforce the quota when only another rule is shadowed", async () => {
    await setPolicy({ shadowRules: ["risk"], actions: quiet, tiers: { small: tier(1) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    await echo(account.key);
    expect((await echo(account.key)).status).toBe(429);
  });

  it("should let a denied country through, marked, when the region rule is shadowed", async () => {
    const base = { actions: quiet, regions: { deniedCountries: ["KP"] }, tiers: { small: tier(100) }, defaultTier: "small" };
    await setPolicy(base);
    const account = await createAccount({ tier: "small" });
    expect((await echo(account.key, messageBody(), { country: "KP" })).status).toBe(403);
    await setPolicy({ ...base, shadowRules: ["region"] });
    const shadowed = await echo(account.key, messageBody(), { country: "KP" });
    expect(shadowed.status).toBe(200);
    expect(shadowed.echo?.headers["x-distillguard-action"]).toBe("block;shadow");
  });
});
