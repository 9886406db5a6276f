import Anthropic from "@anthropic-ai/sdk";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAccount, GATEWAY } from "../helpers.ts";

/** The official SDK, pointed at the gateway: a real client no one here wrote. */
function client(apiKey: string): Anthropic {
  return new Anthropic({
    apiKey,
    baseURL: GATEWAY,
    maxRetries: 0,
    fetch: (input: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
  });
}

describe("official @anthropic-ai/sdk through the gateway", () => {
  it("should complete a normal message", async () => {
    const account = await createAccount();
    const message = await client(account.key).messages.create({
      model: "demo-model-1",
      max_tokens: 32,
      messages: [{ role: "user", content: "Hello" }],
    });
    expect(message.type).toBe("message");
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it("should complete a streamed message", async () => {
    const account = await createAccount();
    const stream = client(account.key).messages.stream({
      model: "demo-model-1",
      max_tokens: 32,
      messages: [{ role: "user", content: "Hello" }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]?.type).toBe("text");
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it("should raise AuthenticationError for a bad key", async () => {
    await expect(
      client("sk-wrong-key-000000").messages.create({
        model: "demo-model-1",
        max_tokens: 8,
        messages: [{ role: "user", content: "Hi" }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });
});
