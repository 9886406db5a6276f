import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { admitRequest, advanceClock, freezeClock, newAccount, testPolicy } from "./account-helpers.ts";

const WINDOW_MS = 60_000;
// Default 12 buckets per window: a request keeps counting for at most one 5 s bucket past the window.
const PAST_WINDOW_MS = WINDOW_MS + 5_000;

describe("AccountDO counters", () => {
  it("should admit exactly the limit out of 100 concurrent requests", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy();
    const results = await Promise.all(Array.from({ length: 100 }, () => stub.admit(admitRequest(id, policy))));
    const admitted = results.filter((r) => r.leaseId !== null);
    expect(admitted).toHaveLength(10);
    expect(results.filter((r) => r.action === "throttle" && r.enforced)).toHaveLength(90);
    const state = await stub.inspect();
    expect(state.usage.requests).toBe(10);
    expect(state.usage.inFlight).toBe(10);
  });

  it("should not count a throttled request or give it a lease", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { requests: 1 });
    expect((await stub.admit(admitRequest(id, policy))).action).toBe("allow");
    const throttled = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 500, outputTokens: 900 } }));
    expect(throttled).toMatchObject({ action: "throttle", enforced: true, leaseId: null, reasons: ["quota.requests"] });
    const state = await stub.inspect();
    expect(state.usage).toMatchObject({ requests: 1, inputTokens: 10, outputTokens: 100, inFlight: 1 });
  });

  it("should reserve estimated tokens at admission and reconcile them at settle", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy();
    const a = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 100, outputTokens: 1_000 } }));
    expect(await stub.inspect()).toMatchObject({ usage: { inputTokens: 100, outputTokens: 1_000, inFlight: 1 } });
    expect(a.limits.outputTokens.remaining).toBe(49_000);

    await stub.settle({ leaseId: a.leaseId ?? "", usage: { inputTokens: 80, outputTokens: 300 }, status: 200 });
    expect(await stub.inspect()).toMatchObject({ usage: { inputTokens: 80, outputTokens: 300, inFlight: 0 } });

    // A second settle of the same lease changes nothing.
    await stub.settle({ leaseId: a.leaseId ?? "", usage: { inputTokens: 0, outputTokens: 0 }, status: 200 });
    expect(await stub.inspect()).toMatchObject({ usage: { inputTokens: 80, outputTokens: 300 } });
  });

  it("should keep the reservation when a successful answer reported no usage, and charge an overrun", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy();
    const a = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 10, outputTokens: 500 } }));
    await stub.settle({ leaseId: a.leaseId ?? "", usage: null, status: 200 });
    expect(await stub.inspect()).toMatchObject({ usage: { outputTokens: 500, inFlight: 0 } });
    const b = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 10, outputTokens: 100 } }));
    await stub.settle({ leaseId: b.leaseId ?? "", usage: { inputTokens: 10, outputTokens: 2_000 }, status: 200 });
    expect(await stub.inspect()).toMatchObject({ usage: { outputTokens: 2_500 } });
  });

  it("should throttle on output tokens with a retry-after until the reservation leaves the window", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { outputTokens: 1_000 });
    await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 1, outputTokens: 800 } }));
    const t = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 1, outputTokens: 300 } }));
    expect(t).toMatchObject({ action: "throttle", reasons: ["quota.output_tokens"] });
    expect(t.retryAfterSeconds).toBeGreaterThan(55);
    expect(t.retryAfterSeconds).toBeLessThanOrEqual(65);
  });

  it("should admit again once the window has rolled over", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy();
    await freezeClock(stub);
    for (let i = 0; i < 10; i++) await stub.admit(admitRequest(id, policy));
    const blocked = await stub.admit(admitRequest(id, policy));
    expect(blocked.action).toBe("throttle");
    expect(blocked.retryAfterSeconds).toBeGreaterThan(0);
    expect(blocked.retryAfterSeconds).toBeLessThanOrEqual(65);
    await advanceClock(stub, blocked.retryAfterSeconds * 1000 - 1_000);
    expect((await stub.admit(admitRequest(id, policy))).action).toBe("throttle");
    await advanceClock(stub, PAST_WINDOW_MS);
    const after = await stub.admit(admitRequest(id, policy));
    expect(after.action).toBe("allow");
    expect(after.limits.requests).toEqual({ limit: 10, remaining: 9 });
  });

  it("should enforce the daily exchange limit across windows", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { requests: 100, exchangesPerDay: 5 });
    for (let i = 0; i < 5; i++) expect((await stub.admit(admitRequest(id, policy))).action).toBe("allow");
    await advanceClock(stub, PAST_WINDOW_MS);
    const over = await stub.admit(admitRequest(id, policy));
    expect(over).toMatchObject({ action: "throttle", reasons: ["quota.exchanges_per_day"] });
    expect(over.retryAfterSeconds).toBeGreaterThan(3_600);
    expect((await stub.inspect()).usage.exchangesToday).toBe(5);
    await advanceClock(stub, 86_400_000 + 7_200_000);
    expect((await stub.admit(admitRequest(id, policy))).action).toBe("allow");
  });

  it("should scale limits by verification, organisation type and tier", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({
      tiers: { small: { requests: 10, inputTokens: 1_000, outputTokens: 1_000, exchangesPerDay: 100, concurrency: 10 }, big: { requests: 40, inputTokens: 1_000, outputTokens: 1_000, exchangesPerDay: 100, concurrency: 10 } },
      quota: { verifiedMultiplier: 3, orgTypeMultipliers: { university: 0.5 } },
    });
    const base = admitRequest(id, policy);
    const verified = await stub.admit({ ...base, account: { ...base.account, verified: true } });
    expect(verified.limits.requests.limit).toBe(30);
    const uni = await stub.admit({ ...base, requestId: "r2", account: { ...base.account, verified: true, orgType: "university" } });
    expect(uni.limits.requests.limit).toBe(15);
    const big = await stub.admit({ ...base, requestId: "r3", account: { ...base.account, tier: "big" } });
    expect(big.limits.requests.limit).toBe(40);
  });
});

