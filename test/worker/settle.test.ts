import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { accountObjectName } from "../../lib/names.ts";
import { createAccount, messageBody, postMessage, usePolicy, resetPolicy } from "../helpers.ts";

afterEach(resetPolicy);

async function inFlightEventually(accountId: string, expected: number): Promise<number> {
  const stub = env.ACCOUNTS.getByName(accountObjectName(accountId));
  let inFlight = -1;
  for (let tries = 0; tries < 100; tries++) {
    inFlight = (await stub.inspect()).usage.inFlight;
    if (inFlight === expected) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return inFlight;
}

describe("coalesced settles", () => {
  it("should give a sequential client's slot back through its next admit, so a concurrency of 1 never refuses it", async () => {
    await usePolicy({ tiers: { free: { requests: 100, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 10_000, concurrency: 1 } } });
    const account = await createAccount();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await postMessage(account.key, messageBody({ max_tokens: 500 }));
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    // The last settle has no next admit to ride on: the delayed flush delivers it.
    expect(await inFlightEventually(account.id, 0)).toBe(0);
    // And every reservation of 500 output tokens was reconciled with the demo origin's real usage (16 each).
    const state = await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect();
    expect(state.usage.outputTokens).toBe(6 * 16);
  });
});

describe("settles of answers without usage", () => {
  it("should not let an origin's 529 storm exhaust a free account's tokens", async () => {
    // The built-in free tier: 20 requests and 8,000 output tokens per window.
    const account = await createAccount({ tier: "free" });
    const statuses: number[] = [];
    // Ten failed attempts at max_tokens 4,000 (an SDK's retries included) would have kept 40,000 tokens reserved.
    for (let i = 0; i < 10; i++) {
      const res = await postMessage(account.key, messageBody({ max_tokens: 4_000 }), { headers: { "x-demo-status": "529" } });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 529));
    // The origin recovers: the account still has its whole output budget.
    const ok = await postMessage(account.key, messageBody({ max_tokens: 8_000 }));
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    expect(await inFlightEventually(account.id, 0)).toBe(0);
    const state = await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect();
    // Every attempt reached the origin, so every one counts as a request; only the answer's tokens count.
    expect(state.usage.requests).toBe(11);
    expect(state.usage.outputTokens).toBe(16);
  });
});
