import { describe, expect, it } from "vitest";
import { synchrony, type StartHistogram } from "../../../lib/cluster/synchrony.ts";

/** A deterministic PRNG so "random" human timing is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("timing synchrony", () => {
  it("should be near 1 for accounts fired by one scheduler", () => {
    const ticks = [0, 5, 10, 15, 20, 25, 30, 35];
    const histograms: StartHistogram[] = Array.from({ length: 20 }, () => ticks.map((t) => [1_000 + t, 1] as [number, number]));
    expect(synchrony(histograms)?.value).toBeGreaterThan(0.95);
  });

  it("should be near 0 for independent humans", () => {
    const random = rng(42);
    const histograms: StartHistogram[] = Array.from({ length: 20 }, () => {
      const seconds = new Map<number, number>();
      for (let i = 0; i < 6; i++) {
        const s = 1_000 + Math.floor(random() * 60);
        seconds.set(s, (seconds.get(s) ?? 0) + 1);
      }
      return [...seconds.entries()];
    });
    expect(synchrony(histograms)?.value).toBeLessThan(0.2);
  });

  it("should have no opinion with fewer than two accounts carrying evidence", () => {
    expect(synchrony([])).toBeNull();
    expect(synchrony([[[1, 3]]])).toBeNull();
    expect(synchrony([[[1, 1]], [[2, 1]]])).toBeNull();
  });
});
