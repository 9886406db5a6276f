/**
 * The request body, read once (bounded by the policy's maxBodyBytes) and shared
 * by fingerprinting, admission and the forwarder. A body over the limit is
 * refused with 413 as soon as it crosses the limit, without buffering the rest.
 * What the body must be depends on the route (lib/endpoints.ts): a Messages
 * request object, a batch of them (each contained request checked, their
 * number capped by the policy), nothing, or anything.
 */
import { createMiddleware } from "hono/factory";
import { parseBatch } from "../lib/batch.ts";
import type { AppEnv, RequestBody } from "./context.ts";
import { GatewayError } from "./errors.ts";

// 128: a Messages request nests a few levels, a tool's JSON schema a few dozen at most; the parser and
// everything that walks the value later (fingerprints, rewrites, RPC copies) then never meet a
// 200,000-level body, which parses fine and throws far away from here.
export const MAX_JSON_DEPTH = 128;

export async function readBounded(request: Request, maxBytes: number): Promise<Uint8Array | null> {
  if (!request.body) return null;
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  // A declared length within the limit: the runtime delivers exactly that many bytes (a fixed-length
  // body cannot run past its header), so one native read is as bounded as the loop, and cheaper.
  if (request.headers.has("content-length") && Number.isInteger(declared) && declared >= 0) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
    return bytes;
  }
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests arrays and objects deeper than `maxDepth`. One pass over the bytes; string
 * contents are skipped with a native search for the closing quote, so prose-heavy bodies cost little.
 */
export function nestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === QUOTE) {
      // The closing quote is the next one not escaped by an odd run of backslashes.
      for (;;) {
        const end = bytes.indexOf(QUOTE, i + 1);
        if (end === -1) return false;
        let slashes = 0;
        while (bytes[end - 1 - slashes] === BACKSLASH) slashes++;
        i = end;
        if (slashes % 2 === 0) break;
      }
    } else if (b === 0x7b || b === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (b === 0x7d || b === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Parses a JSON body; malformed or too deeply nested JSON, or invalid UTF-8, is a 400, never a 500. */
export function parseJsonBody(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): unknown {
  if (nestsDeeperThan(bytes, maxDepth)) {
    throw new GatewayError("invalid_request_error", `request body nests JSON deeper than ${maxDepth} levels`);
  }
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const NO_BODY: RequestBody = { bytes: null, json: undefined };

export function body() {
  return createMiddleware<AppEnv>(async function body(c, next) {
    const { body: kind } = c.get("endpoint");
    // A bodiless route never forwards a body, so one sent anyway is not worth reading.
    if (kind === "none") {
      c.set("body", NO_BODY);
      return next();
    }
    const policy = c.get("policy");
    const bytes = await readBounded(c.req.raw, policy.limits.maxBodyBytes);
    let json: unknown = undefined;
    if (bytes && bytes.byteLength > 0 && (kind !== "any" || looksJson(c.req.header("content-type")))) json = parseJsonBody(bytes);
    if (kind !== "any" && !isObject(json)) throw new GatewayError("invalid_request_error", "request body must be a JSON object");
    if (kind === "batch") {
      const batch = parseBatch(json, policy.endpoints.batches.maxRequests);
      if (!batch.ok) throw new GatewayError(batch.problem.kind === "too_large" ? "request_too_large" : "invalid_request_error", batch.problem.message);
      c.set("body", { bytes, json, contained: batch.params });
    } else {
      c.set("body", { bytes, json });
    }
    await next();
  });
}
