/**
 * Request parsing for the admin API: every body, query and path value goes
 * through a schema (lib/zod.ts), and a failure is one 400 `invalid_request_error` whose
 * message names each bad field (`query.limit: …; body.reason: …`). Bodies are
 * read by `adminBody()`.
 * Also the opaque keyset cursors shared by every paginated list.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "../../lib/zod.ts";
import { parseJsonBody, readBounded } from "../body.ts";
import type { AppEnv } from "../context.ts";
import { GatewayError } from "../errors.ts";

type Where = "body" | "query" | "path";

export function describeIssues(issues: readonly z.core.$ZodIssue[], where: Where): string {
  return issues.map((issue) => `${[where, ...issue.path.map(String)].join(".")}: ${issue.message}`).join("; ");
}

export function parse<T extends z.ZodMiniType>(schema: T, value: unknown, where: Where): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new GatewayError("invalid_request_error", describeIssues(result.error.issues, where));
}

/** The query string against a strict schema: an unknown parameter is a 400, not silently ignored. */
export function parseQuery<T extends z.ZodMiniType>(c: Context<AppEnv>, schema: T): z.output<T> {
  return parse(schema, c.req.query(), "query");
}

// 1 MB, not the policy's limits.maxBodyBytes: a policy that lowers that limit must not lock
// operators out of the API that fixes it, and no admin document comes near this size.
const ADMIN_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads the body as JSON whatever the content-type: a form-encoded or plain
 * body (curl's default) is a 400, never mistaken for "no body", which for
 * DELETE /keys would mean "revoke every key".
 */
export function adminBody() {
  return createMiddleware<AppEnv>(async function adminBody(c, next) {
    const bytes = await readBounded(c.req.raw, ADMIN_MAX_BODY_BYTES);
    c.set("body", { bytes, json: bytes && bytes.byteLength > 0 ? parseJsonBody(bytes) : undefined });
    await next();
  });
}

export function parseBody<T extends z.ZodMiniType>(c: Context<AppEnv>, schema: T): z.output<T> {
  return parse(schema, c.get("body").json, "body");
}

export function limitParam(fallback: number, max: number) {
  return z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(max)), fallback);
}

/** An ISO 8601 timestamp in a query, normalised to the `toISOString()` form the audit log stores. */
export const isoParam = z.pipe(
  z.iso.datetime({ offset: true }),
  z.transform((s) => new Date(s).toISOString()),
);

// Cursors are base64url JSON of the last row's sort key: opaque to clients, so the sort key can change.
export function encodeCursor(parts: ReadonlyArray<string | number>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(parts));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor<T extends z.ZodMiniType>(raw: string | undefined, shape: T): z.output<T> | null {
  if (raw === undefined) return null;
  try {
    const binary = atob(raw.replaceAll("-", "+").replaceAll("_", "/"));
    const json: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
    const result = shape.safeParse(json);
    if (result.success) return result.data;
  } catch {
    // fall through: any undecodable cursor is the same client error
  }
  throw new GatewayError("invalid_request_error", "query.cursor: not a cursor from this list");
}

export const cursorParam = z.optional(z.string().check(z.minLength(1), z.maxLength(1024)));

/** Splits a `limit + 1` fetch into the page and the cursor of its last row (null on the last page). */
export function page<R>(rows: R[], limit: number, key: (row: R) => ReadonlyArray<string | number>) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null };
}

/** Comma-separated reason codes as stored in D1, as an array. */
export function splitReasons(text: string | null): string[] {
  return text ? text.split(",").filter((r) => r !== "") : [];
}

export function notFound(what: string): GatewayError {
  return new GatewayError("not_found_error", `${what} not found`);
}
