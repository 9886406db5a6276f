import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bucketStartFor,
  bucketWidthMs,
  fits,
  msUntilClusterShareFits,
  msUntilEmpty,
  msUntilFits,
  record,
  windowUsage,
  type Bucket,
} from "../../../lib/quota/index.ts";

const W = 60_000;
const WIDTH = bucketWidthMs(W, 12);

/** Admits events in time order with the window maths the AccountDO uses; returns the admitted times. */
function simulate(times: number[], limit: number, windowMs: number, buckets: number): number[] {
  const width = bucketWidthMs(windowMs, buckets);
  let state: Bucket[] = [];
  const admitted: number[] = [];
  for (const t of times) {
    if (fits(windowUsage(state, t, windowMs), limit, 1)) {
      state = record(state, t, windowMs, width, 1);
      admitted.push(t);
    }
  }
  return admitted;
}

describe("sliding window buckets", () => {
  it("should align buckets so every writer agrees on them", () => {
    expect(WIDTH).toBe(5_000);
    expect(bucketStartFor(12_345, WIDTH)).toBe(10_000);
    expect(bucketStartFor(10_000, WIDTH)).toBe(10_000);
  });

  it("should count a bucket while any part of it is inside the window", () => {
    const b = record([], 1_000, W, WIDTH, 3); // bucket [0, 5000)
    expect(windowUsage(b, 1_000, W)).toBe(3);
    expect(windowUsage(b, 64_999, W)).toBe(3);
    expect(windowUsage(b, 65_000, W)).toBe(0);
  });

  it("should admit up to the limit and no further", () => {
    let b: Bucket[] = [];
    let admitted = 0;
    for (let i = 0; i < 25; i++) {
      if (fits(windowUsage(b, 100, W), 10, 1)) {
        b = record(b, 100, W, WIDTH, 1);
        admitted++;
      }
    }
    expect(admitted).toBe(10);
  });

  it("should never let a request larger than the whole budget in, not even into an empty window", () => {
    expect(fits(0, 8_000, 64_000)).toBe(false);
    expect(fits(0, 8_000, 8_000)).toBe(true);
    expect(msUntilFits([], 0, W, 8_000, 64_000)).toBe(Number.POSITIVE_INFINITY);
    expect(msUntilFits([], 0, W, 8_000, 8_000)).toBe(0);
    expect(fits(0, 0, 1)).toBe(false);
    expect(fits(0, 0, 0)).toBe(true);
  });

  it("should say when a request fits again: 0 now, the first expiry that frees enough, never for a zero limit", () => {
    let b: Bucket[] = [];
    b = record(b, 1_000, W, WIDTH, 4); // [0,5000) expires at 65_000
    b = record(b, 31_000, W, WIDTH, 6); // [30000,35000) expires at 95_000
    expect(msUntilFits(b, 40_000, W, 20, 1)).toBe(0);
    expect(msUntilFits(b, 40_000, W, 10, 1)).toBe(65_000 - 40_000);
    expect(msUntilFits(b, 40_000, W, 10, 4)).toBe(65_000 - 40_000);
    expect(msUntilFits(b, 40_000, W, 10, 5)).toBe(95_000 - 40_000);
    expect(msUntilFits(b, 40_000, W, 0, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(msUntilEmpty(b, 40_000, W)).toBe(95_000 - 40_000);
    expect(msUntilEmpty([], 40_000, W)).toBe(0);
  });

  it("should drop buckets that left the window when recording", () => {
    let b = record([], 0, W, WIDTH, 1);
    b = record(b, 200_000, W, WIDTH, 1);
    expect(b).toHaveLength(1);
  });

  it("should never admit more than the limit in any window of its length (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1_000, max: 120_000 }),
        fc.integer({ min: 2, max: 30 }),
        (raw, limit, windowMs, buckets) => {
          const times = [...raw].sort((a, b) => a - b);
          const admitted = simulate(times, limit, windowMs, buckets);
          // The count over (t − W, t] peaks at an admitted event, so checking those is enough.
          let lo = 0;
          for (let hi = 0; hi < admitted.length; hi++) {
            const t = admitted[hi] ?? 0;
            while ((admitted[lo] ?? 0) <= t - windowMs) lo++;
            expect(hi - lo + 1).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("should make msUntilFits exact: fits after that wait, not a millisecond before (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 120_000 }), n: fc.integer({ min: 1, max: 50 }) }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 300 }),
        (events, limit, amount) => {
          let b: Bucket[] = [];
          for (const e of [...events].sort((x, y) => x.t - y.t)) b = record(b, e.t, W, WIDTH, e.n);
          const now = 120_000;
          const wait = msUntilFits(b, now, W, limit, amount);
          if (amount > limit) {
            expect(wait).toBe(Number.POSITIVE_INFINITY);
            return;
          }
          expect(Number.isFinite(wait)).toBe(true);
          expect(fits(windowUsage(b, now + wait, W), limit, amount)).toBe(true);
          if (wait > 0) expect(fits(windowUsage(b, now + wait - 1, W), limit, amount)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("a member's share of a cluster cap", () => {
  it("should pace a fractional share to one request per window ÷ share", () => {
    const windowMs = 60_000;
    // 100 requests per window over 400 members: one request per 4 windows each.
    expect(msUntilClusterShareFits(0.25, [], null, 1_000, windowMs)).toBe(0);
    expect(msUntilClusterShareFits(0.25, [], 1_000, 1_000, windowMs)).toBe(240_000);
    expect(msUntilClusterShareFits(0.25, [], 1_000, 241_000, windowMs)).toBe(0);
  });

  it("should refuse everything at a zero share and act as a window limit from one request up", () => {
    expect(msUntilClusterShareFits(0, [], null, 0, 60_000)).toBe(Number.POSITIVE_INFINITY);
    expect(msUntilClusterShareFits(2.7, [], null, 0, 60_000)).toBe(0);
  });
});
