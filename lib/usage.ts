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

// 1 MiB: enough for any Messages API JSON answer's `usage`; bigger bodies fall back to the estimate.
const MAX_JSON_COPY_BYTES = 1024 * 1024;
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

/** Usage from a whole Messages API JSON answer; null when it has none or is not JSON. */
export function usageFromJson(bytes: Uint8Array): Usage | null {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { usage?: RawUsage } | null;
    if (!parsed?.usage) return null;
    const input = inputFrom(parsed.usage);
    const output = num(parsed.usage.output_tokens);
    return input === null && output === null ? null : { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  } catch {
    return null;
  }
}

export function jsonUsageTracker(): UsageTracker {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  return {
    observe(chunk) {
      if (overflow) return;
      size += chunk.byteLength;
      if (size > MAX_JSON_COPY_BYTES) {
        overflow = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk.slice());
    },
    result() {
      if (overflow || size === 0) return null;
      const all = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        all.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return usageFromJson(all);
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
