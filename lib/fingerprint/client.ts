/**
 * HTTP-client features from the request headers, and a consistency check
 * between the client a request *declares* (User-Agent, the SDK's
 * `x-stainless-*` telemetry headers) and the stack it *shows* (HTTP protocol,
 * TLS summary from `request.cf`, which headers are present).
 *
 * Limits of what the edge can infer, stated plainly:
 * - Header order is invisible (Workers hand headers over sorted), so only the
 *   set of names and a few values can be fingerprinted.
 * - There is no raw ClientHello, only cf's SHA-1s and length: without a table
 *   of values observed from real clients, the TLS summary cannot *name* a
 *   stack. What it can show is the negotiated HTTP protocol (a proxy for the
 *   ALPN offer), the TLS version and the hello's length, and each of those is
 *   only a default that a determined client or a TLS-terminating corporate
 *   proxy can change. Those hints are therefore weak: one alone never flags a
 *   request, two agreeing do.
 * - Contradictions between headers the client itself sent (an SDK's telemetry
 *   next to a curl User-Agent) need no inference and are strong.
 */
import { asciiToken } from "./fields.ts";
import type { TlsFeatures } from "./tls.ts";

export type UaFamily =
  | "anthropic-sdk-ts"
  | "anthropic-sdk-python"
  | "anthropic-sdk-go"
  | "anthropic-sdk-java"
  | "anthropic-sdk-other"
  | "curl"
  | "wget"
  | "python-requests"
  | "python-httpx"
  | "python-aiohttp"
  | "python-urllib"
  | "go-http"
  | "node"
  | "axios"
  | "okhttp"
  | "java"
  | "browser"
  | "none"
  | "other";

/** The HTTP/TLS stack a client runs on, as far as defaults go. */
export type Stack = "node" | "bun" | "deno" | "edge" | "browser" | "python" | "go" | "jvm" | "curl";

export type SdkProfile = {
  lang: string | null;
  packageVersion: string | null;
  os: string | null;
  arch: string | null;
  runtime: string | null;
  runtimeVersion: string | null;
};

export type ClientFeatures = {
  /** Lower-case, sorted, deduplicated; volatile and credential headers left out. */
  headerNames: string[];
  uaFamily: UaFamily;
  /** Version from an SDK User-Agent ("Anthropic/JS 1.10.0" → "1.10.0"), else null. */
  uaVersion: string | null;
  accept: string | null;
  acceptEncoding: string | null;
  acceptLanguage: string | null;
  /** Null when the request carries no `x-stainless-*` header at all. */
  sdk: SdkProfile | null;
  anthropicVersion: string | null;
  /** Sorted, deduplicated `anthropic-beta` values. */
  anthropicBeta: string[];
  /** The stack the client claims (SDK runtime first, then User-Agent), or null when it claims none we know. */
  declaredStack: Stack | null;
  mismatch: boolean;
  /** Stable reason codes; `strong:` ones flag alone, `weak:` ones need a second. */
  mismatchReasons: string[];
};

/** Headers that vary per request, carry credentials, or are written by the edge/proxies rather than the client. */
const EXCLUDED_HEADERS = new Set([
  // Hop-by-hop: proxies and the edge add, drop or rewrite them.
  "connection",
  "keep-alive",
  "te",
  "upgrade",
  "authorization",
  "x-api-key",
  "cookie",
  "content-length",
  "host",
  "x-real-ip",
  "true-client-ip",
  "forwarded",
  "via",
  "cdn-loop",
  "traceparent",
  "tracestate",
  "x-request-id",
  "idempotency-key",
]);
const EXCLUDED_PREFIXES = ["cf-", "x-forwarded-", "x-distillguard-", "mf-"];
// A real client sends 5–25 headers; a cap keeps a header-stuffing client's cost bounded.
const MAX_HEADER_NAMES = 64;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

