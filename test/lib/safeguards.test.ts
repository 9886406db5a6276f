import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { stripTraceJson, stripTraceStream } from "../../lib/safeguards.ts";

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** A real-shaped Messages stream: thinking, text, redacted thinking, tool use, thinking again, text. */
function interleaved(): string {
  const start = (index: number, block: unknown) => sse("content_block_start", { type: "content_block_start", index, content_block: block });
  const delta = (index: number, d: unknown) => sse("content_block_delta", { type: "content_block_delta", index, delta: d });
  const stop = (index: number) => sse("content_block_stop", { type: "content_block_stop", index });
  return [
    sse("message_start", {
      type: "message_start",
      message: { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
    }),
    start(0, { type: "thinking", thinking: "", signature: "" }),
    sse("ping", { type: "ping" }),
    delta(0, { type: "thinking_delta", thinking: "First, the user wants " }),
    delta(0, { type: "thinking_delta", thinking: "a weather lookup." }),
    delta(0, { type: "signature_delta", signature: "EqQBCgIYAhIM" }),
    stop(0),
    start(1, { type: "text", text: "" }),
    delta(1, { type: "text_delta", text: "Let me check." }),
    stop(1),
    start(2, { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4a" }),
    stop(2),
    start(3, { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} }),
    delta(3, { type: "input_json_delta", partial_json: '{"location": ' }),
    delta(3, { type: "input_json_delta", partial_json: '"Paris"}' }),
    stop(3),
    start(4, { type: "thinking", thinking: "", signature: "" }),
    delta(4, { type: "thinking_delta", thinking: "Now answer." }),
    stop(4),
    start(5, { type: "text", text: "" }),
    delta(5, { type: "text_delta", text: "It is sunny." }),
    stop(5),
    sse("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 88 } }),
    sse("message_stop", { type: "message_stop" }),
  ].join("");
}

/** The stream cut into chunks of `size` bytes, so events (and UTF-8 characters) split anywhere. */
function chunked(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function strip(text: string, size = 1 << 20): Promise<string> {
  return new Response(chunked(text, size).pipeThrough(stripTraceStream())).text();
}

function events(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

describe("stripTraceJson", () => {
  it("should remove thinking and redacted_thinking blocks and keep the rest in order", () => {
    const message = {
      id: "msg_1",
      type: "message",
      content: [
        { type: "thinking", thinking: "secret reasoning", signature: "sig" },
        { type: "text", text: "a" },
        { type: "redacted_thinking", data: "xx" },
        { type: "tool_use", id: "t", name: "n", input: {} },
      ],
      usage: { input_tokens: 1, output_tokens: 2 },
    };
    expect(stripTraceJson(message)).toEqual({ ...message, content: [{ type: "text", text: "a" }, { type: "tool_use", id: "t", name: "n", input: {} }] });
  });

  it("should answer null when there is nothing to remove or no message", () => {
    expect(stripTraceJson({ content: [{ type: "text", text: "a" }] })).toBeNull();
    expect(stripTraceJson({ type: "error", error: {} })).toBeNull();
    expect(stripTraceJson("text")).toBeNull();
  });
});

describe("stripTraceStream", () => {
  it("should drop every event of reasoning blocks and renumber the later indexes", async () => {
    const out = events(await strip(interleaved()));
    const blocks = out.filter((e) => e.event.startsWith("content_block"));
    expect(blocks.map((e) => `${e.event}:${String(e.data.index)}`)).toEqual([
      "content_block_start:0", "content_block_delta:0", "content_block_stop:0",
      "content_block_start:1", "content_block_delta:1", "content_block_delta:1", "content_block_stop:1",
      "content_block_start:2", "content_block_delta:2", "content_block_stop:2",
    ]);
    expect(blocks.map((e) => (e.data.content_block as { type?: string } | undefined)?.type).filter(Boolean)).toEqual(["text", "tool_use", "text"]);
    const text = JSON.stringify(out);
    for (const secret of ["weather lookup", "Now answer", "EqQBCgIYAhIM", "EmwKAhgBEgy3va3pzix"]) expect(text).not.toContain(secret);
    expect(out.map((e) => e.event)).toEqual(expect.arrayContaining(["message_start", "ping", "message_delta", "message_stop"]));
  });

  it("should give the same events whatever the chunk boundaries", async () => {
    const whole = await strip(interleaved());
    for (const size of [1, 2, 7, 13, 64]) expect(await strip(interleaved(), size)).toBe(whole);
  });

  it("should pass a stream without reasoning blocks through event for event", async () => {
    const plain = [
      sse("message_start", { type: "message_start", message: { id: "m", content: [] } }),
      sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "héllo ✓" } }),
      sse("content_block_stop", { type: "content_block_stop", index: 0 }),
      sse("message_stop", { type: "message_stop" }),
    ].join("");
    expect(await strip(plain, 3)).toBe(plain);
  });

  it("should deliver a last event that lacks its closing blank line", async () => {
    const cut = `${sse("ping", { type: "ping" })}event: message_stop\ndata: {"type":"message_stop"}`;
    expect(events(await strip(cut)).map((e) => e.event)).toEqual(["ping", "message_stop"]);
  });

  it("should leave a stream the official SDK assembles into a well-formed message", async () => {
    const client = new Anthropic({
      apiKey: "sk-test",
      maxRetries: 0,
      fetch: async () =>
        new Response(chunked(interleaved(), 5).pipeThrough(stripTraceStream()), { headers: { "content-type": "text/event-stream" } }),
    });
    const final = await client.messages.stream({ model: "m", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }).finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(["text", "tool_use", "text"]);
    expect(final.content[0]).toMatchObject({ type: "text", text: "Let me check." });
    expect(final.content[1]).toMatchObject({ type: "tool_use", name: "get_weather", input: { location: "Paris" } });
    expect(final.content[2]).toMatchObject({ type: "text", text: "It is sunny." });
    expect(final.usage.output_tokens).toBe(88);
  });
});
