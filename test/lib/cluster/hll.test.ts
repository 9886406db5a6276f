import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HyperLogLog } from "../../../lib/cluster/hll.ts";

describe("HyperLogLog", () => {
  it("should estimate distinct counts within a few percent", () => {
    for (const n of [1, 10, 200, 2_000, 24_000]) {
      const hll = new HyperLogLog();
      for (let i = 0; i < n; i++) hll.add(`account-${i}`);
      const error = Math.abs(hll.estimate() - n) / n;
      expect(error).toBeLessThan(0.05);
    }
  });

  it("should not count repeats", () => {
    const hll = new HyperLogLog();
    for (let r = 0; r < 50; r++) for (let i = 0; i < 100; i++) hll.add(`a${i}`);
    expect(Math.abs(hll.estimate() - 100)).toBeLessThanOrEqual(2);
  });

  it("should merge to the estimate of the union", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 1_000 }), (a, b, overlap) => {
        const left = new HyperLogLog();
        const right = new HyperLogLog();
        const union = new HyperLogLog();
        for (let i = 0; i < a; i++) {
          left.add(`x${i}`);
          union.add(`x${i}`);
        }
        for (let i = a - Math.min(overlap, a); i < a - Math.min(overlap, a) + b; i++) {
          right.add(`x${i}`);
          union.add(`x${i}`);
        }
        left.merge(right);
        expect(left.estimate()).toBe(union.estimate());
      }),
      { numRuns: 20 },
    );
  });

  it("should survive a round trip through its registers", () => {
    const hll = new HyperLogLog();
    for (let i = 0; i < 500; i++) hll.add(`k${i}`);
    const copy = new HyperLogLog(new Uint8Array(hll.registers.buffer.slice(0)));
    expect(copy.estimate()).toBe(hll.estimate());
  });
});
