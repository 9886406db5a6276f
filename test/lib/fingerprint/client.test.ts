import { describe, expect, it } from "vitest";
import { clientFeatures } from "../../../lib/fingerprint/client.ts";
import { tlsFeatures } from "../../../lib/fingerprint/tls.ts";
import { AWS_NODE_CF, CHROME_HEADERS, CURL_HEADERS, NODE_SDK_HEADERS, PYTHON_SDK_HEADERS } from "./helpers.ts";

const tls = tlsFeatures(AWS_NODE_CF);

describe("client features", () => {
  it("should list header names sorted, without credentials, volatile or edge-added headers", () => {
    const headers = new Headers({
      ...NODE_SDK_HEADERS,
      cookie: "a=b",
      "cf-connecting-ip": "203.0.113.7",
      "cf-ray": "abc",
      "x-forwarded-for": "1.2.3.4",
      "x-distillguard-risk": "0",
      connection: "keep-alive",
      host: "api.example.com",
    });
    const { headerNames } = clientFeatures(headers, tls);
    expect(headerNames).toEqual([...headerNames].sort());
    for (const hidden of ["authorization", "x-api-key", "cookie", "content-length", "cf-connecting-ip", "cf-ray", "x-forwarded-for", "x-distillguard-risk", "connection", "host"]) {
      expect(headerNames).not.toContain(hidden);
    }
    expect(headerNames).toContain("x-stainless-lang");
    expect(headerNames).toContain("sec-fetch-mode");
  });

  it("should read the SDK profile from x-stainless-* headers", () => {
    const client = clientFeatures(new Headers(NODE_SDK_HEADERS), tls);
    expect(client.sdk).toEqual({ lang: "js", packageVersion: "1.10.0", os: "Linux", arch: "x64", runtime: "node", runtimeVersion: "v22.23.3" });
    expect(client.anthropicVersion).toBe("2023-06-01");
    expect(client.declaredStack).toBe("node");
  });

  it("should have no SDK profile when no x-stainless header is present", () => {
    expect(clientFeatures(new Headers(CURL_HEADERS), tls).sdk).toBeNull();
  });

  it.each([
    ["Anthropic/JS 1.10.0", "anthropic-sdk-ts"],
    ["Anthropic/Python 0.40.0", "anthropic-sdk-python"],
    ["Anthropic/Go 1.2.0", "anthropic-sdk-go"],
    ["curl/8.5.0", "curl"],
    ["python-requests/2.32.3", "python-requests"],
    ["python-httpx/0.27.0", "python-httpx"],
    ["Python/3.12 aiohttp/3.9.5", "python-aiohttp"],
    ["Go-http-client/2.0", "go-http"],
    ["node", "node"],
    ["axios/1.7.2", "axios"],
    ["okhttp/4.12.0", "okhttp"],
    [CHROME_HEADERS["user-agent"] ?? "", "browser"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "browser"],
    ["MyScraper/0.1", "other"],
  ])("should classify the user agent %s as %s", (ua, family) => {
    expect(clientFeatures(new Headers({ "user-agent": ua }), tls).uaFamily).toBe(family);
  });

  it("should classify a missing user agent as none", () => {
    expect(clientFeatures(new Headers(), tls).uaFamily).toBe("none");
  });

  it("should take the SDK version from the user agent", () => {
    expect(clientFeatures(new Headers(PYTHON_SDK_HEADERS), tls).uaVersion).toBe("0.40.0");
  });

  it("should sort and deduplicate anthropic-beta values", () => {
    const client = clientFeatures(new Headers({ "anthropic-beta": "tools-2024-05-16, prompt-caching-2024-07-31,tools-2024-05-16" }), tls);
    expect(client.anthropicBeta).toEqual(["prompt-caching-2024-07-31", "tools-2024-05-16"]);
  });

  it("should keep client-chosen values printable ASCII and short", () => {
    const client = clientFeatures(new Headers({ "x-stainless-lang": "js", "x-stainless-os": `Linux\t${"x".repeat(500)}` }), tls);
    expect(client.sdk?.os).toMatch(/^[\x20-\x7e]{1,32}$/);
  });
});
