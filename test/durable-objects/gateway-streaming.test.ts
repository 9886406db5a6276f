/** Streams the client abandons still settle: the slot comes back and the streamed tokens count. */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { accountObjectName } from "../../lib/names.ts";
import { createAccount, messageBody, postMessage, resetPolicy, usePolicy } from "../helpers.ts";

const STREAMS = 20;
const MAX_TOKENS = 1_000;

describe("abandoned streams", () => {
  // The object's own leases, one per stream: the 20th concurrent request may otherwise come back with an
  // allowance (its slots and pre-debit show in the usage read here until it is given back, see
  // test/durable-objects/account-allowance.test.ts), which is not what this file is about.
  beforeEach(() => usePolicy({ quota: { allowance: { enabled: false } } }));
  afterEach(resetPolicy);

  it("should release every lease and count the tokens streamed before 20 clients hung up", async () => {
    // Enterprise: limits far above 20 reservations of 1,000 tokens, so nothing here is throttled.
    const account = await createAccount({ tier: "enterprise" });
    const stub = env.ACCOUNTS.getByName(accountObjectName(account.id));
    const responses = await Promise.all(
      Array.from({ length: STREAMS }, () =>
        postMessage(account.key, messageBody({ stream: true, max_tokens: MAX_TOKENS }), {
          headers: { "x-demo-events": "200", "x-demo-delay-ms": "10" },
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(STREAMS).fill(200));
    expect((await stub.inspect()).usage).toMatchObject({ inFlight: STREAMS, outputTokens: STREAMS * MAX_TOKENS });

    await Promise.all(
      responses.map(async (res) => {
        const reader = res.body?.getReader();
        if (!reader) throw new Error("no body");
        const first = await reader.read();
        expect(first.done).toBe(false);
        await reader.cancel();
      }),
    );

    // Settle runs in waitUntil after the cancel reaches the gateway: poll, bounded.
    let state = await stub.inspect();
    for (let i = 0; i < 200 && state.usage.inFlight > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      state = await stub.inspect();
    }
    expect(state.usage.inFlight).toBe(0);
    // Reconciled from the reservation down to what was streamed, and never to nothing.
    expect(state.usage.outputTokens).toBeGreaterThanOrEqual(STREAMS);
    expect(state.usage.outputTokens).toBeLessThan(STREAMS * MAX_TOKENS);
    expect(state.usage.requests).toBe(STREAMS);
  });
});
