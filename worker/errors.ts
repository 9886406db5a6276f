/**
 * One error type, one JSON shape: the origin's
 * `{"type":"error","error":{"type","message"}}`, so clients and the official
 * SDKs handle gateway errors exactly like origin errors.
 */
import type { Context } from "hono";
import type { AppEnv } from "./context.ts";

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

const STATUS: Record<ErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

export class GatewayError extends Error {
  readonly type: ErrorType;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(type: ErrorType, message: string, options: { headers?: Record<string, string>; status?: number } = {}) {
    super(message);
    this.name = "GatewayError";
    this.type = type;
    this.status = options.status ?? STATUS[type];
    this.headers = options.headers ?? {};
  }
}

export function errorBody(type: ErrorType, message: string) {
  return { type: "error", error: { type, message } } as const;
}

export function errorResponse(err: GatewayError, requestId: string | undefined): Response {
  const headers = new Headers(err.headers);
  headers.set("content-type", "application/json");
  if (requestId) headers.set("request-id", requestId);
  return new Response(JSON.stringify(errorBody(err.type, err.message)), { status: err.status, headers });
}

/** The app's only `onError`: known errors keep their shape, unknown ones become a generic 500. */
export function onError(err: Error, c: Context<AppEnv>): Response {
  const requestId = c.get("requestId");
  if (err instanceof GatewayError) return errorResponse(err, requestId);
  console.error(JSON.stringify({ msg: "unhandled error", requestId, error: err.message, stack: err.stack }));
  return errorResponse(new GatewayError("api_error", "Internal server error"), requestId);
}
