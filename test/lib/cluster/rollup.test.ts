import { describe, expect, it } from "vitest";
import { emptyCounts, mergeCounts, metricsFrom } from "../../../lib/cluster/rollup.ts";

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

describe("verdict evidence from rolled-up counts", () => {
  const base = { key: "system:abcd", accounts: 100, requestsPerWindow: 500, synchrony: 0, pivotModel: null };

  it("should leave evidence no account reported unknown", () => {
    const m = metricsFrom({ ...base, windowCounts: counts(100, {}) });
    for (const field of ["hostingShare", "clientHomogeneity", "systemPromptShare", "newAccountBurst", "paymentsPerAccount", "volumeRatio"]) {
      expect(m).not.toHaveProperty(field);
    }
  });

  it("should turn hosting, client, prompt and creation counts into shares of the key's requests", () => {
    const windowCounts = {
      ...counts(200, {}),
      hosting: 150,
      clients: { "tls+sdk:a": 180, "tls+sdk:b": 20 },
      systems: { "system:abcd": 190 },
      created: { "81234": 120, "80001": 30 },
    };
    const m = metricsFrom({ ...base, windowCounts, distinctPayments: 5, volume: { activeAccounts: 50, honestRequestsPerAccount: 2 } });
    expect(m).toMatchObject({ hostingShare: 0.75, clientHomogeneity: 0.9, systemPromptShare: 0.95, newAccountBurst: 0.6, paymentsPerAccount: 0.05, volumeRatio: 5 });
  });

  it("should merge the evidence counts of two deltas, bounded like bands", () => {
    const into = { ...emptyCounts(), requests: 2, hosting: 1, clients: { a: 2 } };
    mergeCounts(into, { ...emptyCounts(), requests: 3, hosting: 3, clients: { a: 1, b: 2 }, systems: { s: 3 }, created: { "1": 3 } }, { bands: 1, models: 1, profiles: 2 });
    expect(into).toMatchObject({ requests: 5, hosting: 4, clients: { a: 3, b: 2 }, systems: { s: 3 }, created: { "1": 3 } });
    mergeCounts(into, { ...emptyCounts(), clients: { c: 9 } }, { bands: 1, models: 1, profiles: 2 });
    expect(into.clients).toEqual({ a: 3, b: 2 });
    // A delta without the evidence leaves what is known as it was.
    mergeCounts(into, { ...emptyCounts(), requests: 1 });
    expect(into.hosting).toBe(4);
  });
});
