/**
 * Token usage from origin responses, observed without buffering the stream.
 *
 * JSON answers carry `usage` at the top level. SSE streams carry input usage in
 * `message_start` and *cumulative* output usage in each `message_delta`: the
 * latest value wins, values are never summed. When a stream is cut short (the
 * client went away), the output tokens already streamed are estimated from the
 * text deltas seen, so abandoned streams are still counted.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export type Usage = { inputTokens: number; outputTokens: number };

// ~4 bytes of UTF-8 text per token: the usual rule of thumb for English text and code.
const BYTES_PER_TOKEN = 4;

type RawUsage = {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
};

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** Input tokens as rate limits count them: uncached input plus cache writes (cache reads are free). */
function inputFrom(usage: RawUsage): number | null {
  const input = num(usage.input_tokens);
  if (input === null) return null;
  return input + (num(usage.cache_creation_input_tokens) ?? 0);
}

export interface UsageTracker {
  /** Feed one chunk of the response body as it passes. */
  observe(chunk: Uint8Array): void;
  /** Usage known so far: exact when the answer finished, estimated when it was cut short. */
  result(): Usage | null;
}

export function sseUsageTracker(): UsageTracker {
  const decoder = new TextDecoder();
  let input: number | null = null;
  let output: number | null = null;
  let textBytes = 0;
  const parser = createParser({
    onEvent(event: EventSourceMessage) {
      if (event.event !== "message_start" && event.event !== "message_delta" && event.event !== "content_block_delta") return;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(event.data) as Record<string, unknown>;
      } catch {
        return;
      }
      if (event.event === "content_block_delta") {
        const delta = data.delta as Record<string, unknown> | undefined;
        const text = delta?.text ?? delta?.thinking ?? delta?.partial_json;
        if (typeof text === "string") textBytes += text.length;
        return;
      }
      const usage = (event.event === "message_start"
        ? (data.message as Record<string, unknown> | undefined)?.usage
        : data.usage) as RawUsage | undefined;
      if (!usage) return;
      input = inputFrom(usage) ?? input;
      output = num(usage.output_tokens) ?? output;
    },
  });
  return {
    observe(chunk) {
      parser.feed(decoder.decode(chunk, { stream: true }));
    },
    result() {
      if (input === null && output === null && textBytes === 0) return null;
      const streamedEstimate = Math.ceil(textBytes / BYTES_PER_TOKEN);
      return { inputTokens: input ?? 0, outputTokens: Math.max(output ?? 0, streamedEstimate) };
    },
  };
}

// One decoder for every answer: decode() keeps no state between calls without `stream`.
const utf8 = new TextDecoder();

/** Usage from a whole Messages API JSON answer; null when it has none or is not JSON. */
export function usageFromJson(bytes: Uint8Array): Usage | null {
  try {
    const parsed = JSON.parse(utf8.decode(bytes)) as { usage?: RawUsage } | null;
    if (!parsed?.usage) return null;
    const input = inputFrom(parsed.usage);
    const output = num(parsed.usage.output_tokens);
    return input === null && output === null ? null : { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  } catch {
    return null;
  }
}

// 4 KB: a Messages API `usage` object is a few hundred bytes; a bigger one is not worth copying.
const MAX_USAGE_VALUE_BYTES = 4096;

/**
 * Usage of a JSON answer read as it streams past, whatever its length: a scan
 * that tracks nesting and strings finds the top-level `"usage"` key and copies
 * only its value (at most MAX_USAGE_VALUE_BYTES), so the answer itself is never
 * held, not even a 1 MB prefix of it.
 */
export function jsonUsageTracker(): UsageTracker {
  let depth = 0;
  let inString = false;
  let escaped = false;
  // The top-level string just read, held only while it may be a key (bounded: "usage" is short).
  let key: number[] | null = null;
  let keyDone = false;
  let afterUsageKey = false;
  let capture: number[] | null = null;
  let captureDepth = 0;
  let captured: Uint8Array | null = null;
  let broken = false;
  const USAGE = [0x75, 0x73, 0x61, 0x67, 0x65];
  const isUsage = (bytes: number[]) => bytes.length === USAGE.length && bytes.every((b, i) => b === USAGE[i]);
  return {
    observe(chunk) {
      if (broken || captured) return;
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i] ?? 0;
        if (capture) {
          if (capture.length >= MAX_USAGE_VALUE_BYTES) {
            broken = true;
            return;
          }
          capture.push(b);
        }
        if (inString) {
          if (escaped) escaped = false;
          else if (b === 0x5c) escaped = true;
          else if (b === 0x22) {
            inString = false;
            if (key) keyDone = true;
          } else if (key) {
            if (key.length > USAGE.length) key = null;
            else key.push(b);
          }
          continue;
        }
        if (b === 0x22) {
          inString = true;
          // A string directly inside the top-level object may be a key.
          key = depth === 1 && !capture ? [] : null;
          keyDone = false;
          continue;
        }
        if (b === 0x3a && depth === 1 && !capture) {
          afterUsageKey = keyDone && key !== null && isUsage(key);
          key = null;
          keyDone = false;
          if (afterUsageKey) {
            capture = [];
            captureDepth = depth;
          }
          continue;
        }
        if (b === 0x7b || b === 0x5b) depth++;
        else if (b === 0x7d || b === 0x5d) depth--;
        else if (b === 0x2c && capture && depth === captureDepth) {
          // The value ended at this comma (a non-object usage): nothing to read.
          capture.pop();
          captured = Uint8Array.from(capture);
          return;
        }
        if (capture && depth === captureDepth && (b === 0x7d || b === 0x5d)) {
          captured = Uint8Array.from(capture);
          return;
        }
        if (capture && depth < captureDepth) {
          // The top-level object closed right after the value.
          capture.pop();
          captured = Uint8Array.from(capture);
          return;
        }
      }
    },
    result() {
      if (!captured) return null;
      return usageFromJson(new TextEncoder().encode(`{"usage":${new TextDecoder().decode(captured)}}`));
    },
  };
}

export function trackerFor(contentType: string | null): UsageTracker | null {
  if (!contentType) return null;
  if (contentType.includes("text/event-stream")) return sseUsageTracker();
  if (contentType.includes("json")) return jsonUsageTracker();
  return null;
}

export type StreamOutcome = "complete" | "client_cancel" | "origin_error";

/**
 * Passes `body` through chunk by chunk (highWaterMark 0: nothing is read
 * ahead of the client) and reports once, exactly once, how it ended.
 */
export function tapStream(
  body: ReadableStream<Uint8Array>,
  tracker: UsageTracker | null,
  onDone: (usage: Usage | null, outcome: StreamOutcome) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  const finish = (outcome: StreamOutcome) => {
    if (finished) return;
    finished = true;
    onDone(tracker?.result() ?? null, outcome);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (err) {
          finish("origin_error");
          controller.error(err);
          return;
        }
        if (next.done) {
          finish("complete");
          controller.close();
          return;
        }
        tracker?.observe(next.value);
        controller.enqueue(next.value);
      },
      async cancel(reason) {
        finish("client_cancel");
        await reader.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
