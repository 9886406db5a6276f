import { describe, expect, it } from "vitest";
import { sampleIndices } from "../../worker/fingerprint.ts";

describe("the sample of a big batch's requests that is fingerprinted", () => {
  it("Should take every request of a batch within the bound", () => {
    expect(sampleIndices(5, 128)).toEqual([0, 1, 2, 3, 4]);
  });

  it("Should take the bound's worth of distinct requests, in order, from anywhere in a bigger batch", () => {
    const seen = new Set<number>();
    for (let run = 0; run < 50; run++) {
      const sample = sampleIndices(1_000, 128);
      expect(sample).toHaveLength(128);
      expect(new Set(sample).size).toBe(128);
      expect([...sample].sort((a, b) => a - b)).toEqual(sample);
      for (const i of sample) {
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(1_000);
        seen.add(i);
      }
    }
    // 50 samples of 128 out of 1,000 leave a given index out with probability ~0.1 %: a fixed sample would cover 128.
    expect(seen.size).toBeGreaterThan(900);
  });
});
