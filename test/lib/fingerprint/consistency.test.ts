import { describe, expect, it } from "vitest";
import { clientFeatures } from "../../../lib/fingerprint/client.ts";
import { tlsFeatures } from "../../../lib/fingerprint/tls.ts";
import { AWS_NODE_CF, CHROME_HEADERS, NODE_SDK_HEADERS, PYTHON_SDK_HEADERS } from "./helpers.ts";

function check(headers: Record<string, string>, cf: Record<string, unknown> = AWS_NODE_CF) {
  return clientFeatures(new Headers(headers), tlsFeatures(cf));
}

describe("declared client vs TLS/HTTP stack", () => {
  it("should find nothing wrong with the real TypeScript SDK on Node over HTTP/1.1", () => {
    const client = check(NODE_SDK_HEADERS);
    expect(client.mismatch).toBe(false);
    expect(client.mismatchReasons).toEqual([]);
  });

  it("should find nothing wrong with the real Python SDK over HTTP/1.1", () => {
    expect(check(PYTHON_SDK_HEADERS).mismatch).toBe(false);
  });

  it("should find nothing wrong with a real Chrome over HTTP/2", () => {
    expect(check(CHROME_HEADERS, { ...AWS_NODE_CF, httpProtocol: "HTTP/2", tlsClientHelloLength: 1812 }).mismatch).toBe(false);
  });

  it("should flag SDK telemetry headers next to a curl user agent", () => {
    const client = check({ ...NODE_SDK_HEADERS, "user-agent": "curl/8.5.0" });
    expect(client.mismatch).toBe(true);
    expect(client.mismatchReasons).toContain("strong:sdk_with_curl_ua");
  });

  it("should flag a Node runtime claim sent with a browser user agent", () => {
    const client = check({ ...NODE_SDK_HEADERS, "user-agent": CHROME_HEADERS["user-agent"] ?? "" });
    expect(client.mismatch).toBe(true);
    expect(client.mismatchReasons).toContain("strong:sdk_runtime_with_browser_ua");
  });

  it("should flag an SDK user agent without the SDK's telemetry headers", () => {
    const client = check({ "user-agent": "Anthropic/JS 1.10.0", accept: "application/json" });
    expect(client.mismatchReasons).toContain("strong:sdk_ua_without_stainless");
    expect(client.mismatch).toBe(true);
  });

  it("should flag a user agent version that disagrees with x-stainless-package-version", () => {
    const client = check({ ...NODE_SDK_HEADERS, "user-agent": "Anthropic/JS 0.30.1" });
    expect(client.mismatchReasons).toContain("strong:sdk_version_vs_ua");
  });

  it("should flag x-stainless-lang js sent with a Python SDK user agent", () => {
    const client = check({ ...NODE_SDK_HEADERS, "user-agent": "Anthropic/Python 1.10.0" });
    expect(client.mismatchReasons).toContain("strong:sdk_lang_vs_ua");
  });

  it("should not flag on one weak hint alone (HTTP/2 from a Node client, e.g. a custom agent)", () => {
    const client = check(NODE_SDK_HEADERS, { ...AWS_NODE_CF, httpProtocol: "HTTP/2" });
    expect(client.mismatchReasons).toEqual(["weak:node_over_http2"]);
    expect(client.mismatch).toBe(false);
  });

  it("should flag two agreeing weak hints: Node claimed, but HTTP/2 and no undici fetch headers (a replayed header set)", () => {
    const { "sec-fetch-mode": _, ...replayed } = NODE_SDK_HEADERS;
    const client = check(replayed, { ...AWS_NODE_CF, httpProtocol: "HTTP/2" });
    expect(client.mismatchReasons).toEqual(expect.arrayContaining(["weak:node_over_http2", "weak:node_without_sec-fetch-mode"]));
    expect(client.mismatch).toBe(true);
  });

  it("should flag a Python SDK claim over QUIC", () => {
    const client = check(PYTHON_SDK_HEADERS, { ...AWS_NODE_CF, httpProtocol: "HTTP/3" });
    expect(client.mismatchReasons).toContain("strong:python_over_quic");
  });

  it("should flag a browser user agent without what browsers always send", () => {
    const client = check({ "user-agent": CHROME_HEADERS["user-agent"] ?? "", accept: "*/*" }, { ...AWS_NODE_CF, httpProtocol: "HTTP/2" });
    expect(client.mismatchReasons).toEqual(expect.arrayContaining(["weak:browser_without_sec-fetch-mode", "weak:browser_without_accept-language"]));
    expect(client.mismatch).toBe(true);
  });

  it("should flag a Chromium user agent with a ClientHello shorter than BoringSSL's padding allows", () => {
    const client = check(CHROME_HEADERS, { ...AWS_NODE_CF, httpProtocol: "HTTP/1.1", tlsClientHelloLength: 300 });
    expect(client.mismatchReasons).toEqual(expect.arrayContaining(["weak:browser_over_http11", "weak:chromium_ua_short_hello"]));
    expect(client.mismatch).toBe(true);
  });

  it("should flag browser fetch-metadata headers from a Python client", () => {
    const client = check({ ...PYTHON_SDK_HEADERS, "sec-fetch-mode": "cors" }, { ...AWS_NODE_CF, httpProtocol: "HTTP/2" });
    expect(client.mismatchReasons).toEqual(expect.arrayContaining(["weak:python_over_http2", "weak:python_with_sec-fetch-mode"]));
    expect(client.mismatch).toBe(true);
  });

  it("should judge nothing about the stack when cf is missing", () => {
    expect(check(NODE_SDK_HEADERS, {}).mismatch).toBe(false);
  });
});
