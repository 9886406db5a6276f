/**
 * The rate-limit headers as a campaign reads them: they must not move with the
 * account's risk (or its cluster), or every request would be a free query to
 * the detector. These tests write the shared KV policy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAccount, messageBody, postMessage, resetPolicy, usePolicy } from "../helpers.ts";

const HOSTING_ASN = 64_500;
const POLICY = {
  regions: { asnCategories: { hosting: [HOSTING_ASN] } },
  risk: { weights: { hosting_asn: 60 } },
  // Risk 60 shrinks limits to 55 % (floor 20, 10 % at 100) but only degrades: the request still goes through.
  quota: { riskFloor: 20, minRiskMultiplier: 0.1 },
  actions: { tag: 10, degrade: 35, throttle: 90, block: 95 },
};
const CLEAN = { country: "FR", asn: 3215 };
const RISKY = { country: "FR", asn: HOSTING_ASN };

const RATE_LIMIT_HEADERS = [
  "ratelimit-policy",
  "ratelimit",
  ...["requests", "tokens", "input-tokens", "output-tokens"].flatMap((family) => [
    `anthropic-ratelimit-${family}-limit`,
    `anthropic-ratelimit-${family}-remaining`,
  ]),
];

afterEach(resetPolicy);

async function rateLimitHeadersOf(key: string, cf: Record<string, unknown>): Promise<Record<string, string | null>> {
  const res = await postMessage(key, messageBody(), { cf });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  // `ratelimit` carries the seconds to reset, which may differ by one between two requests.
  return Object.fromEntries(
    RATE_LIMIT_HEADERS.map((name) => [name, res.headers.get(name)?.replaceAll(/;t=\d+/g, "") ?? null]),
  );
}

describe("published rate limits", () => {
  it("should publish the same limits and remaining to two accounts of one tier when one of them is risky", async () => {
    await usePolicy(POLICY);
    const clean = await createAccount({ tier: "build" });
    const risky = await createAccount({ tier: "build" });
    const cleanHeaders = await rateLimitHeadersOf(clean.key, CLEAN);
    const riskyHeaders = await rateLimitHeadersOf(risky.key, RISKY);
    expect(riskyHeaders).toEqual(cleanHeaders);
    // The build tier's own numbers, counted down by the one request made.
    expect(cleanHeaders["anthropic-ratelimit-requests-limit"]).toBe("60");
    expect(cleanHeaders["anthropic-ratelimit-requests-remaining"]).toBe("59");
    expect(cleanHeaders["anthropic-ratelimit-input-tokens-limit"]).toBe("200000");
  });

  it("should keep publishing the standing's limits (verification, org type) but not the risk", async () => {
    await usePolicy({ ...POLICY, quota: { ...POLICY.quota, verifiedMultiplier: 2, orgTypeMultipliers: { university: 0.5 } } });
    const verified = await createAccount({ tier: "build", verified: true, orgType: "university" });
    const riskyVerified = await createAccount({ tier: "build", verified: true, orgType: "university" });
    const headers = await rateLimitHeadersOf(verified.key, CLEAN);
    expect(headers["anthropic-ratelimit-requests-limit"]).toBe("60");
    expect(headers["anthropic-ratelimit-output-tokens-limit"]).toBe("40000");
    expect(await rateLimitHeadersOf(riskyVerified.key, RISKY)).toEqual(headers);
  });

  it("should publish the default tier's finite limits for a tier named constructor", async () => {
    const account = await createAccount({ tier: "constructor" });
    const headers = await rateLimitHeadersOf(account.key, CLEAN);
    expect(headers["anthropic-ratelimit-requests-limit"]).toBe("20");
    expect(headers["anthropic-ratelimit-input-tokens-limit"]).toBe("40000");
    for (const value of Object.values(headers)) expect(value).not.toMatch(/NaN|undefined/);
  });

  // `orgTypeMultipliers["__proto__"]` is Object.prototype: read without Object.hasOwn (lib/policy/index.ts
  // orgTypeMultiplier), every limit was NaN and the account refused with 429 on its first request.
  it("should admit an account whose org type is __proto__ with its tier's finite limits", async () => {
    const account = await createAccount({ tier: "constructor", orgType: "__proto__" });
    const headers = await rateLimitHeadersOf(account.key, CLEAN);
    expect(headers["anthropic-ratelimit-requests-limit"]).toBe("20");
    for (const value of Object.values(headers)) expect(value).not.toMatch(/NaN|undefined/);
  });

  it("should publish the limits on a 429 the account's own limit gives, and on a forwarded answer, one value each", async () => {
    await usePolicy({ tiers: { free: { requests: 2, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 10_000, concurrency: 10 } } });
    const account = await createAccount({ tier: "free" });
    const first = await postMessage(account.key, messageBody(), { cf: CLEAN });
    await first.arrayBuffer();
    expect(first.status).toBe(200);
    expect(first.headers.get("anthropic-ratelimit-requests-limit")).toBe("2");
    expect(first.headers.get("anthropic-ratelimit-requests-remaining")).toBe("1");
    expect(first.headers.get("request-id")).toMatch(/^req_[0-9a-f]+$/);
    await (await postMessage(account.key, messageBody(), { cf: CLEAN })).arrayBuffer();
    const refused = await postMessage(account.key, messageBody(), { cf: CLEAN });
    await refused.arrayBuffer();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("anthropic-ratelimit-requests-limit")).toBe("2");
    expect(refused.headers.get("anthropic-ratelimit-requests-remaining")).toBe("0");
    expect(refused.headers.get("request-id")).toMatch(/^req_[0-9a-f]+$/);
  });
});
