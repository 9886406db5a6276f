/**
 * Step 6 — forward. The request goes to ORIGIN_URL with the same method, path,
 * query and body, minus hop-by-hop headers and anything a client could use to
 * pose as someone else; plus the gateway's trusted headers. When the decision
 * is `degrade`, the body is rewritten (max_tokens clamped, thinking dropped).
 * The answer streams back at once; when it has been passed on (or failed), the
 * settle step learns what it cost.
 */
import type { Handler } from "hono";
import type { AdmitResult } from "../lib/decision.ts";
import { summarizeFingerprint } from "../lib/fingerprint/index.ts";
import type { Policy } from "../lib/policy.ts";
import { tapStream, trackerFor, usageFromJson, type StreamOutcome, type Usage } from "../lib/usage.ts";
import type { AppEnv, RequestBody } from "./context.ts";
import { GatewayError } from "./errors.ts";
import { CREDENTIAL_HEADERS, originCredential } from "./identity.ts";
import { logStreamEnd } from "./log.ts";
import { settle } from "./settle.ts";

/** RFC 9110 §7.6.1 hop-by-hop headers, plus ones the runtime sets itself. */
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
  "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
]);

/** Headers that claim client identity or location: the truth is request.cf and CF-Connecting-IP. */
const SPOOFABLE = new Set(["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "true-client-ip", "forwarded", "mf-cf-blob"]);

export const TRUSTED_PREFIX = "x-distillguard-";

export function isForwardableRequestHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return !HOP_BY_HOP.has(lower) && !SPOOFABLE.has(lower) && !lower.startsWith("cf-") && !lower.startsWith(TRUSTED_PREFIX);
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

export function buildUpstreamRequest(options: {
  request: Request;
  originUrl: string;
  body: RequestBody;
  decision: AdmitResult;
  policy: Policy;
  trusted: Record<string, string>;
  /** The API key identity authenticated. */
  apiKey: string;
  signal?: AbortSignal;
}): Request {
  const incoming = new URL(options.request.url);
  const origin = new URL(options.originUrl);
  const basePath = origin.pathname.replace(/\/+$/, "");
  const target = new URL(`${basePath}${incoming.pathname}${incoming.search}`, origin);

  const headers = new Headers();
  for (const [name, value] of options.request.headers) {
    if (isForwardableRequestHeader(name) && !CREDENTIAL_HEADERS.has(name)) headers.set(name, value);
  }
  headers.set(...originCredential(options.apiKey));
  for (const [name, value] of Object.entries(options.trusted)) headers.set(name, value);

  let payload: BodyInit | null = options.body.bytes;
  if (options.decision.enforced && options.decision.action === "degrade") {
    const rewritten = degradeBody(options.body.json, options.policy);
    if (rewritten) payload = JSON.stringify(rewritten);
  }
  const method = options.request.method;
  return new Request(target, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? null : payload,
    redirect: "manual",
    signal: options.signal,
  });
}

// 1 MB: origin JSON answers up to this size with a declared length are read whole; bigger ones stream.
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
  const headers = new Headers();
  for (const [name, value] of originResponse.headers) {
    if (isForwardableResponseHeader(name)) headers.set(name, value);
  }
  const status = originResponse.status;
  if (!originResponse.body) {
    return {
      response: new Response(null, { status, statusText: originResponse.statusText, headers }),
      done: Promise.resolve({ status, usage: null, outcome: "complete" }),
    };
  }
  const contentType = originResponse.headers.get("content-type") ?? "";
  const declared = Number(originResponse.headers.get("content-length"));
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
    const upstream = buildUpstreamRequest({
      request: c.req.raw,
      originUrl: c.env.ORIGIN_URL,
      body: c.get("body"),
      decision,
      policy: c.get("policy"),
      apiKey: c.get("apiKey"),
      trusted: trustedHeaders({
        requestId,
        accountId: account.id,
        decision,
        country: c.get("region").country,
        fingerprintSummary: summarizeFingerprint(c.get("fingerprint")),
      }),
    });
    let proxied: Awaited<ReturnType<typeof proxyToOrigin>>;
    try {
      proxied = await proxyToOrigin(upstream, maxBufferedJsonBytes);
    } catch (err) {
      c.executionCtx.waitUntil(settle(c.env, account.id, decision.leaseId, null, 502));
      throw err;
    }
    c.executionCtx.waitUntil(
      proxied.done.then(({ status, usage, outcome }) => {
        // The decision line went out with the headers; an answer that did not finish gets a second line.
        if (outcome !== "complete") logStreamEnd({ requestId, account: account.id, outcome, usage: usage !== null });
        return settle(c.env, account.id, decision.leaseId, usage, status);
      }),
    );
    return proxied.response;
  };
}
