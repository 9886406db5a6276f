/**
 * Step 6 — forward. The request goes to ORIGIN_URL at the canonical path of
 * the route that was metered (never the path as the client spelled it), with
 * the same method, query and body, and only the client headers the Messages API
 * and the official SDKs use (an allow-list: whatever else a client adds stays
 * here); plus the gateway's trusted headers. When the decision is `degrade`,
 * the body is rewritten (max_tokens clamped, thinking dropped; in a batch,
 * inside every contained request). The answer streams back at once. The settle
 * is wired before the origin is asked, so however the exchange ends — answered,
 * cut short by the client, or failed before the origin's headers — the lease is
 * given back exactly once.
 */
import type { Handler } from "hono";
import { parseBatch, rewriteBatch } from "../lib/batch.ts";
import { BoundedMap } from "../lib/bounded-map.ts";
import type { AdmitResult } from "../lib/decision.ts";
import { summarizeFingerprint } from "../lib/fingerprint/index.ts";
import type { Policy } from "../lib/policy/index.ts";
import { tapStream, trackerFor, usageFromJson, type StreamOutcome, type Usage } from "../lib/usage.ts";
import type { AppEnv, RequestBody, RouteMatch } from "./context.ts";
import { batchOutputReservation } from "./admit.ts";
import { GatewayError } from "./errors.ts";
import { CREDENTIAL_HEADERS, originCredential } from "./identity.ts";
import { logStreamEnd } from "./log.ts";
import { settle } from "./settle.ts";

/** RFC 9110 §7.6.1 hop-by-hop headers, plus ones the runtime sets itself. */
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
  "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
]);

/**
 * Client headers the origin gets: what the Messages API reads and the official SDKs send. Anything else —
 * forwarding and client-IP claims, method or URL overrides, `cf-*`, `x-distillguard-*` — stays here.
 */
const FORWARDED_REQUEST_HEADERS = new Set([
  "content-type", "accept", "accept-encoding", "accept-language", "user-agent", "idempotency-key",
  "anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access",
  // Credentials pass as sent; which one counts is the identity step's to decide.
  "x-api-key", "authorization",
]);
/** The official SDKs' platform headers (x-stainless-lang, -os, -retry-count, …). */
const FORWARDED_REQUEST_PREFIXES = ["x-stainless-"];
/** The demo origin's knobs (x-demo-status, x-demo-echo, …): forwarded only where the origin is the demo origin. */
const DEVELOPMENT_REQUEST_PREFIXES = ["x-demo-"];
/** Environments whose origin is the demo origin: local `npm start`, the tests, the simulator. */
const DEVELOPMENT_ENVIRONMENTS = new Set(["development", "test", "simulation"]);

export const TRUSTED_PREFIX = "x-distillguard-";

export function isDevelopment(env: Env): boolean {
  // ENVIRONMENT's generated type lists only wrangler.toml's values; "test" and "simulation" are set by their runners.
  return DEVELOPMENT_ENVIRONMENTS.has(String(env.ENVIRONMENT));
}

export function isForwardableRequestHeader(name: string, options: { development?: boolean } = {}): boolean {
  const lower = name.toLowerCase();
  if (FORWARDED_REQUEST_HEADERS.has(lower)) return true;
  if (FORWARDED_REQUEST_PREFIXES.some((prefix) => lower.startsWith(prefix))) return true;
  return options.development === true && DEVELOPMENT_REQUEST_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

export function isForwardableResponseHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return !HOP_BY_HOP.has(lower) && !lower.startsWith(TRUSTED_PREFIX);
}

export type TrustedContext = {
  requestId: string;
  accountId: string;
  decision: AdmitResult;
  country: string;
  fingerprintSummary: string;
};

/** Headers only the gateway may set; the origin trusts them because clients' copies are stripped. */
export function trustedHeaders(t: TrustedContext): Record<string, string> {
  return {
    "x-distillguard-request-id": t.requestId,
    "x-distillguard-account": t.accountId,
    "x-distillguard-risk": t.decision.risk.toFixed(1),
    "x-distillguard-action": t.decision.enforced ? t.decision.action : `${t.decision.action};shadow`,
    "x-distillguard-cluster": t.decision.clusters.join(",") || "none",
    "x-distillguard-reasons": t.decision.reasons.join(",") || "none",
    "x-distillguard-country": t.country,
    "x-distillguard-fingerprint": t.fingerprintSummary,
  };
}

