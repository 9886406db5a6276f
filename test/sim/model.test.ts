import { describe, expect, it } from "vitest";
import { CONFIRMED_FORWARD_INTERVALS } from "../../lib/cluster/collector.ts";
import { rollupIntervals } from "../../sim/model.ts";

describe("rollupIntervals (the DO load model's roll-ups of one key from one collector)", () => {
  it("should roll up every interval with data while the key is not confirmed", () => {
    expect(rollupIntervals([3, 1, 2, 7], Number.POSITIVE_INFINITY)).toEqual([1, 2, 3, 7]);
  });

  it("should hold a confirmed key's data and forward it every CONFIRMED_FORWARD_INTERVALS", () => {
    expect(CONFIRMED_FORWARD_INTERVALS).toBe(5);
    const every = Array.from({ length: 12 }, (_, i) => i);
    // 0 and 1 before the verdict; then held: forwarded at 6 (5 after 1) and 11, the data in between summed.
    expect(rollupIntervals(every, 2)).toEqual([0, 1, 6, 11]);
  });

  it("should forward held data when its wait is over even if nothing new arrives, and sparse data at once", () => {
    expect(rollupIntervals([2, 3, 20], 0)).toEqual([2, 7, 20]);
    expect(rollupIntervals([2, 20, 40], 0)).toEqual([2, 20, 40]);
    // Held data still goes out after the last interval seen.
    expect(rollupIntervals([2, 3], 0)).toEqual([2, 7]);
  });
});
