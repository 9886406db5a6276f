// @ts-check
/**
 * The admin API from the browser. The token lives in sessionStorage only: it
 * dies with the tab, is never written to localStorage, a cookie or a URL, and
 * travels only in the Authorization header.
 */

const TOKEN_KEY = "distillguard.adminToken";

/** The gateway's error shape, `{"type":"error","error":{"type","message"}}`, as an exception. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} type
   * @param {string} message
   * @param {Array<{ path: string, message: string }>} [problems]
   */
  constructor(status, type, message, problems = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.problems = problems;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** @param {string} token */
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** @type {() => void} */
let onUnauthorized = () => {};

/** Called when the gateway refuses the stored token (rotated, or the tab outlived it). */
export function setUnauthorizedHandler(/** @type {() => void} */ handler) {
  onUnauthorized = handler;
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @param {number} status
 * @param {unknown} body
 */
function toError(status, body) {
  const error = isObject(body) && isObject(body.error) ? body.error : {};
  const type = typeof error.type === "string" ? error.type : "api_error";
  const message = typeof error.message === "string" ? error.message : `the gateway answered ${status}`;
  const problems = Array.isArray(error.problems)
    ? error.problems.filter(isObject).map((p) => ({ path: String(p.path ?? ""), message: String(p.message ?? "") }))
    : [];
  return new ApiError(status, type, message, problems);
}

/**
 * One admin call. `path` is below /admin and already URL-encoded by the caller.
 * @template T
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, token?: string }} [options] `token`: try this one instead of the stored one (sign-in)
 * @returns {Promise<T>}
 */
export async function api(method, path, options = {}) {
  const token = options.token ?? getToken();
  if (!token) throw new ApiError(401, "authentication_error", "not signed in");
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(`/admin${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "network_error", "could not reach the gateway");
  }
  /** @type {unknown} */
  let body = null;
  try {
    body = await res.json();
  } catch {
    // a non-JSON answer (a proxy's error page): the status says enough
  }
  if (!res.ok) {
    const err = toError(res.status, body);
    if (res.status === 401 && options.token === undefined) onUnauthorized();
    throw err;
  }
  return /** @type {T} */ (body);
}

/** A path segment (account id, cluster id such as `prefix:203.0.113.0/24`) for an API path or a hash route. */
export const seg = encodeURIComponent;
