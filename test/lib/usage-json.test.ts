import { describe, expect, it } from "vitest";
import { jsonUsageTracker } from "../../lib/usage.ts";

const encoder = new TextEncoder();

function usageOf(text: string, pieces: number[]): ReturnType<ReturnType<typeof jsonUsageTracker>["result"]> {
  const bytes = encoder.encode(text);
  const tracker = jsonUsageTracker();
  let offset = 0;
  for (const size of pieces) {
    tracker.observe(bytes.subarray(offset, offset + size));
    offset += size;
  }
  tracker.observe(bytes.subarray(offset));
  return tracker.result();
}

const ANSWER = JSON.stringify({
  id: "msg_1",
  type: "message",
  content: [{ type: "text", text: 'a decoy: "usage": {"input_tokens": 999999, "output_tokens": 999999} \\" }' }],
  metadata: { usage: { input_tokens: 7, output_tokens: 7 } },
  usage: { input_tokens: 12, cache_creation_input_tokens: 3, output_tokens: 40 },
});

describe("usage of a JSON answer read as it streams", () => {
  it("Should find the top-level usage however the answer is cut into chunks", () => {
    for (let cut = 0; cut <= ANSWER.length; cut++) {
      expect(usageOf(ANSWER, [cut]), `cut at ${cut}`).toEqual({ inputTokens: 15, outputTokens: 40 });
    }
  });

  it("Should find it one byte at a time", () => {
    expect(usageOf(ANSWER, Array.from({ length: ANSWER.length }, () => 1))).toEqual({ inputTokens: 15, outputTokens: 40 });
  });

  it("Should not take a usage nested in content or metadata for the answer's own", () => {
    const nestedOnly = JSON.stringify({ content: [{ usage: { input_tokens: 5, output_tokens: 5 } }], metadata: { usage: { output_tokens: 9 } } });
    expect(usageOf(nestedOnly, [])).toBeNull();
  });

  it("Should find usage at the start of a multi-megabyte answer and after it", () => {
    const padding = "p".repeat(3 * 1024 * 1024);
    const first = `{"usage":{"input_tokens":1,"output_tokens":2},"content":[{"type":"text","text":"${padding}"}]}`;
    const last = `{"content":[{"type":"text","text":"${padding}"}],"usage":{"input_tokens":1,"output_tokens":2}}`;
    expect(usageOf(first, [65_536, 65_536])).toEqual({ inputTokens: 1, outputTokens: 2 });
    expect(usageOf(last, [65_536, 65_536])).toEqual({ inputTokens: 1, outputTokens: 2 });
  });

  it("Should give up on a usage value too big to be one, and on answers that are not JSON", () => {
    const huge = `{"usage":{"input_tokens":1,"output_tokens":2,"x":"${"q".repeat(10_000)}"}}`;
    expect(usageOf(huge, [])).toBeNull();
    expect(usageOf("not json at all", [])).toBeNull();
    expect(usageOf('{"usage":null,"id":"x"}', [])).toBeNull();
  });
});
