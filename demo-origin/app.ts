/**
 * A demo origin that answers like the Anthropic Messages API: JSON messages
 * with `usage`, `stream: true` SSE with message_start / content_block_delta /
 * message_delta usage, the origin's error shape, and GET /v1/models.
 *
 * It is what `npm start`, the tests and the simulator put behind the gateway.
 * Knobs for tests (headers sent by the client pass through the gateway):
 *   x-demo-status: 529        answer with that status and an error body
 *   x-demo-events: 40         number of text deltas in a stream (default 8)
 *   x-demo-delay-ms: 20       pause between stream events
 *   x-demo-header-delay-ms: 500  pause before answering at all (headers included)
 *   x-demo-pad-bytes: 2000000 a JSON message answer padded with that much text (usage unchanged)
 *   x-demo-chunked: 1         send a JSON answer as a stream, without content-length
 *   x-demo-chunk-bytes: 32    size of each piece of a chunked JSON answer (default 64 KB), x-demo-delay-ms apart
 *   x-demo-echo: 1            answer with the method, headers, body and URL the origin received
 *   x-demo-tag: <id>          count the request under that tag (GET /__demo/seen?tag=), and count it again
 *                             if its caller goes away before the answer is sent (GET /__demo/aborted?tag=)
 *   x-demo-thinking: 1        answer with a thinking and a redacted_thinking block before the text
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";

export type DemoStats = {
  requests: number;
  streamed: number;
  outputTokens: number;
  byTag: Map<string, number>;
  /** Tagged requests whose caller closed the connection before the answer was sent. */
  abortedByTag: Map<string, number>;
  byModel: Map<string, number>;
};

export function createDemoStats(): DemoStats {
  return { requests: 0, streamed: 0, outputTokens: 0, byTag: new Map(), abortedByTag: new Map(), byModel: new Map() };
}

const WORDS = "the quick brown fox jumps over a lazy dog while models answer questions".split(" ");
const MAX_EVENTS = 10_000;

function errorBody(type: string, message: string) {
  return { type: "error", error: { type, message } };
}

function errorTypeFor(status: number): string {
  if (status === 400) return "invalid_request_error";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  return "api_error";
}

function intHeader(value: string | undefined, fallback: number, max: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : fallback;
}

