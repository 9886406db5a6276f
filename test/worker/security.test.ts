import { describe, expect, it } from "vitest";
import { createAccount, messageBody, postMessage } from "../helpers.ts";

type Echo = { headers: Record<string, string>; body: string };

describe("client headers cannot spoof identity, location or risk", () => {
  it("should strip forwarding, country and x-distillguard-* headers and set its own", async () => {
    const account = await createAccount();
    const res = await postMessage(account.key, messageBody(), {
      headers: {
        "x-demo-echo": "1",
        "x-forwarded-for": "1.2.3.4",
        "x-real-ip": "1.2.3.4",
        "true-client-ip": "1.2.3.4",
        forwarded: "for=1.2.3.4",
        "cf-ipcountry": "US",
        "x-distillguard-account": "someone-else",
        "x-distillguard-risk": "0",
        "x-distillguard-action": "allow",
        "mf-cf-blob": JSON.stringify({ country: "US" }),
      },
      cf: { country: "FR", asn: 3215 },
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    const h = echo.headers;
    expect(h["x-forwarded-for"]).toBeUndefined();
    expect(h["x-real-ip"]).toBeUndefined();
    expect(h["true-client-ip"]).toBeUndefined();
    expect(h.forwarded).toBeUndefined();
    expect(h["cf-ipcountry"]).toBeUndefined();
    expect(h["mf-cf-blob"]).toBeUndefined();
    expect(h["x-distillguard-account"]).toBe(account.id);
    expect(h["x-distillguard-country"]).toBe("FR");
    expect(h["x-distillguard-action"]).not.toBe("allow;spoofed");
    expect(h["x-distillguard-request-id"]).toBe(res.headers.get("request-id"));
  });

  it("should forward the body byte-exact when nothing is rewritten", async () => {
    const account = await createAccount();
    const raw = '{"model":"demo-model-1",  "max_tokens":64,"messages":[{"role":"user","content":"spacing  kept"}]}';
    const res = await postMessage(account.key, raw, { headers: { "x-demo-echo": "1" } });
    expect(((await res.json()) as Echo).body).toBe(raw);
  });

  it("should not reveal trusted headers to the client", async () => {
    const account = await createAccount();
    const res = await postMessage(account.key);
    for (const name of res.headers.keys()) expect(name.startsWith("x-distillguard-")).toBe(false);
  });
});
