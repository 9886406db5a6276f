import Anthropic from "@anthropic-ai/sdk";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { validatePolicy } from "../../lib/policy/index.ts";
import { createAccount, GATEWAY, messageBody, postMessage, resetPolicy, usePolicy } from "../helpers.ts";

type Message = { content: Array<{ type: string }>; usage: { output_tokens: number } };

const alwaysDegrade = { tag: 0, degrade: 0, throttle: 100, block: 100 };
const small = { requests: 100, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 10_000, concurrency: 16 };
const THINKING = { "x-demo-thinking": "1" };

afterEach(resetPolicy);

function sdk(apiKey: string): Anthropic {
  return new Anthropic({
    apiKey,
    baseURL: GATEWAY,
    maxRetries: 0,
    defaultHeaders: THINKING,
    fetch: (input: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
  });
}

describe("output safeguards through the gateway", () => {
  it("should remove reasoning blocks from a degraded JSON answer", async () => {
    await usePolicy({ actions: alwaysDegrade, tiers: { small }, defaultTier: "small" });
    const account = await createAccount();
    const res = await postMessage(account.key, messageBody(), { headers: THINKING });
    expect(res.status).toBe(200);
    expect(res.headers.get("distillguard-notice")).toBeNull();
    const message = (await res.json()) as Message;
    expect(message.content.map((b) => b.type)).toEqual(["text"]);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it("should leave reasoning blocks in an answer that was not degraded, or degraded only in shadow", async () => {
    const account = await createAccount();
    const allowed = (await (await postMessage(account.key, messageBody(), { headers: THINKING })).json()) as Message;
    expect(allowed.content.map((b) => b.type)).toEqual(["thinking", "redacted_thinking", "text"]);

    await usePolicy({ actions: alwaysDegrade, shadowRules: ["risk"], tiers: { small }, defaultTier: "small" });
    const shadow = (await (await postMessage((await createAccount()).key, messageBody(), { headers: THINKING })).json()) as Message;
    expect(shadow.content.map((b) => b.type)).toEqual(["thinking", "redacted_thinking", "text"]);
  });

  it("should stream a degraded answer without its reasoning blocks that the official SDK assembles", async () => {
    await usePolicy({ actions: alwaysDegrade, tiers: { small }, defaultTier: "small" });
    const account = await createAccount();
    const events: Array<{ type: string; index?: number }> = [];
    const stream = sdk(account.key).messages.stream({ model: "demo-model-1", max_tokens: 64, messages: [{ role: "user", content: "Hello" }] });
    stream.on("streamEvent", (event) => events.push({ type: event.type, index: "index" in event ? event.index : undefined }));
    const final = await stream.finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(["text"]);
    expect(final.content[0]?.type === "text" && final.content[0].text.length).toBeGreaterThan(0);
    const indexes = new Set(events.filter((e) => e.type.startsWith("content_block")).map((e) => e.index));
    expect([...indexes]).toEqual([0]);
  });

  it("should name the enforced action and the appeal contact when the policy asks for a notice", async () => {
    const appeal = "https://example.test/appeal or abuse@example.test";
    await usePolicy({ actions: alwaysDegrade, tiers: { small }, defaultTier: "small", safeguards: { notice: { degrade: true }, appealContact: appeal } });
    const res = await postMessage((await createAccount()).key, messageBody(), { headers: THINKING });
    expect(res.status).toBe(200);
    expect(res.headers.get("distillguard-notice")).toBe(`degrade; appeal="${appeal}"`);
    await res.arrayBuffer();
  });

  it("should put the notice on a throttled answer only when the policy names throttle", async () => {
    const one = { ...small, requests: 1 };
    await usePolicy({ tiers: { one }, defaultTier: "one", safeguards: { notice: { throttle: true } } });
    const account = await createAccount();
    const first = await postMessage(account.key);
    expect(first.headers.get("distillguard-notice")).toBeNull();
    await first.arrayBuffer();
    const second = await postMessage(account.key);
    expect(second.status).toBe(429);
    expect(second.headers.get("distillguard-notice")).toBe("throttle");

    await usePolicy({ tiers: { one }, defaultTier: "one" });
    const quiet = await postMessage(account.key);
    expect(quiet.status).toBe(429);
    expect(quiet.headers.get("distillguard-notice")).toBeNull();
  });

  it("should refuse an appeal contact that could break the header", () => {
    expect(validatePolicy({ safeguards: { appealContact: 'x"; risk=99' } }).ok).toBe(false);
    expect(validatePolicy({ safeguards: { appealContact: "line\nbreak" } }).ok).toBe(false);
  });
});
