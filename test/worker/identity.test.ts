/**
 * Identity as an attacker probes it: two keys on one request, and a flood of
 * random keys against the isolate's key cache.
 */
import { afterEach, describe, expect, it } from "vitest";
import { keyIndexName } from "../../lib/accounts.ts";
import { sha256Hex } from "../../lib/hash.ts";
import { keyCacheSizes } from "../../worker/identity.ts";
import { admin, createAccount, env, messageBody, originSaw, postMessage, resetPolicy, unique, usePolicy } from "../helpers.ts";

type Echo = { headers: Record<string, string> };

afterEach(resetPolicy);

describe("two credentials on one request", () => {
  it("should refuse x-api-key A with Authorization: Bearer B (B blocked) with 401, origin untouched", async () => {
    const a = await createAccount();
    const b = await createAccount();
    expect((await admin("POST", `/accounts/${b.id}/overrides`, { kind: "block", reason: "abuse" })).status).toBe(201);
    const tag = unique("two-keys");
    const res = await postMessage(a.key, messageBody(), { headers: { authorization: `Bearer ${b.key}`, "x-demo-tag": tag } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ type: "error", error: { type: "authentication_error", message: expect.any(String) } });
    expect(await originSaw(tag)).toBe(0);
  });

  it("should accept the same key in both headers and send the origin exactly that key, once, as x-api-key", async () => {
    const a = await createAccount();
    const res = await postMessage(a.key, messageBody(), { headers: { authorization: `Bearer ${a.key}`, "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const h = ((await res.json()) as Echo).headers;
    expect(h["x-api-key"]).toBe(a.key);
    expect(h.authorization).toBeUndefined();
  });

  it("should send the origin a Bearer key as x-api-key, and no Authorization header", async () => {
    const a = await createAccount();
    const res = await postMessage("", messageBody(), { headers: { "x-api-key": "", authorization: `Bearer ${a.key}`, "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const h = ((await res.json()) as Echo).headers;
    expect(h["x-api-key"]).toBe(a.key);
    expect(h.authorization).toBeUndefined();
  });

  it("should not forward a non-Bearer Authorization header next to x-api-key", async () => {
    const a = await createAccount();
    const res = await postMessage(a.key, messageBody(), { headers: { authorization: "Basic c29tZW9uZTplbHNl", "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const h = ((await res.json()) as Echo).headers;
    expect(h["x-api-key"]).toBe(a.key);
    expect(h.authorization).toBeUndefined();
  });
});

describe("the key cache under a random-key flood", () => {
  it("should keep a known key's entry when more unknown keys arrive than the cache holds", async () => {
    const size = 16;
    await usePolicy({ cache: { keyCacheSize: size } });
    const a = await createAccount();
    expect((await postMessage(a.key)).status).toBe(200);
    for (let i = 0; i <= size; i++) {
      const res = await postMessage(`sk-random-${unique("flood")}`);
      expect(res.status).toBe(401);
      await res.arrayBuffer();
    }
    // With the index entry gone from KV, only the isolate's cache can still know the key.
    await env.CONFIG.delete(keyIndexName(await sha256Hex(a.key)));
    expect((await postMessage(a.key)).status).toBe(200);
    expect(keyCacheSizes().known).toBeLessThanOrEqual(size);
    expect(keyCacheSizes().unknown).toBeGreaterThan(size);
  });
});
