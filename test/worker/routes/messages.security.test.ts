/**
 * POST /v1/messages, tried as an attacker would: headers the origin must never
 * see, path spellings that could reach it unmetered or at another path, bodies
 * built to break the gateway after admission, and exchanges that end early.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAccount, messageBody, resetPolicy, usePolicy } from "../../helpers.ts";
import { accountStateWhen, call, expectError, pathOf, ROOMY, QUIET, tagged, type Echo } from "./helpers.ts";

afterEach(resetPolicy);

async function roomyAccount() {
  await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET });
  return createAccount({ tier: "roomy" });
}

describe("POST /v1/messages: client headers", () => {
  it("Should forward only the headers the Messages API and the SDKs use", async () => {
    const account = await roomyAccount();
    const res = await call("POST", "/v1/messages", account.key, {
      body: messageBody(),
      headers: {
        "x-demo-echo": "1",
        "x-client-ip": "1.2.3.4",
        "client-ip": "1.2.3.4",
        via: "1.1 attacker-proxy",
        "x-original-url": "/v1/admin",
        "x-rewrite-url": "/v1/admin",
        "x-http-method-override": "DELETE",
        "x-method-override": "DELETE",
        "x-forwarded-port": "8443",
        "x-forwarded-prefix": "/internal",
        "x-forwarded-for": "1.2.3.4",
        "x-real-ip": "1.2.3.4",
        "cf-ipcountry": "US",
        "x-distillguard-account": "someone-else",
        "x-distillguard-risk": "0",
        "x-anything-new": "1",
        "anthropic-beta": "prompt-caching-2024-07-31",
        "x-stainless-lang": "js",
        "x-stainless-retry-count": "0",
        "idempotency-key": "idem-1",
        "user-agent": "Anthropic/JS 1.10.0",
      },
    });
    expect(res.status).toBe(200);
    const h = ((await res.json()) as Echo).headers;
    for (const name of [
      "x-client-ip", "client-ip", "via", "x-original-url", "x-rewrite-url", "x-http-method-override", "x-method-override",
      "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-for", "x-real-ip", "cf-ipcountry", "x-anything-new",
    ]) {
      expect(h[name], name).toBeUndefined();
    }
    expect(h["x-distillguard-account"]).toBe(account.id);
    expect(h["x-distillguard-risk"]).not.toBe("0;spoofed");
    expect(h["anthropic-version"]).toBe("2023-06-01");
    expect(h["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
    expect(h["x-stainless-lang"]).toBe("js");
    expect(h["x-stainless-retry-count"]).toBe("0");
    expect(h["idempotency-key"]).toBe("idem-1");
    expect(h["user-agent"]).toBe("Anthropic/JS 1.10.0");
    expect(h["content-type"]).toBe("application/json");
    expect(h["x-api-key"]).toBe(account.key);
  });
});

describe("POST /v1/messages: path spellings", () => {
  // Each is either the canonical route (metered, and the origin asked at /v1/messages) or 404 with the origin untouched.
  const spellings = [
    "/v1/messages/", "/v1//messages", "//v1/messages", "/v1/messages//", "/v1/messages%2F", "/v1%2Fmessages", "/v1%2fmessages",
    "/v1/Messages", "/V1/messages", "/v1/MESSAGES", "/v1/./messages", "/v1/%2e/messages", "/v1/x/../messages", "/v1/%2E%2E/v1/messages",
    "/v1/%6Dessages", "/v1/messages;x=1", "/v1/messages%00", "/v1/messages%20", "/v1/messages/.", "/v1/messages/count_tokens/..",
  ];
  for (const path of spellings) {
    it(`Should serve ${path} as /v1/messages, metered, or answer 404 without reaching the origin`, async () => {
      const account = await roomyAccount();
      const { tag, seen } = tagged();
      const res = await call("POST", path, account.key, { body: messageBody(), headers: { "x-demo-echo": "1", "x-demo-tag": tag } });
      if (res.status === 404) {
        await expectError(res, 404, "not_found_error");
        expect(await seen()).toBe(0);
        return;
      }
      expect(res.status).toBe(200);
      expect(pathOf(((await res.json()) as Echo).url)).toBe("/v1/messages");
      const state = await accountStateWhen(account.id, (s) => s.usage.requests === 1);
      expect(state.usage.requests).toBe(1);
    });
  }

  for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
    it(`Should answer ${method} /v1/messages with 404, origin untouched`, async () => {
      const account = await roomyAccount();
      const { tag, seen } = tagged();
      const res = await call(method, "/v1/messages", account.key, {
        body: method === "GET" ? undefined : messageBody(),
        headers: { "x-demo-tag": tag },
      });
      await expectError(res, 404, "not_found_error");
      expect(await seen()).toBe(0);
    });
  }

  it("Should forward to /v1/messages whatever method an override header asks for", async () => {
    const account = await roomyAccount();
    const res = await call("POST", "/v1/messages", account.key, {
      body: messageBody(),
      headers: { "x-demo-echo": "1", "x-http-method-override": "DELETE", "x-original-url": "/v1/messages/batches" },
    });
    const seen = (await res.json()) as Echo;
    expect(seen.method).toBe("POST");
    expect(pathOf(seen.url)).toBe("/v1/messages");
  });
});

describe("POST /v1/messages: bodies built to break the gateway", () => {
  it("Should refuse a body nested 200,000 levels deep with 400 before admission, leaving no lease", async () => {
    const account = await roomyAccount();
    const { tag, seen } = tagged();
    const depth = 200_000;
    const deep = `{"model":"demo-model-1","max_tokens":64,"messages":[{"role":"user","content":"hi"}],"metadata":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const res = await call("POST", "/v1/messages", account.key, { body: deep, headers: { "x-demo-tag": tag } });
    const message = await expectError(res, 400, "invalid_request_error");
    expect(message).toContain("deeper");
    expect(await seen()).toBe(0);
    const state = await accountStateWhen(account.id, () => false, 5);
    expect(state.usage.requests).toBe(0);
    expect(state.usage.inFlight).toBe(0);
  });

  it("Should still accept a body nested within the limit", async () => {
    const account = await roomyAccount();
    const nested = `{"model":"demo-model-1","max_tokens":64,"messages":[{"role":"user","content":"hi [[[{{"}],"metadata":{"a":${"[".repeat(100)}${"]".repeat(100)}}}`;
    const res = await call("POST", "/v1/messages", account.key, { body: nested });
    // The demo origin does not look at metadata; what matters is that the gateway let it through.
    expect(res.status).toBe(200);
  });

  it("Should refuse a body over the limit with 413 before the origin is touched", async () => {
    await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET, limits: { maxBodyBytes: 4096 } });
    const account = await createAccount({ tier: "roomy" });
    const { tag, seen } = tagged();
    const res = await call("POST", "/v1/messages", account.key, {
      body: messageBody({ messages: [{ role: "user", content: "x".repeat(8192) }] }),
      headers: { "x-demo-tag": tag },
    });
    await expectError(res, 413, "request_too_large");
    expect(await seen()).toBe(0);
  });
});

describe("POST /v1/messages: answers the gateway must not hold", () => {
  for (const [label, headers] of [
    ["a chunked JSON answer of 2 MB", { "x-demo-chunked": "1", "x-demo-pad-bytes": "2000000" }],
    ["a JSON answer declaring 2 MB", { "x-demo-pad-bytes": "2000000" }],
  ] as const) {
    it(`Should pass ${label} through and settle the usage it reports`, async () => {
      const account = await roomyAccount();
      const res = await call("POST", "/v1/messages", account.key, { body: messageBody({ max_tokens: 500 }), headers });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { usage: { output_tokens: number } };
      // The demo origin's 8 events make 16 output tokens, far below the 500 reserved.
      expect(answer.usage.output_tokens).toBe(16);
      const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.outputTokens === 16);
      expect(state.usage.outputTokens).toBe(16);
    });
  }
});

describe("POST /v1/messages: a JSON answer of unknown length", () => {
  it("Should pass a chunked JSON answer on as it arrives, not once the origin has finished", async () => {
    const account = await roomyAccount();
    const res = await call("POST", "/v1/messages", account.key, {
      body: messageBody({ max_tokens: 500 }),
      headers: { "x-demo-chunked": "1", "x-demo-chunk-bytes": "32", "x-demo-delay-ms": "100" },
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // Held whole, the first read would be the whole answer, usage (its last field) included.
    expect(first).not.toContain('"usage"');
    let rest = first;
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest += new TextDecoder().decode(next.value);
    expect((JSON.parse(rest) as { usage: { output_tokens: number } }).usage.output_tokens).toBe(16);
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.outputTokens === 16);
    expect(state.usage.outputTokens).toBe(16);
  });
});

describe("POST /v1/messages: exchanges that end early", () => {
  it("Should give the lease back when the client leaves before the origin's headers", async () => {
    await usePolicy({ tiers: { roomy: { ...ROOMY, concurrency: 1 } }, defaultTier: "roomy", actions: QUIET });
    const account = await createAccount({ tier: "roomy" });
    const abort = new AbortController();
    const pending = call("POST", "/v1/messages", account.key, {
      body: messageBody(),
      headers: { "x-demo-header-delay-ms": "1500" },
      signal: abort.signal,
    }).catch((err: unknown) => err);
    // The lease is taken once admission has answered; leave while the origin is still silent.
    await accountStateWhen(account.id, (s) => s.usage.inFlight === 1);
    abort.abort();
    await pending;
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0, 250);
    expect(state.usage.inFlight).toBe(0);
    // And the one slot is usable again long before the lease would have expired (300 s).
    const next = await call("POST", "/v1/messages", account.key, { body: messageBody() });
    expect(next.status).toBe(200);
  });

  it("Should give the lease back once when the origin fails before its headers", async () => {
    await usePolicy({ tiers: { roomy: { ...ROOMY, concurrency: 1 } }, defaultTier: "roomy", actions: QUIET });
    const account = await createAccount({ tier: "roomy" });
    const res = await call("POST", "/v1/messages", account.key, { body: messageBody(), headers: { "x-demo-status": "529" } });
    expect(res.status).toBe(529);
    await res.arrayBuffer();
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0);
    expect(state.usage.inFlight).toBe(0);
  });
});
