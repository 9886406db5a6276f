import { describe, expect, it } from "vitest";
import { type KeyCounts, MAX_PAYMENTS_PER_DELTA, ReportBuffer } from "../../../lib/cluster/report.ts";
import { emptyCounts, honestBaseline, mergeCounts, metricsFrom, paymentsSaturated } from "../../../lib/cluster/rollup.ts";

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
      paid: 200,
    };
    const m = metricsFrom({ ...base, windowCounts, distinctPayments: 5, volume: { activeAccounts: 50, honestRequestsPerAccount: 2 } });
    expect(m).toMatchObject({ hostingShare: 0.75, clientHomogeneity: 0.9, systemPromptShare: 0.95, newAccountBurst: 0.6, paymentsPerAccount: 0.05, volumeRatio: 5 });
  });

  it("should hold a key's members to the honest pace of their own tiers", () => {
    const perTier = { free: 1.5, scale: 6 };
    const volume = { activeAccounts: 50, honestRequestsPerAccount: 2, perTier };
    const ratio = (windowCounts: KeyCounts) => metricsFrom({ ...base, requestsPerWindow: 200, windowCounts, volume }).volumeRatio;
    // 4 requests per member: twice the flat baseline, but 2.67 times an honest free account's pace.
    expect(ratio({ ...counts(200, {}), tiers: { free: 200 } })).toBeCloseTo(4 / 1.5, 6);
    // The same pace from scale accounts running products is under their tier's honest pace.
    expect(ratio({ ...counts(200, {}), tiers: { scale: 200 } })).toBeCloseTo(4 / 6, 6);
    // A mix: the members' common ratio r solves 150/(1.5 r) + 50/(6 r) = 50 accounts.
    expect(ratio({ ...counts(200, {}), tiers: { free: 150, scale: 50 } })).toBeCloseTo((150 / 1.5 + 50 / 6) / 50, 6);
    // A tier the policy lists no pace for, and requests of no reported tier, take the flat baseline.
    expect(ratio({ ...counts(200, {}), tiers: { build: 200 } })).toBeCloseTo(2, 6);
    expect(ratio({ ...counts(200, {}), tiers: { free: 100 } })).toBeCloseTo((100 / 1.5 + 100 / 2) / 50, 6);
    expect(ratio(counts(200, {}))).toBeCloseTo(2, 6);
    expect(honestBaseline({ ...counts(0, {}), tiers: {} }, 2, perTier)).toBe(2);
  });

  it("should merge requests per tier like the other profiles, and keep counts stored before tiers were reported", () => {
    const stored: KeyCounts = { ...emptyCounts(), requests: 4 };
    mergeCounts(stored, { ...emptyCounts(), requests: 3, tiers: { free: 2, build: 1 } });
    mergeCounts(stored, { ...emptyCounts(), requests: 1, tiers: { free: 1 } });
    expect(stored).toMatchObject({ requests: 8, tiers: { free: 3, build: 1 } });
  });

  it("should read shared payment only where nearly every request carries a card", () => {
    // Accounts without a card on file are not accounts sharing one.
    const cards = (paid: number) => metricsFrom({ ...base, windowCounts: { ...counts(200, {}), paid }, distinctPayments: 10 }).paymentsPerAccount;
    expect(cards(200)).toBeCloseTo(0.1);
    expect(cards(190)).toBeCloseTo(0.1);
    expect(cards(120)).toBeUndefined();
    expect(metricsFrom({ ...base, windowCounts: { ...counts(200, {}), paid: 200 } }).paymentsPerAccount).toBeUndefined();
  });

  it("should keep a delta's cards up to the bound and say when it is full", () => {
    const into = emptyCounts();
    const many = Object.fromEntries(Array.from({ length: MAX_PAYMENTS_PER_DELTA + 10 }, (_, i) => [`payment:${i}`, 1]));
    mergeCounts(into, { ...emptyCounts(), requests: 3, paid: 3, payments: { "payment:a": 2, "payment:b": 1 } });
    expect(into).toMatchObject({ paid: 3, payments: { "payment:a": 2, "payment:b": 1 } });
    expect(paymentsSaturated(into.payments)).toBe(false);
    mergeCounts(into, { ...emptyCounts(), payments: many });
    expect(Object.keys(into.payments ?? {})).toHaveLength(MAX_PAYMENTS_PER_DELTA);
    expect(paymentsSaturated(into.payments)).toBe(true);
    expect(paymentsSaturated(undefined)).toBe(false);
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

describe("wrapper counts per key", () => {
  const base = { accounts: 300, requestsPerWindow: 1_800, synchrony: 0, pivotModel: null };
  const WRAP = "wrap:s:0123456789abcdef";

  it("Should count each request's wrapper keys under every key it carries, from the keys alone", () => {
    const buffer = new ReportBuffer();
    for (let i = 0; i < 3; i++) buffer.add({ at: i, keys: ["asn:1", WRAP], bands: [], model: "m", inputTokens: 1, outputTokens: 1, elicited: false });
    buffer.add({ at: 9, keys: ["asn:1"], bands: [], model: "m", inputTokens: 1, outputTokens: 1, elicited: false });
    const report = buffer.drain("a");
    expect(report?.keys["asn:1"]?.wrappers).toEqual({ [WRAP]: 3 });
    expect(report?.keys[WRAP]?.wrappers).toEqual({ [WRAP]: 3 });
  });

  it("Should merge counts stored before wrappers existed without losing either side", () => {
    const stored: KeyCounts = { requests: 5, inputTokens: 0, outputTokens: 0, elicited: 0, bands: {}, models: {} };
    mergeCounts(stored, { ...emptyCounts(), requests: 2, wrappers: { [WRAP]: 2 } });
    expect(stored.wrappers).toEqual({ [WRAP]: 2 });
    const fresh = { ...emptyCounts(), wrappers: { [WRAP]: 1 } };
    mergeCounts(fresh, { requests: 1, inputTokens: 0, outputTokens: 0, elicited: 0, bands: {}, models: {} });
    expect(fresh.wrappers).toEqual({ [WRAP]: 1 });
  });

  it("Should keep a campaign's wrapper on a broad key that honest prompts flood with their own", () => {
    // A hosting ASN: each delta brings 100 honest requests with a fresh wrapper each; from the sixth
    // on, 40 campaign requests too, by when first-come slots would long be full.
    const into = emptyCounts();
    for (let delta = 0; delta < 50; delta++) {
      const campaign = delta >= 5 ? 40 : 0;
      const wrappers: Record<string, number> = {};
      for (let i = 0; i < 100; i++) wrappers[`wrap:p:${(delta * 100 + i).toString(16).padStart(16, "0")}`] = 1;
      if (campaign > 0) wrappers[WRAP] = campaign;
      mergeCounts(into, { ...emptyCounts(), requests: 100 + campaign, wrappers });
    }
    expect(Object.keys(into.wrappers ?? {}).length).toBeLessThanOrEqual(64);
    const m = metricsFrom({ ...base, key: "asn:16276", windowCounts: into });
    expect(m.topWrappers?.[0]).toBe(WRAP);
    // 1,800 of 6,800 requests; the summary may undercount by at most requests / 65.
    expect(m.wrapperShare).toBeGreaterThan(1_800 / 6_800 - 1 / 65);
    expect(m.wrapperShare).toBeLessThanOrEqual(1_800 / 6_800);
  });

  it("Should measure a wrapper key's concentration on the wrappers it shares besides its own", () => {
    const counts = { ...emptyCounts(), requests: 100, wrappers: { [WRAP]: 100, "wrap:p:1111111111111111": 95 } };
    const m = metricsFrom({ ...base, key: WRAP, windowCounts: counts });
    expect(m.wrapperShare).toBeCloseTo(0.95);
    expect(m.topWrappers).toEqual([WRAP, "wrap:p:1111111111111111"]);
    const honest = metricsFrom({ ...base, key: WRAP, windowCounts: { ...emptyCounts(), requests: 100, wrappers: { [WRAP]: 100 } } });
    expect(honest.wrapperShare).toBe(0);
  });
});

describe("a key's share of its members' traffic in the metrics", () => {
  const base = { key: "system:abcd", accounts: 40, synchrony: 0, pivotModel: null };

  it("should read the key's requests over its members' as memberShare, summed across deltas", () => {
    // The second delta's accounts carried the key for the first time: counted, not measured.
    const into = { ...emptyCounts(), requests: 10, members: 40, membersKeyed: 10 };
    mergeCounts(into, { ...emptyCounts(), requests: 15, members: 60, membersKeyed: 15 });
    mergeCounts(into, { ...emptyCounts(), requests: 5 });
    expect(into).toMatchObject({ requests: 30, members: 100, membersKeyed: 25 });
    expect(metricsFrom({ ...base, requestsPerWindow: 30, windowCounts: into }).memberShare).toBeCloseTo(0.25);
  });

  it("Should read campaignMemberShare over the requests checked while a campaign stood, summed across deltas", () => {
    const into = { ...emptyCounts(), requests: 10 };
    mergeCounts(into, { ...emptyCounts(), requests: 20, campaignChecked: 20, campaignMembers: 15 });
    mergeCounts(into, { ...emptyCounts(), requests: 10, campaignChecked: 10, campaignMembers: 9 });
    expect(into).toMatchObject({ requests: 40, campaignChecked: 30, campaignMembers: 24 });
    // The 10 requests from before any confirmation are not counted against the campaign's share.
    expect(metricsFrom({ ...base, requestsPerWindow: 40, windowCounts: into }).campaignMemberShare).toBeCloseTo(0.8);
    expect(metricsFrom({ ...base, requestsPerWindow: 10, windowCounts: counts(10, {}) })).not.toHaveProperty("campaignMemberShare");
  });

  it("should leave memberShare unknown for counts stored before members were reported", () => {
    expect(metricsFrom({ ...base, requestsPerWindow: 25, windowCounts: counts(25, {}) })).not.toHaveProperty("memberShare");
  });

  it("should measure volume by the members' traffic, not the key's, so a pooled prompt's members are not light users", () => {
    const volume = { activeAccounts: 40, honestRequestsPerAccount: 2 };
    // 20 requests on the key from 40 accounts that made 200 in all: 5 each, 2.5 times an honest account's pace.
    const m = metricsFrom({ ...base, requestsPerWindow: 20, windowCounts: { ...counts(20, {}), members: 200, membersKeyed: 20 }, volume });
    expect(m.volumeRatio).toBeCloseTo(2.5);
    expect(metricsFrom({ ...base, requestsPerWindow: 20, windowCounts: counts(20, {}), volume }).volumeRatio).toBeCloseTo(0.25);
  });
});
