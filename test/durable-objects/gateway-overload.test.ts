/**
 * An account that floods its own object makes admits fail with `overloaded`.
 * That overflow must not be forwarded as an unmetered `allow`: the isolate's
 * backstop keeps blocked accounts blocked, throttled ones throttled, and lets
 * the rest through a small local bucket (policy `overloadMode`). These tests
 * write the shared KV policy.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import type { AccountDO } from "../../durable-objects/account/index.ts";
import { afterEach, describe, expect, it } from "vitest";
import { accountObjectName } from "../../lib/names.ts";
import type { PolicyInput } from "../../lib/policy/index.ts";
import { admin, createAccount, messageBody, originSaw, postMessage, resetPolicy, unique, usePolicy } from "../helpers.ts";

/**
 * The injected fault, in one place: every call to the account object fails as an overloaded object's
 * would (`overloaded: true`, not retryable) until `recover` is called. It shadows the object's private
 * `ready()` on this one instance; when the account object gains an injected fault hook set through
 * runInDurableObject, only this function changes.
 */
async function overloadAccountObject(accountId: string): Promise<{ recover: () => Promise<void> }> {
  const stub = env.ACCOUNTS.getByName(accountObjectName(accountId));
  // The object's fault seam: every admit throws what an overloaded object throws (it survives RPC).
  await runInDurableObject(stub, (instance: AccountDO) => {
    instance.beforeAdmit = () => {
      throw Object.assign(new Error("account object overloaded (injected by a test)"), { overloaded: true, retryable: false });
    };
  });
  return {
    recover: () =>
      runInDurableObject(stub, (instance: AccountDO) => {
        instance.beforeAdmit = () => {};
      }),
  };
}

const tier = (requests: number) => ({ requests, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 100_000, concurrency: 1_000 });
// Risk actions off, and an hour-long window: the local bucket refills too slowly to matter within a test.
const quiet = { actions: { tag: 100, degrade: 100, throttle: 100, block: 100 }, limits: { windowSeconds: 3_600 } };

async function statusOf(key: string, tag: string): Promise<number> {
  const res = await postMessage(key, messageBody(), { headers: { "x-demo-tag": tag } });
  await res.arrayBuffer();
  return res.status;
}

afterEach(resetPolicy);

describe("account object overloaded", () => {
  it("should keep an account blocked by an override blocked, origin untouched", async () => {
    await usePolicy({ ...quiet, tiers: { small: tier(100) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    expect((await admin("POST", `/accounts/${account.id}/overrides`, { kind: "block", reason: "abuse" })).status).toBe(201);
    const tag = unique("blocked");
    expect(await statusOf(account.key, tag)).toBe(403);

    const fault = await overloadAccountObject(account.id);
    for (let i = 0; i < 5; i++) expect(await statusOf(account.key, tag)).toBe(403);
    expect(await originSaw(tag)).toBe(0);
    await fault.recover();
  });

  it("should keep a throttled account throttled until its retry-after", async () => {
    await usePolicy({ ...quiet, tiers: { small: tier(1) }, defaultTier: "small" });
    const account = await createAccount({ tier: "small" });
    const tag = unique("throttled");
    expect(await statusOf(account.key, tag)).toBe(200);
    expect(await statusOf(account.key, tag)).toBe(429);

    const fault = await overloadAccountObject(account.id);
    const res = await postMessage(account.key, messageBody(), { headers: { "x-demo-tag": tag } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toEqual({ type: "error", error: { type: "rate_limit_error", message: expect.any(String) } });
    expect(await originSaw(tag)).toBe(1);
    await fault.recover();
  });

  it("should let at most the request limit ÷ overloadSafetyFactor through, then answer 429", async () => {
    await usePolicy({ ...quiet, tiers: { small: tier(8) }, defaultTier: "small", overloadSafetyFactor: 4 } satisfies PolicyInput);
    const account = await createAccount({ tier: "small" });
    const fault = await overloadAccountObject(account.id);
    const tag = unique("flood");
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await statusOf(account.key, tag));
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    expect(await originSaw(tag)).toBe(2);

    // Back to normal once the object answers again.
    await fault.recover();
    expect(await statusOf(account.key, tag)).toBe(200);
  });

  it("should refuse every request with 429 under overloadMode closed", async () => {
    await usePolicy({ ...quiet, overloadMode: "closed" } satisfies PolicyInput);
    const account = await createAccount();
    const fault = await overloadAccountObject(account.id);
    const tag = unique("closed");
    const res = await postMessage(account.key, messageBody(), { headers: { "x-demo-tag": tag } });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    await res.arrayBuffer();
    expect(await originSaw(tag)).toBe(0);
    await fault.recover();
  });

  it("should still refuse a denied country", async () => {
    await usePolicy({ ...quiet, regions: { deniedCountries: ["KP"] } });
    const account = await createAccount();
    const fault = await overloadAccountObject(account.id);
    const res = await postMessage(account.key, messageBody(), { cf: { country: "KP" } });
    expect(res.status).toBe(403);
    await res.arrayBuffer();
    await fault.recover();
  });
});
