import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { POLICY_KEY, invalidatePolicyCache } from "../../worker/policy.ts";
import { createAccount, gateway, messageBody, originSaw, postMessage, unique } from "../helpers.ts";

type ErrorBody = { type: string; error: { type: string; message: string } };

describe("error answers", () => {
  it("should answer malformed JSON with 400 invalid_request_error", async () => {
    const account = await createAccount();
    const res = await postMessage(account.key, "{not json");
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("invalid_request_error");
    expect(res.headers.get("request-id")).toMatch(/^req_/);
  });

  it("should answer a JSON array body with 400", async () => {
    const account = await createAccount();
    const res = await postMessage(account.key, "[1,2,3]");
    expect(res.status).toBe(400);
  });

  it("should answer invalid UTF-8 with 400, not 500", async () => {
    const account = await createAccount();
    const res = await gateway("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": account.key, "content-type": "application/json" },
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    });
    expect(res.status).toBe(400);
  });

  it("should answer a body over the limit with 413 request_too_large, origin untouched", async () => {
    const account = await createAccount();
    const tag = unique("big");
    const big = JSON.stringify(messageBody({ messages: [{ role: "user", content: "x".repeat(5 * 1024 * 1024) }] }));
    const res = await postMessage(account.key, big, { headers: { "x-demo-tag": tag } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.type).toBe("request_too_large");
    expect(await originSaw(tag)).toBe(0);
  });

  it("should answer a streamed body over the limit with 413 without a content-length", async () => {
    const account = await createAccount();
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 8) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await gateway("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": account.key, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it("should answer an unknown key with 401 authentication_error", async () => {
    const tag = unique("unknown");
    const res = await postMessage("sk-nobody-0000000000", messageBody(), { headers: { "x-demo-tag": tag } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as ErrorBody).error.type).toBe("authentication_error");
    expect(await originSaw(tag)).toBe(0);
  });

  it("should accept the key as Authorization: Bearer", async () => {
    const account = await createAccount();
    const res = await gateway("/v1/messages", {
      method: "POST",
      headers: { authorization: `Bearer ${account.key}`, "content-type": "application/json" },
      body: JSON.stringify(messageBody()),
    });
    expect(res.status).toBe(200);
  });

  it("should answer unknown paths with 404 in the error shape", async () => {
    const res = await gateway("/nothing-here");
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.type).toBe("not_found_error");
  });
});

describe("policy from KV", () => {
  it("should keep the last good policy when KV holds an invalid one", async () => {
    const account = await createAccount();
    await env.CONFIG.put(POLICY_KEY, JSON.stringify({ version: 7, limits: { maxBodyBytes: 2048 } }));
    invalidatePolicyCache();
    const small = await postMessage(account.key, messageBody({ messages: [{ role: "user", content: "y".repeat(4096) }] }));
    expect(small.status).toBe(413);

    await env.CONFIG.put(POLICY_KEY, JSON.stringify({ version: 8, limits: { maxBodyBytes: "lots" } }));
    // Expire the cached copy without forgetting it: the refresh must reject the bad document.
    const { refreshPolicyNow } = await import("../../worker/policy.ts");
    await refreshPolicyNow(env.CONFIG);
    const still = await postMessage(account.key, messageBody({ messages: [{ role: "user", content: "y".repeat(4096) }] }));
    expect(still.status).toBe(413);

    await env.CONFIG.put(POLICY_KEY, "{ this is not json");
    await refreshPolicyNow(env.CONFIG);
    const again = await postMessage(account.key, messageBody({ messages: [{ role: "user", content: "y".repeat(4096) }] }));
    expect(again.status).toBe(413);

    await env.CONFIG.delete(POLICY_KEY);
    await refreshPolicyNow(env.CONFIG);
    const defaults = await postMessage(account.key, messageBody({ messages: [{ role: "user", content: "y".repeat(4096) }] }));
    expect(defaults.status).toBe(200);
  });
});
