import { describe, expect, it } from "vitest";
import { capabilityOf, rawContentOf, systemPromptSha256 } from "../../../lib/fingerprint/content.ts";

const SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

describe("content extraction", () => {
  it("should read a string system prompt and a string first user turn", () => {
    const raw = rawContentOf({ system: "Be terse.", messages: [{ role: "user", content: "Hello" }] }, 1000);
    expect(raw).toEqual({ system: "Be terse.", user: "Hello", messageCount: 1 });
  });

  it("should join text blocks with newlines and skip non-text blocks", () => {
    const raw = rawContentOf(
      {
        system: [{ type: "text", text: "Part one." }, { type: "text", text: "Part two.", cache_control: { type: "ephemeral" } }],
        messages: [
          { role: "user", content: [{ type: "image", source: {} }, { type: "text", text: "Describe" }, { type: "text", text: "this." }] },
        ],
      },
      1000,
    );
    expect(raw.system).toBe("Part one.\nPart two.");
    expect(raw.user).toBe("Describe\nthis.");
  });

  it("should take the first user turn, skipping a leading assistant turn", () => {
    const raw = rawContentOf({ messages: [{ role: "assistant", content: "Hi" }, { role: "user", content: "First" }, { role: "user", content: "Second" }] }, 1000);
    expect(raw.user).toBe("First");
  });

  it("should cut raw text to the character budget", () => {
    const raw = rawContentOf({ system: "x".repeat(5000), messages: [{ role: "user", content: [{ type: "text", text: "y".repeat(5000) }] }] }, 100);
    expect(raw.system?.length).toBe(100);
    expect(raw.user.length).toBe(100);
  });

  it("should read a body that is not a Messages API body as empty", () => {
    for (const body of [undefined, null, 42, "text", [1, 2], { messages: "nope", system: 7 }]) {
      expect(rawContentOf(body, 100).user).toBe("");
    }
  });
});

describe("system prompt hash", () => {
  it("should be the SHA-256 of the UTF-8 text, so operators can compute it with sha256sum", async () => {
    expect(await systemPromptSha256("abc", 16_384)).toEqual({ hex: SHA256_ABC, truncated: false });
  });

  it("should hash only the first maxBytes bytes of a longer prompt", async () => {
    const long = await systemPromptSha256(`abc${"z".repeat(100)}`, 3);
    expect(long).toEqual({ hex: SHA256_ABC, truncated: true });
  });
});

describe("requested capability", () => {
  it("should read model, thinking, tools, max_tokens and stream", () => {
    const capability = capabilityOf({
      model: "claude-opus-4-1",
      max_tokens: 32_000,
      stream: true,
      thinking: { type: "enabled", budget_tokens: 16_000 },
      tools: [{ name: "a" }, { name: "b" }],
    });
    expect(capability).toEqual({ model: "claude-opus-4-1", thinking: true, thinkingBudget: 16_000, toolCount: 2, maxTokens: 32_000, stream: true });
  });

  it("should read missing or malformed fields as nothing requested", () => {
    expect(capabilityOf({ model: 5, max_tokens: -1, stream: "yes", thinking: { type: "disabled" }, tools: {} })).toEqual({
      model: null,
      thinking: false,
      thinkingBudget: null,
      toolCount: 0,
      maxTokens: null,
      stream: false,
    });
  });

  it("should strip a model name to a safe token", () => {
    expect(capabilityOf({ model: "claude\r\nx-evil: 1" }).model).toBe("claudex-evil:1");
  });
});
