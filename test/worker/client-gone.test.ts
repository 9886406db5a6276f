/**
 * A client that goes away before the origin has answered: the origin's request is cancelled too, so it
 * stops generating an answer nobody will read (request.signal, passed to the origin fetch).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/index.ts";
import { createAccount, GATEWAY, messageBody, ORIGIN, originSaw, postMessage, unique } from "../helpers.ts";

async function originAborted(tag: string): Promise<number> {
  const res = await fetch(`${ORIGIN}/__demo/aborted?tag=${encodeURIComponent(tag)}`);
  return ((await res.json()) as { count: number }).count;
}

async function until(check: () => Promise<boolean>): Promise<boolean> {
  for (let tries = 0; tries < 250; tries++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

describe("a client that goes away", () => {
  it("Should cancel the origin's request when the client leaves before the answer", async () => {
    const account = await createAccount();
    const tag = unique("gone");
    const client = new AbortController();
    // The app itself, handed a request whose signal the test holds: the runtime's own request.signal
    // (which aborts when the client disconnects) is that signal here.
    const request = new Request(`${GATEWAY}/v1/messages`, {
      method: "POST",
      // The origin holds its answer for 5 s: long after the client has left.
      headers: { "x-api-key": account.key, "content-type": "application/json", "x-demo-tag": tag, "x-demo-header-delay-ms": "5000" },
      body: JSON.stringify(messageBody()),
      signal: client.signal,
    });
    const ctx = createExecutionContext();
    const answer = Promise.resolve(app.fetch(request, env, ctx)).catch((err: unknown) => err);
    expect(await until(async () => (await originSaw(tag)) === 1)).toBe(true);
    client.abort();
    expect(await until(async () => (await originAborted(tag)) === 1)).toBe(true);
    await answer;
    await waitOnExecutionContext(ctx);
  });

  it("Should leave the origin's request alone when the client stays", async () => {
    const account = await createAccount();
    const tag = unique("stays");
    const res = await postMessage(account.key, undefined, { headers: { "x-demo-tag": tag, "x-demo-header-delay-ms": "50" } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(await originSaw(tag)).toBe(1);
    expect(await originAborted(tag)).toBe(0);
  });
});
