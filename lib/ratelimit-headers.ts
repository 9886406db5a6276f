/**
 * Rate-limit headers on every answer: Anthropic's `anthropic-ratelimit-*`
 * (what the official SDKs and customers' dashboards read) and the IETF
 * `RateLimit` / `RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers).
 *
 * The published limits are what the account's standing earns (tier ×
 * verification × org type), never what its risk, its cluster's share or an
 * operator override leave it: a limit that moved with risk would let a
 * campaign A/B-test its prompts against the detector one request at a time.
 */
import type { AccountProfile, RateLimitSnapshot } from "./decision.ts";
import type { Policy } from "./policy/index.ts";
import { effectiveLimits } from "./quota/adaptive.ts";

type Counter = { limit: number; remaining: number };
type Published = Pick<RateLimitSnapshot, "requests" | "inputTokens" | "outputTokens">;

/** The limits a client is shown: its standing at risk 0, with no override (the same formula the account object uses). */
export function publishedLimits(policy: Policy, account: Pick<AccountProfile, "tier" | "verified" | "orgType">): { requests: number; inputTokens: number; outputTokens: number } {
  return effectiveLimits(policy, account, 0, null);
}

/**
 * Remaining counts down from the published limit by what the account has used (which the client knows
 * anyway), so it moves with risk no more than the limit does. At zero it stays zero: the next request on
 * that counter would be refused, and a 429 says as much.
 */
function publishCounter(actual: Counter, limit: number): Counter {
  if (actual.remaining <= 0) return { limit, remaining: 0 };
  const used = Math.max(0, actual.limit - actual.remaining);
  return { limit, remaining: Math.max(0, limit - used) };
}

/** The account object's snapshot restated against the published limits. */
export function publishedSnapshot(snapshot: RateLimitSnapshot, limits: { requests: number; inputTokens: number; outputTokens: number }): RateLimitSnapshot {
  const published: Published = {
    requests: publishCounter(snapshot.requests, limits.requests),
    inputTokens: publishCounter(snapshot.inputTokens, limits.inputTokens),
    outputTokens: publishCounter(snapshot.outputTokens, limits.outputTokens),
  };
  return { ...snapshot, ...published };
}

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
