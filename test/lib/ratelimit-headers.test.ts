import { describe, expect, it } from "vitest";
import type { RateLimitSnapshot } from "../../lib/decision.ts";
import { rateLimitHeaderPairs, rateLimitHeaders } from "../../lib/ratelimit-headers.ts";

function snapshot(requests: number, remaining: number, resetSeconds = 30): RateLimitSnapshot {
  return {
    windowSeconds: 60,
    resetSeconds,
    requests: { limit: requests, remaining },
    inputTokens: { limit: 1000, remaining: 900 },
    outputTokens: { limit: 500, remaining: 400 },
  };
}

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0, 250);

describe("rate-limit headers", () => {
  it("Should state the limits, what remains and the reset to the second", () => {
    expect(rateLimitHeaders(snapshot(50, 49), NOW)).toEqual({
      "ratelimit-policy": '"requests";q=50;w=60, "input-tokens";q=1000;w=60, "output-tokens";q=500;w=60',
      ratelimit: '"requests";r=49;t=30, "input-tokens";r=900;t=30, "output-tokens";r=400;t=30',
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "49",
      "anthropic-ratelimit-requests-reset": "2026-12-01T12:00:30Z",
      "anthropic-ratelimit-tokens-limit": "1500",
      "anthropic-ratelimit-tokens-remaining": "1300",
      "anthropic-ratelimit-tokens-reset": "2026-12-01T12:00:30Z",
      "anthropic-ratelimit-input-tokens-limit": "1000",
      "anthropic-ratelimit-input-tokens-remaining": "900",
      "anthropic-ratelimit-input-tokens-reset": "2026-12-01T12:00:30Z",
      "anthropic-ratelimit-output-tokens-limit": "500",
      "anthropic-ratelimit-output-tokens-remaining": "400",
      "anthropic-ratelimit-output-tokens-reset": "2026-12-01T12:00:30Z",
    });
  });

  it("Should follow a limit that changes between answers, and back, though the strings are kept from the last answer", () => {
    const limitOf = (pairs: [string, string][]) => Object.fromEntries(pairs)["anthropic-ratelimit-requests-limit"];
    expect(limitOf(rateLimitHeaderPairs(snapshot(50, 10), NOW))).toBe("50");
    expect(limitOf(rateLimitHeaderPairs(snapshot(80, 10), NOW))).toBe("80");
    const back = Object.fromEntries(rateLimitHeaderPairs(snapshot(50, 10), NOW));
    expect(back["anthropic-ratelimit-requests-limit"]).toBe("50");
    expect(back["ratelimit-policy"]).toContain('"requests";q=50;');
  });

  it("Should move the reset with the clock from one second to the next", () => {
    const resetOf = (now: number) => Object.fromEntries(rateLimitHeaderPairs(snapshot(50, 10, 0), now))["anthropic-ratelimit-requests-reset"];
    expect(resetOf(NOW)).toBe("2026-12-01T12:00:00Z");
    expect(resetOf(NOW + 999)).toBe("2026-12-01T12:00:01Z");
    expect(resetOf(NOW + 1_750)).toBe("2026-12-01T12:00:02Z");
  });

  it("Should never publish a negative remaining count", () => {
    const headers = rateLimitHeaders(snapshot(50, -3), NOW);
    expect(headers["anthropic-ratelimit-requests-remaining"]).toBe("0");
  });
});