describe("AccountDO concurrency leases", () => {
  it("should throttle beyond the concurrency limit until a lease is settled", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { concurrency: 2 });
    const a = await stub.admit(admitRequest(id, policy));
    await stub.admit(admitRequest(id, policy));
    const third = await stub.admit(admitRequest(id, policy));
    expect(third).toMatchObject({ action: "throttle", reasons: ["quota.concurrency"], retryAfterSeconds: 1, leaseId: null });
    await stub.settle({ leaseId: a.leaseId ?? "", usage: null, status: 200 });
    expect((await stub.admit(admitRequest(id, policy))).action).toBe("allow");
  });

  it("should reclaim expired leases lazily at admission", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({ limits: { leaseSeconds: 30 } }, { concurrency: 1, requests: 100 });
    await stub.admit(admitRequest(id, policy));
    expect((await stub.admit(admitRequest(id, policy))).action).toBe("throttle");
    await advanceClock(stub, 30_000);
    expect((await stub.admit(admitRequest(id, policy))).action).toBe("allow");
  });

  it("should reclaim expired leases from storage in the alarm", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({ limits: { leaseSeconds: 30 } });
    await stub.admit(admitRequest(id, policy));
    await stub.admit(admitRequest(id, policy));
    await advanceClock(stub, 31_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const stored = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM leases").one().n);
    expect(stored).toBe(0);
    expect((await stub.inspect()).usage.inFlight).toBe(0);
  });

  it("should keep leases and counters across a restart, so no slot leaks or frees itself", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { concurrency: 2 });
    const a = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 7, outputTokens: 70 } }));
    await stub.admit(admitRequest(id, policy));
    await evictDurableObject(stub);
    expect(await stub.inspect()).toMatchObject({ accountId: id, usage: { requests: 2, inputTokens: 17, outputTokens: 170, inFlight: 2 } });
    expect((await stub.admit(admitRequest(id, policy))).reasons).toContain("quota.concurrency");
    await stub.settle({ leaseId: a.leaseId ?? "", usage: { inputTokens: 7, outputTokens: 20 }, status: 200 });
    expect(await stub.inspect()).toMatchObject({ usage: { outputTokens: 120, inFlight: 1 } });
  });
});
