import { describe, expect, it } from "vitest";
import { emptyCounts, metricsFrom } from "../../../lib/cluster/rollup.ts";

function counts(requests: number, bands: Record<string, number>) {
  return { ...emptyCounts(), requests, bands };
}

describe("key metrics from rolled-up counts", () => {
  const base = { accounts: 100, requestsPerWindow: 500, synchrony: 0, pivotModel: null };

  it("should not call a template band key templated for sharing its own band", () => {
    // 100 honest prompts that collide on one band and share nothing else.
    const bands: Record<string, number> = { "tpl:1:abcd": 100 };
    for (let i = 0; i < 100; i++) bands[`tpl:0:${i.toString(16).padStart(4, "0")}`] = 1;
    const m = metricsFrom({ ...base, key: "tpl:1:abcd", windowCounts: counts(100, bands) });
    expect(m.templateShare).toBeCloseTo(0.01);
  });

  it("should call a template band key templated when its requests share other bands too", () => {
    const m = metricsFrom({ ...base, key: "tpl:1:abcd", windowCounts: counts(100, { "tpl:1:abcd": 100, "tpl:3:33e1": 80, "tpl:0:e4bf": 55 }) });
    expect(m.templateShare).toBeCloseTo(0.8);
    expect(m.topBands).toEqual(["tpl:1:abcd", "tpl:3:33e1", "tpl:0:e4bf"]);
  });

  it("should count every band for keys that are not bands", () => {
    const m = metricsFrom({ ...base, key: "asn:16276", windowCounts: counts(100, { "tpl:1:abcd": 90, "tpl:0:0000": 10 }) });
    expect(m.templateShare).toBeCloseTo(0.9);
  });
});