/** Applies `degrade` to a Messages API body; returns null when nothing had to change. */
export function degradeBody(json: unknown, policy: Policy): Record<string, unknown> | null {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return null;
  const body = { ...(json as Record<string, unknown>) };
  let changed = false;
  const cap = policy.degrade.maxTokens;
  if (typeof body.max_tokens !== "number" || body.max_tokens > cap) {
    body.max_tokens = cap;
    changed = true;
  }
  if (policy.degrade.dropThinking && "thinking" in body) {
    delete body.thinking;
    changed = true;
  }
  return changed ? body : null;
}

/** The body as `degrade` leaves it (inside each contained request of a batch); null when nothing changes. */
function degradedJson(endpoint: RouteMatch, body: RequestBody, decision: AdmitResult, policy: Policy): Record<string, unknown> | null {
  if (endpoint.body === "none" || !endpoint.degrades || !decision.enforced || decision.action !== "degrade") return null;
  return endpoint.meter === "batch" ? rewriteBatch(body.json, (params) => degradeBody(params, policy)) : degradeBody(body.json, policy);
}

/**
 * What a batch costs at settle. Its answer carries no usage (the requests run later), so the gateway
 * says it: nothing when the origin refused the batch, what the degraded requests may still generate
 * when degrade clamped them, else the reservation stands (null).
 */
function batchUsage(status: number, degraded: Record<string, unknown> | null, reservedInput: number, policy: Policy): Usage | null {
  if (status >= 400) return { inputTokens: 0, outputTokens: 0 };
  if (!degraded) return null;
  const batch = parseBatch(degraded, Number.POSITIVE_INFINITY);
  return batch.ok ? { inputTokens: reservedInput, outputTokens: batchOutputReservation(batch.params, policy) } : null;
}

// 256 origin paths: the fixed routes and the ids an isolate serves most; past it a path is resolved per request.
const MAX_RESOLVED_PATHS = 256;

type ParsedOrigin = { url: string; origin: URL; basePath: string; resolved: BoundedMap<string, string> };

let originCache: ParsedOrigin | null = null;

/** ORIGIN_URL parsed once per isolate (it changes only with a deploy). */
function parsedOrigin(url: string): ParsedOrigin {
  if (originCache?.url !== url) {
    const origin = new URL(url);
    originCache = { url, origin, basePath: origin.pathname.replace(/\/+$/, ""), resolved: new BoundedMap(MAX_RESOLVED_PATHS) };
  }
  return originCache;
}

/** The upstream URL of a route's origin path: resolved against ORIGIN_URL once per path, unless it has a query. */
function upstreamUrl(originUrl: string, originPath: string, search: string): string {
  const parsed = parsedOrigin(originUrl);
  const path = `${parsed.basePath}${originPath}`;
  if (search !== "") return new URL(`${path}${search}`, parsed.origin).href;
  let href = parsed.resolved.get(path);
  if (href === undefined) {
    href = new URL(path, parsed.origin).href;
    parsed.resolved.set(path, href);
  }
  return href;
}

export function buildUpstreamRequest(options: {
  request: Request;
  originUrl: string;
  endpoint: RouteMatch;
  body: RequestBody;
  trusted: Record<string, string>;
  /** The body with `degrade` applied (degradedJson), when it changed. */
  degraded?: Record<string, unknown> | null;
  /** Whether the demo origin's x-demo-* knobs pass (isDevelopment). */
  development?: boolean;
  /** The API key identity authenticated. */
  apiKey: string;
  signal?: AbortSignal;
}): Request {
  const incoming = options.request.url;
  const queryAt = incoming.indexOf("?");
  const search = queryAt === -1 ? "" : new URL(incoming).search;
  const target = upstreamUrl(options.originUrl, options.endpoint.originPath, search);

  const headers = new Headers();
  const forwardable = { development: options.development };
  for (const [name, value] of options.request.headers) {
    if (isForwardableRequestHeader(name, forwardable) && !CREDENTIAL_HEADERS.has(name)) headers.set(name, value);
  }
  headers.set(...originCredential(options.apiKey));
  for (const [name, value] of Object.entries(options.trusted)) headers.set(name, value);

  const method = options.request.method;
  return new Request(target, {
    method,
    headers,
    body:
      method === "GET" || method === "HEAD" || options.endpoint.body === "none"
        ? null
        : options.degraded
          ? JSON.stringify(options.degraded)
          : options.body.bytes,
    redirect: "manual",
    signal: options.signal,
  });
}

// 1 MB: origin JSON answers up to this size with a declared length are read whole; bigger ones, and
// any of unknown length, stream (their usage is scanned as they pass, lib/usage.ts jsonUsageTracker).
const MAX_BUFFERED_JSON_BYTES = 1024 * 1024;

export type ProxyOutcome = { status: number; usage: Usage | null; outcome: StreamOutcome };

/**
 * Sends the request to the origin and returns the client's response at once;
 * `done` resolves when the body has been fully passed on (or abandoned).
 */
