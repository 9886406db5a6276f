import { afterEach, describe, expect, it } from "vitest";
import type { AccountState } from "../../lib/decision.ts";
import { admin, createAccount, messageBody, originSaw, postMessage, resetPolicy, unique, usePolicy } from "../helpers.ts";

type Echo = { headers: Record<string, string>; body: string };
type ErrorBody = { type: string; error: { type: string; message: string } };

const HELP = "verify at https://console.example.test/verify or write to access@example.test";

// A free tier roomy enough for one 64k answer per window: a request above the whole window's output
// limit is refused as oversized (400) before any entitlement would matter.
const ROOMY_TIERS = { free: { requests: 20, inputTokens: 200_000, outputTokens: 200_000, exchangesPerDay: 1_000, concurrency: 4 } };

const ENTITLEMENTS = {
  tiers: ROOMY_TIERS,
  entitlementHelp: HELP,
  entitlements: [
    { when: { verified: false, orgTypes: ["education", "research", "startup"] }, thinkingBudgetTokens: 0, beyond: "refuse" },
    { when: { tiers: ["free"], verified: false }, maxTokens: 4_096, models: ["demo-model-1"], beyond: "clamp" },
  ],
};

afterEach(resetPolicy);

async function requestsCounted(accountId: string): Promise<number> {
  const res = await admin("GET", `/accounts/${accountId}`);
  return ((await res.json()) as { state: AccountState }).state.usage.requests;
}