/** Ordered: first match wins. `lang` links an SDK User-Agent to `x-stainless-lang`. */
const UA_FAMILIES: readonly { pattern: RegExp; family: UaFamily; stack: Stack | null; lang?: string }[] = [
  { pattern: /^anthropic\/js\b/i, family: "anthropic-sdk-ts", stack: null, lang: "js" },
  { pattern: /^anthropic\/python\b/i, family: "anthropic-sdk-python", stack: "python", lang: "python" },
  { pattern: /^anthropic\/go\b/i, family: "anthropic-sdk-go", stack: "go", lang: "go" },
  { pattern: /^anthropic\/(java|kotlin)\b/i, family: "anthropic-sdk-java", stack: "jvm", lang: "java" },
  { pattern: /^anthropic\//i, family: "anthropic-sdk-other", stack: null },
  { pattern: /^curl\//i, family: "curl", stack: "curl" },
  { pattern: /^wget\//i, family: "wget", stack: null },
  { pattern: /^python-requests\//i, family: "python-requests", stack: "python" },
  { pattern: /^python-httpx\//i, family: "python-httpx", stack: "python" },
  { pattern: /\baiohttp\//i, family: "python-aiohttp", stack: "python" },
  { pattern: /^python-urllib/i, family: "python-urllib", stack: "python" },
  { pattern: /^go-http-client\//i, family: "go-http", stack: "go" },
  // Node's built-in fetch (undici) sends "node" unless told otherwise.
  { pattern: /^(node|undici)(\/|$)/i, family: "node", stack: "node" },
  { pattern: /^axios\//i, family: "axios", stack: "node" },
  { pattern: /^okhttp\//i, family: "okhttp", stack: "jvm" },
  { pattern: /^(java\/|apache-httpclient\/|java-http-client)/i, family: "java", stack: "jvm" },
  { pattern: /^mozilla\/5\.0 .*(chrome|firefox|safari|edg)\//i, family: "browser", stack: "browser" },
];

/** Families that are generic HTTP libraries: an SDK never sends their User-Agent. */
const LIBRARY_FAMILIES = new Set<UaFamily>([
  "curl",
  "wget",
  "python-requests",
  "python-httpx",
  "python-aiohttp",
  "python-urllib",
  "go-http",
  "node",
  "axios",
  "okhttp",
  "java",
]);

type StackExpectation = {
  /** HTTP protocols the stack negotiates with default settings; absent = anything goes. */
  protocols?: readonly string[];
  /** Whether the stack negotiates TLS 1.3 with Cloudflare by default. */
  tls13?: boolean;
  /** Headers the stack's standard request path always adds. */
  requires?: readonly string[];
  /** Headers the stack never adds on its own (fetch metadata, client hints). */
  forbids?: readonly string[];
  /** QUIC is out of reach of the stack's common clients. */
  noQuic?: boolean;
};

const FETCH_METADATA = ["sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest", "sec-ch-ua"];

/**
 * Defaults of each stack, as documented or observed in their source. Each is a
 * default, not a law, which is why a breach is only a weak finding.
 */
const STACK_EXPECTATIONS: Record<Stack, StackExpectation> = {
  // undici's fetch offers only http/1.1 unless allowH2 is set, and always adds sec-fetch-mode.
  node: { protocols: ["HTTP/1.1"], tls13: true, requires: ["sec-fetch-mode"], noQuic: true },
  bun: { protocols: ["HTTP/1.1"], tls13: true, noQuic: true },
  deno: { protocols: ["HTTP/1.1", "HTTP/2"], tls13: true, noQuic: true },
  edge: {},
  // requests/urllib3 never speak h2; httpx only with http2=True.
  python: { protocols: ["HTTP/1.1"], forbids: FETCH_METADATA, noQuic: true },
  // net/http offers h2 by default, but a custom TLS config silently turns it off: no protocol expectation.
  go: { tls13: true, forbids: FETCH_METADATA, noQuic: true },
  browser: { protocols: ["HTTP/2", "HTTP/3"], tls13: true, requires: ["sec-fetch-mode", "accept-language"] },
  jvm: { forbids: FETCH_METADATA },
  curl: { forbids: FETCH_METADATA },
};

// BoringSSL (Chrome, Edge, Opera) pads a ClientHello of 256–511 bytes up to 512, and
// Chromium's own hello (GREASE, ALPS, many extensions) never comes in under 256.
const CHROMIUM_MIN_HELLO_BYTES = 512;

function classifyUserAgent(ua: string | null): { family: UaFamily; stack: Stack | null; lang: string | null; version: string | null } {
  if (ua === null) return { family: "none", stack: null, lang: null, version: null };
  for (const entry of UA_FAMILIES) {
    if (entry.pattern.test(ua)) {
      const version = entry.family.startsWith("anthropic-sdk") ? (/^\S+\s+(\S+)/.exec(ua)?.[1] ?? null) : null;
      return { family: entry.family, stack: entry.stack, lang: entry.lang ?? null, version: asciiToken(version, 32) };
    }
  }
  return { family: "other", stack: null, lang: null, version: null };
}

function stackOfRuntime(sdk: SdkProfile): Stack | null {
  const runtime = sdk.runtime?.toLowerCase() ?? "";
  if (runtime === "node" || runtime === "bun" || runtime === "deno" || runtime === "edge") return runtime;
  if (runtime.startsWith("browser")) return "browser";
  const lang = sdk.lang?.toLowerCase() ?? "";
  if (lang === "python") return "python";
  if (lang === "go") return "go";
  if (lang === "java" || lang === "kotlin") return "jvm";
  return null;
}

function headerValue(headers: Headers, name: string, maxLength: number): string | null {
  return asciiToken(headers.get(name), maxLength);
}

function headerNamesOf(headers: Headers): string[] {
  const names = new Set<string>();
  let seen = 0;
  // Names only: iterating entries would copy every value out of the runtime, the API key's included.
  for (const name of headers.keys()) {
    if (++seen > MAX_HEADER_NAMES) break;
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(lower) || EXCLUDED_HEADERS.has(lower)) continue;
    if (EXCLUDED_PREFIXES.some((prefix) => lower.startsWith(prefix))) continue;
    names.add(lower);
  }
  return [...names].sort();
}

function sdkProfileOf(headers: Headers, names: readonly string[]): SdkProfile | null {
  if (!names.some((name) => name.startsWith("x-stainless-"))) return null;
  return {
    lang: headerValue(headers, "x-stainless-lang", 32)?.toLowerCase() ?? null,
    packageVersion: headerValue(headers, "x-stainless-package-version", 32),
    os: headerValue(headers, "x-stainless-os", 32),
    arch: headerValue(headers, "x-stainless-arch", 32),
    runtime: headerValue(headers, "x-stainless-runtime", 48),
    runtimeVersion: headerValue(headers, "x-stainless-runtime-version", 32),
  };
}

function betaList(value: string | null): string[] {
  if (value === null) return [];
  const items = new Set<string>();
  for (const part of value.split(",")) {
    const item = part.trim();
    if (item !== "" && items.size < 16) items.add(item.slice(0, 64));
  }
  return [...items].sort();
}

type Finding = { reason: string; strong: boolean };

/** Contradictions inside what the client declared about itself. */
function identityFindings(
  sdk: SdkProfile | null,
  ua: ReturnType<typeof classifyUserAgent>,
): Finding[] {
  const findings: Finding[] = [];
  const runtime = sdk?.runtime?.toLowerCase() ?? null;
  if (sdk === null) {
    if (ua.family.startsWith("anthropic-sdk")) findings.push({ reason: "sdk_ua_without_stainless", strong: true });
    return findings;
  }
  const browserRuntime = runtime !== null && runtime.startsWith("browser");
  if (ua.family === "browser" && !browserRuntime) findings.push({ reason: "sdk_runtime_with_browser_ua", strong: true });
  if (browserRuntime && ua.family !== "browser") findings.push({ reason: "browser_runtime_without_browser_ua", strong: true });
  if (LIBRARY_FAMILIES.has(ua.family)) findings.push({ reason: `sdk_with_${ua.family}_ua`, strong: true });
  if (ua.family === "none" || ua.family === "other") findings.push({ reason: "sdk_with_unknown_ua", strong: false });
  if (ua.lang !== null && sdk.lang !== null && ua.lang !== sdk.lang && !(ua.lang === "java" && sdk.lang === "kotlin")) {
    findings.push({ reason: "sdk_lang_vs_ua", strong: true });
  }
  if (ua.version !== null && sdk.packageVersion !== null && ua.version !== sdk.packageVersion) {
    findings.push({ reason: "sdk_version_vs_ua", strong: true });
  }
  return findings;
}

/** What the declared stack would show on the wire by default, against what the edge saw. */
function stackFindings(stack: Stack, names: readonly string[], ua: string | null, tls: TlsFeatures): Finding[] {
  const findings: Finding[] = [];
  const expect = STACK_EXPECTATIONS[stack];
  const protocol = tls.httpProtocol;
  const quic = protocol === "HTTP/3" || tls.ja4Parts?.transport === "quic";
  if (quic && expect.noQuic === true) {
    findings.push({ reason: `${stack}_over_quic`, strong: true });
  } else if (protocol !== null && expect.protocols !== undefined && !expect.protocols.includes(protocol)) {
    findings.push({ reason: `${stack}_over_${protocol.toLowerCase().replace(/[^a-z0-9]/g, "")}`, strong: false });
  } else if (stack === "browser" && tls.ja4Parts?.alpn === "00") {
    findings.push({ reason: "browser_without_alpn", strong: false });
  }
  if (expect.tls13 === true && tls.tlsVersion !== null && tls.tlsVersion !== "TLSv1.3") {
    // Browsers removed TLS 1.0/1.1 in 2020; below 1.2 from a browser is not a browser.
    const ancient = tls.tlsVersion === "TLSv1" || tls.tlsVersion === "TLSv1.1";
    findings.push({ reason: `${stack}_with_${tls.tlsVersion.toLowerCase().replace(/[^a-z0-9]/g, "")}`, strong: stack === "browser" && ancient });
  }
  for (const name of expect.requires ?? []) {
    if (!names.includes(name)) findings.push({ reason: `${stack}_without_${name}`, strong: false });
  }
  for (const name of expect.forbids ?? []) {
    if (names.includes(name)) {
      findings.push({ reason: `${stack}_with_${name}`, strong: false });
      break;
    }
  }
  if (stack === "browser" && ua !== null && /chrome\//i.test(ua) && tls.helloLength !== null && tls.helloLength < CHROMIUM_MIN_HELLO_BYTES) {
    findings.push({ reason: "chromium_ua_short_hello", strong: false });
  }
  return findings;
}

export function clientFeatures(headers: Headers, tls: TlsFeatures): ClientFeatures {
  const headerNames = headerNamesOf(headers);
  const userAgent = headers.get("user-agent");
  const ua = classifyUserAgent(userAgent === null ? null : userAgent.slice(0, 512));
  const sdk = sdkProfileOf(headers, headerNames);
  const declaredStack = (sdk !== null ? stackOfRuntime(sdk) : null) ?? ua.stack;
  const findings = identityFindings(sdk, ua);
  if (declaredStack !== null) findings.push(...stackFindings(declaredStack, headerNames, userAgent, tls));
  const strong = findings.filter((f) => f.strong).length;
  const weak = findings.length - strong;
  return {
    headerNames,
    uaFamily: ua.family,
    uaVersion: ua.version,
    accept: headerValue(headers, "accept", 128),
    acceptEncoding: headerValue(headers, "accept-encoding", 64),
    acceptLanguage: headerValue(headers, "accept-language", 64),
    sdk,
    anthropicVersion: headerValue(headers, "anthropic-version", 32),
    anthropicBeta: betaList(headerValue(headers, "anthropic-beta", 512)),
    declaredStack,
    mismatch: strong > 0 || weak >= 2,
    mismatchReasons: findings.map((f) => `${f.strong ? "strong" : "weak"}:${f.reason}`),
  };
}
