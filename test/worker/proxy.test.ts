import { describe, expect, it } from "vitest";
import { createAccount, gateway, messageBody, originSaw, postMessage, unique } from "../helpers.ts";

describe("proxy to the origin", () => {
  it("should serve /healthz", async () => {
    const res = await gateway("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("request-id")).toMatch(/^req_/);
  });

  it("should forward a message and return the origin's JSON with usage", async () => {
    const account = await createAccount();
    const res = await postMessage(account.key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { type: string; usage: { input_tokens: number; output_tokens: number } };
    expect(body.type).toBe("message");
    expect(body.usage.output_tokens).toBeGreaterThan(0);
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    expect(res.headers.get("anthropic-ratelimit-requests-limit")).toMatch(/^\d+$/);
  });

  it("should pass origin errors through with their status", async () => {
    const account = await createAccount();
    const res = await postMessage(account.key, messageBody(), { headers: { "x-demo-status": "529" } });
    expect(res.status).toBe(529);
    expect(await res.json()).toEqual({ type: "error", error: { type: "overloaded_error", message: "demo origin answered 529" } });
  });

  it("should refuse a missing key with 401 before the origin is touched", async () => {
    const tag = unique("tag");
    const res = await gateway("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-demo-tag": tag },
      body: JSON.stringify(messageBody()),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
    expect(await originSaw(tag)).toBe(0);
  });
});
