/**
 * The request body, read once (bounded by the policy's maxBodyBytes) and shared
 * by fingerprinting, admission and the forwarder. A body over the limit is
 * refused with 413 as soon as it crosses the limit, without buffering the rest.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context.ts";
import { GatewayError } from "./errors.ts";

export type BodyOptions = {
  /** POST routes whose body must be a JSON object (the Messages API and its token counter). */
  objectRoutes?: RegExp;
};

const OBJECT_ROUTES = /\/v1\/messages(\/count_tokens)?$/;

export async function readBounded(request: Request, maxBytes: number): Promise<Uint8Array | null> {
  if (!request.body) return null;
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel("request body over limit").catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError("request_too_large", `request body exceeds the maximum of ${maxBytes} bytes`);
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Parses a JSON body; malformed JSON or invalid UTF-8 is a 400, never a 500. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new GatewayError("invalid_request_error", "request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError("invalid_request_error", "request body is not valid JSON");
  }
}

function looksJson(contentType: string | undefined): boolean {
  return !contentType || /\bjson\b/i.test(contentType);
}

export function body(options: BodyOptions = {}) {
  const objectRoutes = options.objectRoutes ?? OBJECT_ROUTES;
  return createMiddleware<AppEnv>(async function body(c, next) {
    const bytes = await readBounded(c.req.raw, c.get("policy").limits.maxBodyBytes);
    let json: unknown = undefined;
    if (bytes && bytes.byteLength > 0 && looksJson(c.req.header("content-type"))) json = parseJsonBody(bytes);
    if (c.req.method === "POST" && objectRoutes.test(c.req.path)) {
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        throw new GatewayError("invalid_request_error", "request body must be a JSON object");
      }
    }
    c.set("body", { bytes, json });
    await next();
  });
}
