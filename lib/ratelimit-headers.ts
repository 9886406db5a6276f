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

/** The strings of a snapshot that follow only its limits and window: the same on every answer until a limit changes. */
type LimitStrings = { key: string; policy: string; requests: string; tokens: string; inputTokens: string; outputTokens: string };

let lastLimits: LimitStrings | null = null;
let lastReset: { second: number; text: string } | null = null;

function limitStrings(snapshot: RateLimitSnapshot): LimitStrings {
  const { requests, inputTokens, outputTokens } = snapshot;
  const w = snapshot.windowSeconds;
  const key = `${requests.limit}/${inputTokens.limit}/${outputTokens.limit}/${w}`;
  if (lastLimits?.key !== key) {
    lastLimits = {
      key,
      policy: `"requests";q=${requests.limit};w=${w}, "input-tokens";q=${inputTokens.limit};w=${w}, "output-tokens";q=${outputTokens.limit};w=${w}`,
      requests: String(requests.limit),
      tokens: String(inputTokens.limit + outputTokens.limit),
      inputTokens: String(inputTokens.limit),
      outputTokens: String(outputTokens.limit),
    };
  }
  return lastLimits;
}

/** RFC 3339 to the second: the same text for every answer within one second, so it is made once a second. */
function resetText(at: number): string {
  const second = Math.floor(at / 1000);
  if (lastReset?.second !== second) lastReset = { second, text: new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") };
  return lastReset.text;
}

/**
 * The headers as name/value pairs. What follows only the limits (most of the text) is kept from the last
 * answer while the limits stay the same, and the reset text for the second.
 */
export function rateLimitHeaderPairs(snapshot: RateLimitSnapshot, now: number): [string, string][] {
  const limits = limitStrings(snapshot);
  const reset = resetText(now + snapshot.resetSeconds * 1000);
  const t = Math.max(0, Math.ceil(snapshot.resetSeconds));
  const { requests, inputTokens, outputTokens } = snapshot;
  const remaining = (n: number) => String(Math.max(0, n));
  return [
    ["ratelimit-policy", limits.policy],
    ["ratelimit", `"requests";r=${requests.remaining};t=${t}, "input-tokens";r=${inputTokens.remaining};t=${t}, "output-tokens";r=${outputTokens.remaining};t=${t}`],
    ["anthropic-ratelimit-requests-limit", limits.requests],
    ["anthropic-ratelimit-requests-remaining", remaining(requests.remaining)],
    ["anthropic-ratelimit-requests-reset", reset],
    ["anthropic-ratelimit-tokens-limit", limits.tokens],
    ["anthropic-ratelimit-tokens-remaining", remaining(inputTokens.remaining + outputTokens.remaining)],
    ["anthropic-ratelimit-tokens-reset", reset],
    ["anthropic-ratelimit-input-tokens-limit", limits.inputTokens],
    ["anthropic-ratelimit-input-tokens-remaining", remaining(inputTokens.remaining)],
    ["anthropic-ratelimit-input-tokens-reset", reset],
    ["anthropic-ratelimit-output-tokens-limit", limits.outputTokens],
    ["anthropic-ratelimit-output-tokens-remaining", remaining(outputTokens.remaining)],
    ["anthropic-ratelimit-output-tokens-reset", reset],
  ];
}

export function rateLimitHeaders(snapshot: RateLimitSnapshot, now: number): Record<string, string> {
  return Object.fromEntries(rateLimitHeaderPairs(snapshot, now));
}
