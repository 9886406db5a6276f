/**
 * Output safeguards for degraded answers: reasoning traces removed. A trace is
 * what a distilled student learns most from, and what an honest customer
 * caught by mistake misses least (the answer itself stays whole).
 *
 * JSON answers lose their `thinking` and `redacted_thinking` content blocks.
 * Streams lose the content_block_start / _delta / _stop events of those blocks,
 * and every later `index` is renumbered, so the official SDKs, which build the
 * message by index, see a well-formed message with fewer blocks. Pure: works
 * on bytes and text, no bindings.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

const TRACE_BLOCKS = new Set(["thinking", "redacted_thinking"]);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function isTrace(block: unknown): boolean {
  return isRecord(block) && typeof block.type === "string" && TRACE_BLOCKS.has(block.type);
}

/** A Messages API answer without its reasoning blocks; null when it had none (or is not a message). */
export function stripTraceJson(message: unknown): Record<string, unknown> | null {
  if (!isRecord(message) || !Array.isArray(message.content)) return null;
  const content = message.content.filter((block: unknown) => !isTrace(block));
  return content.length === message.content.length ? null : { ...message, content };
}

/** One SSE event as the origin framed it: `event:` then `data:`, ended by a blank line. */
function frame(event: EventSourceMessage): string {
  const lines: string[] = [];
  if (event.id !== undefined) lines.push(`id: ${event.id}`);
  if (event.event !== undefined) lines.push(`event: ${event.event}`);
  for (const line of event.data.split("\n")) lines.push(`data: ${line}`);
  return `${lines.join("\n")}\n\n`;
}

/**
 * A transform over a Messages API event stream that drops reasoning blocks and
 * renumbers the rest. Events may arrive split anywhere across chunks (the
 * parser reassembles them); anything it does not recognise passes unchanged.
 */
export function stripTraceStream(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  // Indexes of dropped blocks, in the origin's numbering (ascending: blocks start in order).
  const dropped: number[] = [];
  let out: TransformStreamDefaultController<Uint8Array> | null = null;

  const renumber = (index: number) => index - dropped.filter((d) => d < index).length;

  const parser = createParser({
    onEvent(event) {
      const emit = (e: EventSourceMessage) => out?.enqueue(encoder.encode(frame(e)));
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        return emit(event);
      }
      if (!isRecord(data)) return emit(event);
      if (data.type === "message_start" && isRecord(data.message)) {
        const message = stripTraceJson(data.message);
        return emit(message === null ? event : { ...event, data: JSON.stringify({ ...data, message }) });
      }
      if (typeof data.index !== "number") return emit(event);
      const index = data.index;
      if (data.type === "content_block_start" && isTrace(data.content_block)) {
        dropped.push(index);
        return;
      }
      if (dropped.includes(index)) return;
      const next = renumber(index);
      emit(next === index ? event : { ...event, data: JSON.stringify({ ...data, index: next }) });
    },
    onComment(comment) {
      out?.enqueue(encoder.encode(`:${comment}\n\n`));
    },
  });

  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      out = controller;
      parser.feed(decoder.decode(chunk, { stream: true }));
    },
    flush(controller) {
      out = controller;
      const rest = decoder.decode();
      // A last event without its blank line: the parser holds it until told the stream ended.
      parser.feed(rest.endsWith("\n\n") ? rest : `${rest}\n\n`);
    },
  });
}
