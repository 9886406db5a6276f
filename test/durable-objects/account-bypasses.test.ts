/**
 * Quota bypasses tried against the account object directly (issue 16: items 2, 5 and 10's admit
 * retries). Each test is the attack; it failed before the fix it names.
 */
import { describe, expect, it } from "vitest";
import { admitRequest, newAccount, testPolicy } from "./account-helpers.ts";

describe("AccountDO against quota bypasses", () => {
  it("should refuse a max_tokens above the whole window's output limit, even into an empty window", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { outputTokens: 8_000 });
    const oversized = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 10, outputTokens: 64_000 } }));
    expect(oversized).toMatchObject({ action: "block", enforced: true, leaseId: null });
    expect(oversized.refusal).toBe("max_tokens 64000 exceeds this account's 8000 output tokens per 60 s");
    expect(oversized.reasons).toContain("quota.oversized.output_tokens");
    // Nothing reached the origin, so nothing counts; a request that fits still goes through.
    expect((await stub.inspect()).usage).toMatchObject({ requests: 0, outputTokens: 0 });
    const fitting = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 10, outputTokens: 8_000 } }));
    expect(fitting.action).toBe("allow");
    expect(fitting.refusal).toBeUndefined();
  });

  it("should refuse a prompt estimated above the whole window's input limit", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { inputTokens: 1_000 });
    const r = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 1_001, outputTokens: 10 } }));
    expect(r).toMatchObject({ action: "block", leaseId: null, refusal: "a prompt of about 1001 input tokens exceeds this account's 1000 input tokens per 60 s" });
  });

  it("should name the limit the account's standing earns, not one shrunk by risk, and throttle what only risk keeps out", async () => {
    const { id, stub } = newAccount();
    // Risk 60 on a cot signal: f(risk) = 1 − 0.9 × 40/80 = 0.55, so 8,000 becomes 4,400 while risk lasts.
    const policy = testPolicy({ risk: { weights: { cot_elicitation: 60 } } }, { outputTokens: 8_000 });
    const risky = admitRequest(id, policy, { signals: ["cot_elicitation"], estimate: { inputTokens: 10, outputTokens: 6_000 } });
    const r = await stub.admit(risky);
    expect(r).toMatchObject({ action: "throttle", leaseId: null });
    expect(r.refusal).toBeUndefined();
    expect(r.reasons).toContain("quota.output_tokens");
    const tooBig = await stub.admit({ ...risky, requestId: "oversized-while-risky", estimate: { inputTokens: 10, outputTokens: 9_000 } });
    expect(tooBig.refusal).toBe("max_tokens 9000 exceeds this account's 8000 output tokens per 60 s");
  });

  it("should count a batch's contained requests against the window and the day", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { requests: 10, exchangesPerDay: 100 });
    expect((await stub.admit(admitRequest(id, policy, { units: 6 }))).action).toBe("allow");
    expect(await stub.inspect()).toMatchObject({ usage: { requests: 6, exchangesToday: 6 } });
    // 6 + 6 > 10: throttled like any request over the limit, and nothing more is counted.
    expect(await stub.admit(admitRequest(id, policy, { units: 6 }))).toMatchObject({ action: "throttle", reasons: ["quota.requests"] });
    const tooMany = await stub.admit(admitRequest(id, policy, { units: 11 }));
    expect(tooMany.refusal).toBe("a batch of 11 requests exceeds this account's 10 requests per 60 s");
    expect(await stub.inspect()).toMatchObject({ usage: { requests: 6, exchangesToday: 6 } });
  });

  it("should give the tokens back when the origin failed without usage, and still count the request", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { requests: 100, outputTokens: 8_000 });
    // 20 origin 529s in a row (an overloaded origin, SDK retries included) at max_tokens 4,000 each.
    for (let i = 0; i < 20; i++) {
      const a = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 50, outputTokens: 4_000 } }));
      expect(a.action).toBe("allow");
      await stub.settle({ leaseId: a.leaseId ?? "", usage: null, status: 529 });
    }
    expect((await stub.inspect()).usage).toMatchObject({ requests: 20, exchangesToday: 20, inputTokens: 0, outputTokens: 0, inFlight: 0 });
  });

  it("should give every token back for a route that reserves no output (count_tokens, models), whatever its status", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy();
    const a = await stub.admit(admitRequest(id, policy, { estimate: { inputTokens: 300, outputTokens: 0 } }));
    await stub.settle({ leaseId: a.leaseId ?? "", usage: null, status: 200 });
    expect((await stub.inspect()).usage).toMatchObject({ requests: 1, inputTokens: 0, outputTokens: 0 });
  });

  it("should count an admit retried with the same request id once, and answer it with the same lease", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy();
    const request = admitRequest(id, policy, { estimate: { inputTokens: 10, outputTokens: 100 } });
    const first = await stub.admit(request);
    const retry = await stub.admit(request);
    expect(retry.leaseId).not.toBeNull();
    expect(retry).toEqual(first);
    expect((await stub.inspect()).usage).toMatchObject({ requests: 1, exchangesToday: 1, outputTokens: 100, inFlight: 1 });
    // A different request is a different admission.
    const other = await stub.admit(admitRequest(id, policy));
    expect(other.leaseId).not.toBe(first.leaseId);
    expect((await stub.inspect()).usage.requests).toBe(2);
  });
});
