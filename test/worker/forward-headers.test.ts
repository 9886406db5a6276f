import { describe, expect, it } from "vitest";
import { ENDPOINTS } from "../../lib/endpoints.ts";
import { buildUpstreamRequest, isForwardableRequestHeader } from "../../worker/forward.ts";
import { NODE_SDK_HEADERS, PYTHON_SDK_HEADERS } from "../lib/fingerprint/helpers.ts";

describe("client headers forwarded to the origin (an allow-list)", () => {
  it("Should forward what the official SDKs send, except what the runtime sets and fetch metadata", () => {
    for (const headers of [NODE_SDK_HEADERS, PYTHON_SDK_HEADERS]) {
      const dropped = Object.keys(headers).filter((name) => !isForwardableRequestHeader(name));
      expect(dropped.sort()).toEqual(headers === NODE_SDK_HEADERS ? ["content-length", "sec-fetch-mode"] : []);
    }
    for (const name of ["anthropic-beta", "anthropic-dangerous-direct-browser-access", "idempotency-key", "X-Stainless-Helper-Method"]) {
      expect(isForwardableRequestHeader(name), name).toBe(true);
    }
  });

  it("Should drop every header that claims a client, a path or a method", () => {
    for (const name of [
      "x-client-ip", "client-ip", "via", "x-original-url", "x-rewrite-url", "x-http-method-override", "x-method-override",
      "x-http-method", "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
      "x-real-ip", "true-client-ip", "forwarded", "cf-connecting-ip", "cf-ipcountry", "mf-cf-blob", "x-distillguard-account",
      "host", "connection", "transfer-encoding", "te", "upgrade", "cookie", "origin", "referer", "x-demo-echo",
    ]) {
      expect(isForwardableRequestHeader(name), name).toBe(false);
    }
  });

  it("Should pass the demo origin's x-demo-* knobs only in development", () => {
    expect(isForwardableRequestHeader("x-demo-status", { development: true })).toBe(true);
    expect(isForwardableRequestHeader("x-demo-status", { development: false })).toBe(false);
    expect(isForwardableRequestHeader("x-client-ip", { development: true })).toBe(false);
  });
});

describe("the upstream request", () => {
  const build = (originUrl: string, clientUrl: string) =>
    buildUpstreamRequest({
      request: new Request(clientUrl, { method: "POST", headers: { "x-api-key": "sk-client", "x-forwarded-for": "203.0.113.9", "anthropic-version": "2023-06-01" }, body: "{}" }),
      originUrl,
      endpoint: { ...ENDPOINTS.messages, originPath: "/v1/messages" },
      body: { bytes: new TextEncoder().encode("{}"), json: {} },
      trusted: { "x-distillguard-account": "acct-1" },
      apiKey: "sk-authenticated",
    });

  it("Should go to the origin's base path with the route's canonical path and the client's query", () => {
    expect(build("https://origin.example/base/", "https://gw.example/v1//messages?beta=true").url).toBe("https://origin.example/base/v1/messages?beta=true");
    expect(build("http://127.0.0.1:8788", "https://gw.example/v1/messages").url).toBe("http://127.0.0.1:8788/v1/messages");
  });

  it("Should carry the authenticated key, the trusted headers and the allowed client headers only", () => {
    const headers = build("http://127.0.0.1:8788", "https://gw.example/v1/messages").headers;
    expect(headers.get("x-api-key")).toBe("sk-authenticated");
    expect(headers.get("x-distillguard-account")).toBe("acct-1");
    expect(headers.get("anthropic-version")).toBe("2023-06-01");
    expect(headers.has("x-forwarded-for")).toBe(false);
  });
});
