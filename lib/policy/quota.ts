/**
 * How much an account may do: the window lengths (`limits`), the limits per tier (`tiers`) and what
 * scales them (`quota`). The arithmetic over them is lib/quota/.
 */
import * as z from "../zod.ts";
import { intBetween, nonNegInt, points, positiveNumber, section, share } from "./fields.ts";

export const tierLimitsSchema = z.strictObject({
  /** Requests admitted per window. */
  requests: nonNegInt,
  /** Input tokens (estimated at admission, reconciled at settle) per window. */
  inputTokens: nonNegInt,
  /** Output tokens (reserved from max_tokens at admission, reconciled) per window. */
  outputTokens: nonNegInt,
  /** Exchanges (admitted requests) per day window. */
  exchangesPerDay: nonNegInt,
  /** Requests in flight at once. */
  concurrency: nonNegInt,
});
export type TierLimits = z.infer<typeof tierLimitsSchema>;

export const DEFAULT_TIER_LIMITS: TierLimits = { requests: 20, inputTokens: 40_000, outputTokens: 8_000, exchangesPerDay: 1_000, concurrency: 4 };

export const DEFAULT_TIERS: Record<string, TierLimits> = {
  free: DEFAULT_TIER_LIMITS,
  build: { requests: 60, inputTokens: 200_000, outputTokens: 40_000, exchangesPerDay: 20_000, concurrency: 16 },
  scale: { requests: 600, inputTokens: 2_000_000, outputTokens: 400_000, exchangesPerDay: 500_000, concurrency: 64 },
  enterprise: { requests: 4_000, inputTokens: 10_000_000, outputTokens: 2_000_000, exchangesPerDay: 5_000_000, concurrency: 256 },
};

export const limitsSchema = section({
  /** Largest request body accepted, in bytes; larger bodies get 413 without being buffered. */
  maxBodyBytes: z._default(intBetween(1024, 32 * 1024 * 1024), 4 * 1024 * 1024),
  /** Length of the sliding window for per-window limits, in seconds. */
  windowSeconds: z._default(intBetween(1, 86_400), 60),
  /** Length of the "day" for exchangesPerDay, in seconds (scaled down by the simulator). */
  dayWindowSeconds: z._default(intBetween(60, 7 * 86_400), 86_400),
  /**
   * Sub-buckets per sliding window (both the window and the day). The limit holds over every
   * window of that length; a request may keep counting for up to 1/windowBuckets of a window longer.
   */
  windowBuckets: z._default(intBetween(2, 120), 12),
  /** A concurrency lease expires after this many seconds even if settle never runs. */
  leaseSeconds: z._default(intBetween(5, 3_600), 300),
  /** Input token estimate: one token per this many bytes of request body. */
  bytesPerInputToken: z._default(positiveNumber, 4),
  /** max_tokens assumed for reservation when the request omits it. */
  defaultMaxTokens: z._default(nonNegInt, 4_096),
});

export const quotaSchema = section({
  /** Multiplier on every limit for verified accounts (unverified: 1). */
  verifiedMultiplier: z._default(positiveNumber, 2),
  /** Multiplier per organisation type, e.g. {"university": 0.5}. Unlisted types: 1. */
  orgTypeMultipliers: z._default(z.record(z.string(), positiveNumber), {}),
  /** Risk at which limits start to shrink (f(risk) = 1 below it). */
  riskFloor: z._default(points, 20),
  /** Smallest f(risk), reached at risk 100. */
  minRiskMultiplier: z._default(share, 0.1),
  /**
   * Allowance leases (lib/quota/allowance.ts): the account object hands an isolate a few requests,
   * tokens and slots, already counted, to admit on its own; limits stay exact.
   */
  allowance: section({
    enabled: z._default(z.boolean(), true),
    /** Requests the account must have made in the day window first: a campaign's accounts make a few each. */
    minHistoryRequests: z._default(intBetween(1, 1_000_000), 20),
    /** Most requests in one allowance: also the most an isolate admits after something that matters changed at the object. */
    maxRequests: z._default(intBetween(2, 10_000), 64),
    /**
     * How long an isolate may admit within one (never more than half of limits.windowSeconds): also
     * how long an override or a verdict the object learns may wait for an isolate's next call.
     */
    ttlMs: z._default(intBetween(100, 25_000), 10_000),
  }),
});