describe("entitlements through the gateway", () => {
  it("should clamp a free unverified account's 64k max_tokens to its entitlement before the origin sees it", async () => {
    await usePolicy(ENTITLEMENTS);
    const account = await createAccount({ tier: "free" });
    const res = await postMessage(account.key, messageBody({ max_tokens: 64_000 }), { headers: { "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    const sent = JSON.parse(echo.body) as Record<string, unknown>;
    expect(sent.max_tokens).toBe(4_096);
    expect(sent.messages).toEqual(messageBody().messages);
    expect(Number(echo.headers["content-length"] ?? echo.body.length)).toBe(new TextEncoder().encode(echo.body).byteLength);
  });

  it("should pass a verified free account's 64k max_tokens untouched", async () => {
    await usePolicy(ENTITLEMENTS);
    const account = await createAccount({ tier: "free", verified: true });
    const res = await postMessage(account.key, messageBody({ max_tokens: 64_000 }), { headers: { "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    expect((JSON.parse(((await res.json()) as Echo).body) as { max_tokens: number }).max_tokens).toBe(64_000);
  });

  it("should refuse a model outside the entitlement with a 403 naming it, before admission and the origin", async () => {
    await usePolicy(ENTITLEMENTS);
    const account = await createAccount({ tier: "free" });
    const tag = unique("model");
    const res = await postMessage(account.key, messageBody({ model: "demo-model-2" }), { headers: { "x-demo-tag": tag } });
    expect(res.status).toBe(403);
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("permission_error");
    expect(body.error.message).toContain('the model "demo-model-2"');
    expect(body.error.message).toContain("unverified accounts on the free tier");
    expect(body.error.message).toContain(HELP);
    expect(await originSaw(tag)).toBe(0);
    expect(await requestsCounted(account.id)).toBe(0);
  });

  it("should refuse thinking to an unverified education account and let a verified one have it", async () => {
    await usePolicy(ENTITLEMENTS);
    const thinking = messageBody({ max_tokens: 4_000, thinking: { type: "enabled", budget_tokens: 2_048 } });
    const unverified = await createAccount({ tier: "free", orgType: "education" });
    const refused = await postMessage(unverified.key, thinking);
    expect(refused.status).toBe(403);
    const message = ((await refused.json()) as ErrorBody).error.message;
    expect(message).toContain("extended thinking");
    expect(message).toContain("unverified education or research or startup accounts");
    expect(message).toContain("A verified account is entitled to more");

    const verified = await createAccount({ tier: "free", orgType: "education", verified: true });
    const allowed = await postMessage(verified.key, thinking, { headers: { "x-demo-echo": "1" } });
    expect(allowed.status).toBe(200);
    expect(JSON.parse(((await allowed.json()) as Echo).body)).toMatchObject({ thinking: { type: "enabled", budget_tokens: 2_048 } });
  });

  it("should only log, never refuse or clamp, while entitlements are in shadow", async () => {
    await usePolicy({ ...ENTITLEMENTS, shadowRules: ["entitlements"] });
    const account = await createAccount({ tier: "free" });
    const res = await postMessage(account.key, messageBody({ max_tokens: 64_000, model: "demo-model-2" }), { headers: { "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    expect(JSON.parse(((await res.json()) as Echo).body)).toMatchObject({ max_tokens: 64_000, model: "demo-model-2" });
  });

  it("should reserve the clamped max_tokens, not the asked one, at admission", async () => {
    // A free tier with 8,000 output tokens per window: 64k asked would not fit, 4,096 clamped does.
    await usePolicy({ ...ENTITLEMENTS, tiers: { free: { requests: 20, inputTokens: 40_000, outputTokens: 8_000, exchangesPerDay: 1_000, concurrency: 4 } } });
    const account = await createAccount({ tier: "free" });
    const res = await postMessage(account.key, messageBody({ max_tokens: 64_000 }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // The RateLimit header shows what admission reserved: 8,000 − 4,096, where the 64k asked would leave nothing.
    expect(res.headers.get("ratelimit")).toContain('"output-tokens";r=3904;');
  });

  it("should hold low-trust accounts to the launch guard's rule on a newly released model, and only in its window", async () => {
    const releasedAt = new Date(Date.now() - 3_600_000).toISOString();
    // Accounts made here are minutes old: the guard's age criterion (test/worker/launch-guard.test.ts) is off, so its `when` alone decides.
    await usePolicy({ tiers: ROOMY_TIERS, entitlementHelp: HELP, launchGuard: { models: [{ model: "demo-model-2", releasedAt }], hours: 24, newAccountHours: 0 } });
    const asked = messageBody({ model: "demo-model-2", max_tokens: 64_000 });
    const unverified = await createAccount({ tier: "free" });
    const clamped = await postMessage(unverified.key, asked, { headers: { "x-demo-echo": "1" } });
    expect(clamped.status).toBe(200);
    expect(JSON.parse(((await clamped.json()) as Echo).body)).toMatchObject({ model: "demo-model-2", max_tokens: 4_096 });
    // Fresh accounts from here on: the roomy free tier holds a few 64k asks per window each.
    const older = await postMessage((await createAccount({ tier: "free" })).key, messageBody({ max_tokens: 64_000 }), { headers: { "x-demo-echo": "1" } });
    expect((JSON.parse(((await older.json()) as Echo).body) as { max_tokens: number }).max_tokens).toBe(64_000);
    const verified = await createAccount({ tier: "free", verified: true });
    const untouched = await postMessage(verified.key, asked, { headers: { "x-demo-echo": "1" } });
    expect((JSON.parse(((await untouched.json()) as Echo).body) as { max_tokens: number }).max_tokens).toBe(64_000);

    await usePolicy({
      tiers: ROOMY_TIERS,
      entitlementHelp: HELP,
      launchGuard: { models: [{ model: "demo-model-2", releasedAt }], hours: 24, rule: { when: { verified: false }, streaming: false } },
    });
    const refused = await postMessage((await createAccount({ tier: "free" })).key, { ...asked, stream: true });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as ErrorBody).error.message).toBe(
      `streaming is not included for unverified accounts in the first 24 hours after demo-model-2 is released. A verified account is entitled to more: ${HELP}`,
    );

    await usePolicy({ tiers: ROOMY_TIERS, launchGuard: { models: [{ model: "demo-model-2", releasedAt: new Date(Date.now() - 25 * 3_600_000).toISOString() }], hours: 24 } });
    const after = await postMessage((await createAccount({ tier: "free" })).key, asked, { headers: { "x-demo-echo": "1" } });
    expect((JSON.parse(((await after.json()) as Echo).body) as { max_tokens: number }).max_tokens).toBe(64_000);
  });

  it("should apply the launch guard and the account's entitlement both, the tighter winning", async () => {
    const releasedAt = new Date(Date.now() - 3_600_000).toISOString();
    await usePolicy({
      entitlements: [{ when: { tiers: ["free"] }, maxTokens: 1_000, beyond: "clamp" }],
      launchGuard: { models: [{ model: "demo-model-2", releasedAt }] },
    });
    const account = await createAccount({ tier: "free" });
    const res = await postMessage(account.key, messageBody({ model: "demo-model-2", max_tokens: 64_000 }), { headers: { "x-demo-echo": "1" } });
    expect((JSON.parse(((await res.json()) as Echo).body) as { max_tokens: number }).max_tokens).toBe(1_000);
  });
});