export function createDemoOrigin(stats: DemoStats = createDemoStats()): Hono {
  const app = new Hono();

  app.get("/__demo/seen", (c) => c.json({ count: stats.byTag.get(c.req.query("tag") ?? "") ?? 0 }));
  app.get("/__demo/aborted", (c) => c.json({ count: stats.abortedByTag.get(c.req.query("tag") ?? "") ?? 0 }));
  app.get("/__demo/stats", (c) =>
    c.json({
      requests: stats.requests,
      streamed: stats.streamed,
      outputTokens: stats.outputTokens,
      byModel: Object.fromEntries(stats.byModel),
    }),
  );

  app.use("/v1/*", async (c, next) => {
    stats.requests++;
    const tag = c.req.header("x-demo-tag");
    if (tag) {
      stats.byTag.set(tag, (stats.byTag.get(tag) ?? 0) + 1);
      c.req.raw.signal.addEventListener("abort", () => stats.abortedByTag.set(tag, (stats.abortedByTag.get(tag) ?? 0) + 1), { once: true });
    }
    const headerDelayMs = intHeader(c.req.header("x-demo-header-delay-ms"), 0, 30_000);
    if (headerDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, headerDelayMs));
    const status = intHeader(c.req.header("x-demo-status"), 0, 599);
    if (status >= 400) {
      return c.json(errorBody(errorTypeFor(status), `demo origin answered ${status}`), status as 500);
    }
    if (c.req.header("x-demo-echo")) {
      const raw = await c.req.text();
      return c.json({ method: c.req.method, headers: Object.fromEntries(c.req.raw.headers), body: raw, url: c.req.url });
    }
    await next();
  });

  app.get("/v1/models", (c) =>
    c.json({
      data: [
        { type: "model", id: "demo-model-1", display_name: "Demo Model 1", created_at: "2026-01-01T00:00:00Z" },
        { type: "model", id: "demo-model-2", display_name: "Demo Model 2", created_at: "2026-11-01T00:00:00Z" },
      ],
      has_more: false,
      first_id: "demo-model-1",
      last_id: "demo-model-2",
    }),
  );

  app.get("/v1/models/:id", (c) =>
    c.json({ type: "model", id: c.req.param("id"), display_name: c.req.param("id"), created_at: "2026-01-01T00:00:00Z" }),
  );

  app.post("/v1/messages/count_tokens", async (c) => {
    const raw = await c.req.text();
    return c.json({ input_tokens: Math.max(1, Math.ceil(raw.length / 4)) });
  });

  // Message Batches: accepted and listed, never processed (the gateway's side is what the tests look at).
  const batch = (id: string, requests: number) => ({
    id, type: "message_batch", processing_status: "in_progress",
    request_counts: { processing: requests, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    ended_at: null, created_at: "2026-01-01T00:00:00Z", expires_at: "2026-01-02T00:00:00Z",
    cancel_initiated_at: null, results_url: null,
  });
  app.post("/v1/messages/batches", async (c) => {
    let requests = 0;
    try {
      const parsed = (await c.req.json()) as { requests?: unknown };
      requests = Array.isArray(parsed.requests) ? parsed.requests.length : 0;
    } catch {
      return c.json(errorBody("invalid_request_error", "body must be a JSON object"), 400);
    }
    return c.json(batch(`msgbatch_demo_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`, requests));
  });
  app.get("/v1/messages/batches", (c) => c.json({ data: [], has_more: false, first_id: null, last_id: null }));
  app.get("/v1/messages/batches/:id", (c) => c.json(batch(c.req.param("id"), 0)));
  app.get("/v1/messages/batches/:id/results", (c) => c.body("", 200, { "content-type": "application/x-jsonl" }));
  app.post("/v1/messages/batches/:id/cancel", (c) => c.json({ ...batch(c.req.param("id"), 0), processing_status: "canceling" }));
  app.delete("/v1/messages/batches/:id", (c) => c.json({ id: c.req.param("id"), type: "message_batch_deleted" }));

  app.post("/v1/messages", async (c) => {
    const raw = await c.req.text();
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch {
      return c.json(errorBody("invalid_request_error", "body must be a JSON object"), 400);
    }
    const model = typeof body.model === "string" ? body.model : "demo-model-1";
    stats.byModel.set(model, (stats.byModel.get(model) ?? 0) + 1);
    const maxTokens = typeof body.max_tokens === "number" ? Math.max(1, Math.floor(body.max_tokens)) : 1024;
    const inputTokens = Math.max(1, Math.ceil(raw.length / 4));
    const events = intHeader(c.req.header("x-demo-events"), 8, MAX_EVENTS);
    const delayMs = intHeader(c.req.header("x-demo-delay-ms"), 0, 5_000);
    const id = `msg_demo_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
    // Each delta is 2 words ≈ 2 tokens; never more than max_tokens.
    const outputTokens = Math.min(maxTokens, events * 2);

    const thinking = c.req.header("x-demo-thinking") === "1";
    const traceBlocks = [
      { type: "thinking", thinking: "Let me reason about this step by step.", signature: "demo-signature" },
      { type: "redacted_thinking", data: "ZGVtby1yZWRhY3RlZA==" },
    ];
    const textIndex = thinking ? traceBlocks.length : 0;

    if (body.stream === true) {
      stats.streamed++;
      return streamSSE(c, async (stream) => {
        const send = (event: string, data: unknown) => stream.writeSSE({ event, data: JSON.stringify(data) });
        await send("message_start", {
          type: "message_start",
          message: {
            id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null,
            usage: { input_tokens: inputTokens, output_tokens: 1 },
          },
        });
        if (thinking) {
          await send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } });
          await send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: traceBlocks[0]?.thinking } });
          await send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "demo-signature" } });
          await send("content_block_stop", { type: "content_block_stop", index: 0 });
          await send("content_block_start", { type: "content_block_start", index: 1, content_block: traceBlocks[1] });
          await send("content_block_stop", { type: "content_block_stop", index: 1 });
        }
        await send("content_block_start", { type: "content_block_start", index: textIndex, content_block: { type: "text", text: "" } });
        await send("ping", { type: "ping" });
        let produced = 0;
        for (let i = 0; i < events && produced < outputTokens; i++) {
          if (stream.aborted) return;
          if (delayMs > 0) await stream.sleep(delayMs);
          const text = `${WORDS[i % WORDS.length]} ${WORDS[(i + 3) % WORDS.length]} `;
          produced = Math.min(outputTokens, produced + 2);
          stats.outputTokens += 2;
          await send("content_block_delta", { type: "content_block_delta", index: textIndex, delta: { type: "text_delta", text } });
        }
        await send("content_block_stop", { type: "content_block_stop", index: textIndex });
        await send("message_delta", {
          type: "message_delta",
          delta: { stop_reason: produced >= maxTokens ? "max_tokens" : "end_turn", stop_sequence: null },
          usage: { output_tokens: produced },
        });
        await send("message_stop", { type: "message_stop" });
      });
    }

    stats.outputTokens += outputTokens;
    const words: string[] = [];
    for (let i = 0; i < outputTokens; i++) words.push(WORDS[i % WORDS.length] ?? "");
    const padBytes = intHeader(c.req.header("x-demo-pad-bytes"), 0, 16 * 1024 * 1024);
    const message = {
      id, type: "message", role: "assistant", model,
      content: [
        ...(thinking ? traceBlocks : []),
        { type: "text", text: words.join(" ") },
        ...(padBytes > 0 ? [{ type: "text", text: "p".repeat(padBytes) }] : []),
      ],
      stop_reason: outputTokens >= maxTokens ? "max_tokens" : "end_turn",
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: outputTokens },
    };
    if (!c.req.header("x-demo-chunked")) return c.json(message);
    // In pieces with no content-length: what a proxy in between or a streaming origin sends.
    const bytes = new TextEncoder().encode(JSON.stringify(message));
    const piece = Math.max(1, intHeader(c.req.header("x-demo-chunk-bytes"), 65_536, 1024 * 1024));
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (offset >= bytes.byteLength) return controller.close();
        if (offset > 0 && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        controller.enqueue(bytes.slice(offset, offset + piece));
        offset += piece;
      },
    });
    return c.body(stream, 200, { "content-type": "application/json" });
  });

  app.notFound((c) => c.json(errorBody("not_found_error", "not found"), 404));
  return app;
}
