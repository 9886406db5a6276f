/**
 * Rate-limit headers on every answer: Anthropic's `anthropic-ratelimit-*`
 * (what the official SDKs and customers' dashboards read) and the IETF
 * `RateLimit` / `RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers).
 */
import type { RateLimitSnapshot } from "./decision.ts";

export function rateLimitHeaders(snapshot: RateLimitSnapshot, now: number): Record<string, string> {
  const reset = new Date(now + snapshot.resetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const w = snapshot.windowSeconds;
  const t = Math.max(0, Math.ceil(snapshot.resetSeconds));
  const { requests, inputTokens, outputTokens } = snapshot;
  const tokens = {
    limit: inputTokens.limit + outputTokens.limit,
    remaining: inputTokens.remaining + outputTokens.remaining,
  };
  const headers: Record<string, string> = {
    "ratelimit-policy": `"requests";q=${requests.limit};w=${w}, "input-tokens";q=${inputTokens.limit};w=${w}, "output-tokens";q=${outputTokens.limit};w=${w}`,
    ratelimit: `"requests";r=${requests.remaining};t=${t}, "input-tokens";r=${inputTokens.remaining};t=${t}, "output-tokens";r=${outputTokens.remaining};t=${t}`,
  };
  const families: Array<[string, { limit: number; remaining: number }]> = [
    ["requests", requests],
    ["tokens", tokens],
    ["input-tokens", inputTokens],
    ["output-tokens", outputTokens],
  ];
  for (const [name, value] of families) {
    headers[`anthropic-ratelimit-${name}-limit`] = String(value.limit);
    headers[`anthropic-ratelimit-${name}-remaining`] = String(Math.max(0, value.remaining));
    headers[`anthropic-ratelimit-${name}-reset`] = reset;
  }
  return headers;
}