export async function proxyToOrigin(
  upstream: Request,
  maxBufferedJsonBytes = MAX_BUFFERED_JSON_BYTES,
): Promise<{ response: Response; done: Promise<ProxyOutcome> }> {
  let originResponse: Response;
  try {
    originResponse = await fetch(upstream);
  } catch (err) {
    console.error(JSON.stringify({ msg: "origin unreachable", error: String(err) }));
    throw new GatewayError("api_error", "The upstream API could not be reached", { status: 502 });
  }
  // Copied whole by the runtime, then the few that must not pass taken out: cheaper than a set per header.
  const headers = new Headers(originResponse.headers);
  for (const name of [...headers.keys()]) if (!isForwardableResponseHeader(name)) headers.delete(name);
  const status = originResponse.status;
  if (!originResponse.body) {
    return {
      response: new Response(null, { status, statusText: originResponse.statusText, headers }),
      done: Promise.resolve({ status, usage: null, outcome: "complete" }),
    };
  }
  const contentType = originResponse.headers.get("content-type") ?? "";
  // No content-length (chunked) is unknown, not 0: such an answer streams through like a long one.
  const length = originResponse.headers.get("content-length");
  const declared = length === null || length.trim() === "" ? Number.NaN : Number(length);
  if (status < 300 && contentType.includes("json") && Number.isFinite(declared) && declared <= maxBufferedJsonBytes) {
    // A JSON answer arrives whole anyway; reading it at once is cheaper than a pass-through stream
    // and gives the usage without a second copy.
    const bytes = new Uint8Array(await originResponse.arrayBuffer());
    return {
      response: new Response(bytes, { status, statusText: originResponse.statusText, headers }),
      done: Promise.resolve({ status, usage: usageFromJson(bytes), outcome: "complete" }),
    };
  }
  let resolveDone: (outcome: ProxyOutcome) => void = () => undefined;
  const done = new Promise<ProxyOutcome>((resolve) => (resolveDone = resolve));
  const tracker = status < 300 ? trackerFor(originResponse.headers.get("content-type")) : null;
  const body = tapStream(originResponse.body, tracker, (usage, outcome) => resolveDone({ status, usage, outcome }));
  return { response: new Response(body, { status, statusText: originResponse.statusText, headers }), done };
}

export type ForwardOptions = {
  /** Origin JSON answers up to this many bytes (declared) are read whole instead of streamed. */
  maxBufferedJsonBytes?: number;
};

/** The route's handler: proxies the admitted request and hands the answer's cost to settle (in waitUntil). */
export function forward(options: ForwardOptions = {}): Handler<AppEnv> {
  const maxBufferedJsonBytes = options.maxBufferedJsonBytes ?? MAX_BUFFERED_JSON_BYTES;
  return async function forward(c) {
    const decision = c.get("decision");
    const account = c.get("account");
    const requestId = c.get("requestId");
    const endpoint = c.get("endpoint");
    const policy = c.get("policy");
    const body = c.get("body");
    const degraded = degradedJson(endpoint, body, decision, policy);
    const upstream = buildUpstreamRequest({
      request: c.req.raw,
      originUrl: c.env.ORIGIN_URL,
      endpoint,
      body,
      degraded,
      development: isDevelopment(c.env),
      apiKey: c.get("apiKey"),
      // The client gone, the origin stops too: it would otherwise generate (and bill) an answer nobody reads.
      signal: c.req.raw.signal,
      trusted: trustedHeaders({
        requestId,
        accountId: account.id,
        decision,
        country: c.get("region").country,
        fingerprintSummary: summarizeFingerprint(c.get("fingerprint")),
      }),
    });
    const proxied = proxyToOrigin(upstream, maxBufferedJsonBytes);
    // Wired before the origin is awaited: a client gone before the origin's headers ends this handler,
    // not the waitUntil, so the lease still comes back (once: this chain is the only settle).
    const ended: Promise<ProxyOutcome> = proxied.then(
      (p) => p.done,
      () => ({ status: 502, usage: null, outcome: "origin_error" }),
    );
    c.executionCtx.waitUntil(
      ended.then(({ status, usage, outcome }) => {
        // The decision line went out with the headers; an answer that did not finish gets a second line.
        if (outcome !== "complete") logStreamEnd({ requestId, account: account.id, outcome, usage: usage !== null });
        const cost =
          endpoint.meter === "batch"
            ? batchUsage(status, degraded, Math.ceil((body.bytes?.byteLength ?? 0) / policy.limits.bytesPerInputToken), policy)
            : usage;
        return settle(c.env, account.id, decision.leaseId, cost, status);
      }),
    );
    return (await proxied).response;
  };
}
