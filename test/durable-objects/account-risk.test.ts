import { describe, expect, it } from "vitest";
import type { CachedVerdict } from "../../lib/decision.ts";
import { admitRequest, advanceClock, newAccount, testPolicy } from "./account-helpers.ts";

const HOUR = 3_600_000;
const riskPolicy = (input: Parameters<typeof testPolicy>[0] = {}) =>
  testPolicy({
    actions: { tag: 10, degrade: 35, throttle: 60, block: 85 },
    risk: { halfLifeSeconds: 3_600, signalCooldownSeconds: 300, weights: { tor: 50, proxy_asn: 40 } },
    ...input,
  }, { requests: 1_000 });

// A campaign's template shares several bands; one alone would not mark a request as the campaign's.
const CAMPAIGN_BANDS = ["tpl:0:beef", "tpl:2:cafe"];

function verdict(cluster: string, v: CachedVerdict["verdict"], capPerWindow: number | null, decidedAt = Date.now()): CachedVerdict {
  return { cluster, verdict: v, capPerWindow, reasons: ["cluster.synchronized"], decidedAt, signature: { bands: CAMPAIGN_BANDS, eliciting: true } };
}

/** A request of the campaign: it carries the clustered key and the campaign's template bands. */
function campaignRequest(id: string, policy: Parameters<typeof admitRequest>[1], key: string) {
  const base = admitRequest(id, policy);
  return { ...base, fingerprint: { ...base.fingerprint, keys: [key, ...CAMPAIGN_BANDS], elicitation: 0.9 } };
}

describe("AccountDO risk", () => {
  it("should raise risk by signal weights and act on the thresholds", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy();
    const r = await stub.admit(admitRequest(id, policy, { signals: ["tor", "proxy_asn"], reasons: ["region.tor"] }));
    expect(r).toMatchObject({ action: "block", enforced: true, risk: 90, leaseId: null });
    expect(r.reasons).toEqual(["risk.block", "region.tor"]);
    const state = await stub.inspect();
    expect(state.risk.reasons.map((x) => [x.signal, x.points, x.count])).toEqual([["tor", 50, 1], ["proxy_asn", 40, 1]]);
  });

  it("should decay by half each half-life so the account recovers without an operator", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy();
    await stub.admit(admitRequest(id, policy, { signals: ["tor", "proxy_asn"] }));
    await advanceClock(stub, HOUR);
    const one = await stub.admit(admitRequest(id, policy));
    expect(one).toMatchObject({ risk: 45, action: "degrade" });
    await advanceClock(stub, HOUR);
    expect(await stub.admit(admitRequest(id, policy))).toMatchObject({ risk: 22.5, action: "tag" });
    await advanceClock(stub, 2 * HOUR);
    expect(await stub.admit(admitRequest(id, policy))).toMatchObject({ action: "allow" });
    expect((await stub.inspect()).risk.score).toBeCloseTo(5.6, 1);
  });

  it("should count a repeated signal once per cooldown", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy({ risk: { signalCooldownSeconds: 300, weights: { cot_elicitation: 6, hosting_asn: 6 } } });
    for (let i = 0; i < 10; i++) await stub.admit(admitRequest(id, policy, { signals: ["cot_elicitation", "hosting_asn"] }));
    expect((await stub.inspect()).risk.score).toBe(12);
    await advanceClock(stub, 300_000);
    const r = await stub.admit(admitRequest(id, policy, { signals: ["cot_elicitation", "hosting_asn"] }));
    // Behaviour adds up; a standing fact (the hosting network) is only refreshed.
    expect(r.risk).toBeGreaterThan(17);
    expect(r.risk).toBeLessThan(18.1);
    const reasons = (await stub.inspect()).risk.reasons;
    expect(reasons.find((x) => x.signal === "cot_elicitation")).toMatchObject({ count: 2 });
    expect(reasons.find((x) => x.signal === "hosting_asn")).toMatchObject({ count: 2, points: 6 });
  });

  it("should shrink limits as risk rises", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({ risk: { weights: { tor: 60 } }, quota: { riskFloor: 20, minRiskMultiplier: 0.1 } }, { requests: 100 });
    const r = await stub.admit(admitRequest(id, policy, { signals: ["tor"] }));
    expect(r.limits.requests.limit).toBe(55);
  });

  it("should add geo_wander once the account is seen from more countries than policy allows", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy({ regions: { wanderCountries: 2 } });
    const from = (country: string) => admitRequest(id, policy, { fingerprint: { ...admitRequest(id, policy).fingerprint, country } });
    expect((await stub.admit(from("US"))).reasons).not.toContain("region.geo_wander");
    expect((await stub.admit(from("DE"))).reasons).not.toContain("region.geo_wander");
    const third = await stub.admit(from("FR"));
    expect(third.reasons).toContain("region.geo_wander");
    expect(third.risk).toBe(10);

    const exempt = newAccount();
    const exemptPolicy = riskPolicy({ regions: { wanderCountries: 2, exemptAccounts: [exempt.id] } });
    for (const country of ["US", "DE", "FR", "JP"]) {
      const req = admitRequest(exempt.id, exemptPolicy);
      const r = await exempt.stub.admit({ ...req, fingerprint: { ...req.fingerprint, country } });
      expect(r.reasons).not.toContain("region.geo_wander");
    }
  });
});

describe("AccountDO cluster verdicts", () => {
  it("should cap a confirmed cluster member's requests and add the verdict's risk", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy({ risk: { weights: { cluster_verdict: 40 } } });
    await stub.applyClusterVerdicts([verdict("tls:abc", "confirmed", 3)]);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await stub.admit(campaignRequest(id, policy, "tls:abc")));
    expect(results.slice(0, 3).map((r) => r.action)).toEqual(["degrade", "degrade", "degrade"]);
    expect(results[3]).toMatchObject({ action: "throttle", clusters: ["tls:abc"] });
    expect(results[3]?.reasons).toContain("cluster.cap");
    expect(results[0]?.reasons).toContain("cluster.confirmed");
  });

  it("should store several verdicts given at once and read them back the same after an eviction", async () => {
    const { evictDurableObject } = await import("cloudflare:test");
    const { id, stub } = newAccount();
    const now = Date.now();
    await stub.admit(admitRequest(id, riskPolicy()));
    await stub.applyClusterVerdicts([
      { ...verdict("tls:one", "confirmed", 2.5, now - 2_000), refreshedAt: now - 500 },
      verdict("asn:two", "suspect", null, now - 1_000),
      { ...verdict("hdr:three", "confirmed", 0, now), signature: { bands: [], eliciting: false } },
      // More than one statement's worth of rows (100 bound parameters, 7 per verdict).
      ...Array.from({ length: 17 }, (_, i) => verdict(`tpl:${i}:beef`, "suspect", null, now - 3_000)),
    ]);
    const before = (await stub.inspect()).clusters;
    expect(before).toHaveLength(20);
    expect(before.slice(0, 3).map((v) => v.cluster)).toEqual(["tls:one", "asn:two", "hdr:three"]);
    await evictDurableObject(stub);
    // Reloaded oldest decision first; the verdicts themselves are the same.
    const byCluster = (vs: CachedVerdict[]) => [...vs].sort((a, b) => a.cluster.localeCompare(b.cluster));
    expect(byCluster((await stub.inspect()).clusters)).toEqual(byCluster(before));
  });

  it("should treat a suspect verdict as evidence only, and clear a verdict on none", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy({ risk: { weights: { cluster_member: 12 } } });
    await stub.applyClusterVerdicts([verdict("asn:1", "suspect", null)]);
    expect(await stub.admit(campaignRequest(id, policy, "asn:1"))).toMatchObject({ action: "tag", risk: 12, clusters: ["asn:1"] });
    await stub.applyClusterVerdicts([verdict("asn:1", "none", null, Date.now() + 1)]);
    expect((await stub.admit(campaignRequest(id, policy, "asn:1"))).clusters).toEqual([]);
    expect((await stub.inspect()).clusters).toEqual([]);
  });

  it("Should land a suspect verdict on a broad key on the requests a confirmed one would land on, and on no others", async () => {
    const policy = riskPolicy({ risk: { weights: { cluster_member: 10, cluster_verdict: 40 } } });
    const system = "system:00000000000000aa";
    const signature = { bands: CAMPAIGN_BANDS, eliciting: true, systems: [system] };
    const requests: Array<[string, string[], number]> = [
      ["an honest prompt asking for step-by-step reasoning", [], 0.95],
      ["one of the campaign's bands by chance", [CAMPAIGN_BANDS[0] ?? ""], 0.95],
      ["another tool's system prompt", ["system:00000000000000bb"], 0.95],
      ["the campaign's system prompt", [system], 0],
      ["the campaign's template", CAMPAIGN_BANDS, 0],
    ];
    const landed = async (v: CachedVerdict["verdict"]) => {
      const out: Record<string, boolean> = {};
      for (const [what, keys, elicitation] of requests) {
        const { id, stub } = newAccount();
        await stub.applyClusterVerdicts([{ ...verdict("sdk:shared", v, v === "confirmed" ? 5 : null), signature }]);
        const base = admitRequest(id, policy);
        const r = await stub.admit({ ...base, fingerprint: { ...base.fingerprint, keys: ["sdk:shared", ...keys], elicitation } });
        out[what] = r.clusters.includes("sdk:shared");
        // Where nothing lands, the account's risk holds no cluster points.
        if (!out[what]) expect(r.risk).toBe(0);
      }
      return out;
    };
    const suspect = await landed("suspect");
    expect(suspect).toEqual(await landed("confirmed"));
    expect(Object.entries(suspect).filter(([, on]) => on).map(([what]) => what)).toEqual(["the campaign's system prompt", "the campaign's template"]);
  });

  it("should spare a request on a broad clustered key that does not carry the campaign's template", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy({ risk: { weights: { cluster_verdict: 40 } } });
    // A confirmed verdict on an SDK key: a campaign hides among that SDK's honest users. This request
    // shares one of the campaign's bands by chance, as honest prompts of a common shape do.
    await stub.applyClusterVerdicts([verdict("sdk:popular", "confirmed", 0)]);
    const honest = admitRequest(id, policy);
    const mine = await stub.admit({ ...honest, fingerprint: { ...honest.fingerprint, keys: ["sdk:popular", "tpl:0:beef", "tpl:2:0001"], elicitation: 0.9 } });
    expect(mine).toMatchObject({ action: "allow", clusters: [] });
    // The same account sending the campaign's template is capped at once (share 0: nothing gets through).
    const campaign = await stub.admit(campaignRequest(id, policy, "sdk:popular"));
    expect(campaign.action).toBe("throttle");
    expect(campaign.reasons).toContain("cluster.cap");
  });

  it("should ignore stale and out-of-order verdicts", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy();
    await stub.applyClusterVerdicts([verdict("k", "suspect", null, Date.now())]);
    await stub.applyClusterVerdicts([verdict("k", "confirmed", 1, Date.now() - 60_000)]);
    expect((await stub.inspect()).clusters[0]?.verdict).toBe("suspect");
    await advanceClock(stub, policy.risk.verdictTtlSeconds * 1000 + 1);
    expect((await stub.admit(admitRequest(id, policy))).clusters).toEqual([]);
  });

  it("should keep a standing verdict while its cluster restates it, and drop it one TTL after the last restatement", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy();
    const ttlMs = policy.risk.verdictTtlSeconds * 1000;
    const decided = verdict("tls:standing", "confirmed", null, Date.now());
    await stub.applyClusterVerdicts([decided]);
    // The campaign goes on for longer than the TTL; the collector restates the verdict with each report.
    const restatedAt = await advanceClock(stub, ttlMs - 1_000);
    await stub.applyClusterVerdicts([{ ...decided, refreshedAt: restatedAt }]);
    await advanceClock(stub, 2_000);
    expect((await stub.admit(campaignRequest(id, policy, "tls:standing"))).clusters).toEqual(["tls:standing"]);
    await advanceClock(stub, ttlMs);
    expect((await stub.admit(campaignRequest(id, policy, "tls:standing"))).clusters).toEqual([]);
  });
});

describe("AccountDO overrides", () => {
  it("should block on an operator's block, even in shadow mode", async () => {
    const { id, stub } = newAccount();
    await stub.setOverride({ kind: "block", multiplier: null, reason: "abuse report", expiresAt: null, createdAt: Date.now() });
    const r = await stub.admit(admitRequest(id, testPolicy({ mode: "shadow" })));
    expect(r).toMatchObject({ action: "block", enforced: true, leaseId: null, reasons: ["override.block"] });
    await stub.clearOverride("block");
    expect((await stub.admit(admitRequest(id, testPolicy()))).action).toBe("allow");
  });

  it("should let an operator's allow silence risk but not quotas", async () => {
    const { id, stub } = newAccount();
    const policy = riskPolicy();
    await stub.setOverride({ kind: "allow", multiplier: null, reason: "known customer", expiresAt: null, createdAt: Date.now() });
    expect(await stub.admit(admitRequest(id, policy, { signals: ["tor", "proxy_asn"] }))).toMatchObject({ action: "allow", risk: 90 });
    // block and allow exclude each other.
    await stub.setOverride({ kind: "block", multiplier: null, reason: "changed mind", expiresAt: null, createdAt: Date.now() });
    expect((await stub.inspect()).overrides.map((o) => o.kind)).toEqual(["block"]);
  });

  it("should multiply every limit by a quota override until it expires", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy();
    await stub.setOverride({ kind: "quota", multiplier: 0.5, reason: "trial", expiresAt: Date.now() + 60_000, createdAt: Date.now() });
    expect((await stub.admit(admitRequest(id, policy))).limits.requests.limit).toBe(5);
    await advanceClock(stub, 60_000);
    expect((await stub.admit(admitRequest(id, policy))).limits.requests.limit).toBe(10);
    expect((await stub.inspect()).overrides).toEqual([]);
  });
});

describe("AccountDO shadow mode", () => {
  it("should decide but forward and count everything in global shadow mode", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({ mode: "shadow" });
    const results = [];
    for (let i = 0; i < 15; i++) results.push(await stub.admit(admitRequest(id, policy)));
    expect(results.slice(0, 10).every((r) => r.action === "allow" && r.enforced)).toBe(true);
    expect(results.slice(10).every((r) => r.action === "throttle" && !r.enforced && r.leaseId !== null)).toBe(true);
    expect((await stub.inspect()).usage.requests).toBe(15);
  });

  it("should shadow only the rules listed and enforce the others", async () => {
    const { id, stub } = newAccount();
    const quotaShadow = riskPolicy({ shadowRules: ["account_quota"], risk: { weights: { tor: 40 } } });
    for (let i = 0; i < 2; i++) await stub.admit(admitRequest(id, quotaShadow));
    const tight = { ...quotaShadow, tiers: { small: { ...quotaShadow.tiers.small, requests: 2 } } } as typeof quotaShadow;
    const r = await stub.admit(admitRequest(id, tight, { signals: ["tor"] }));
    // Risk 40 → degrade (enforced); the quota throttle is decided but shadowed.
    expect(r).toMatchObject({ action: "degrade", enforced: true });
    expect(r.leaseId).not.toBeNull();
    expect(r.reasons).toContain("shadow.quota.requests");

    const other = newAccount();
    const riskShadow = riskPolicy({ shadowRules: ["risk"] });
    const b = await other.stub.admit(admitRequest(other.id, riskShadow, { signals: ["tor", "proxy_asn"] }));
    expect(b).toMatchObject({ action: "block", enforced: false });
    expect(b.leaseId).not.toBeNull();
  });

  it("should shadow a region deny when the region rule is shadowed", async () => {
    const { id, stub } = newAccount();
    const deny = { reason: "region.country_denied", status: 403 as const };
    expect(await stub.admit(admitRequest(id, testPolicy(), { deny }))).toMatchObject({ action: "block", enforced: true, leaseId: null });
    const shadowed = await stub.admit(admitRequest(id, testPolicy({ shadowRules: ["region"] }), { deny }));
    expect(shadowed).toMatchObject({ action: "block", enforced: false, reasons: ["region.country_denied"] });
    expect(shadowed.leaseId).not.toBeNull();
  });
});

describe("AccountDO verdict cache", () => {
  it("should hold at most 64 verdicts, in memory and in storage, dropping the least recently restated, and reload the same", async () => {
    const { stub } = newAccount();
    const t0 = Date.now() - 100_000;
    const many = Array.from({ length: 70 }, (_, i) => verdict(`tls:${String(i).padStart(2, "0")}`, "suspect", null, t0 + i * 1_000));
    // Two batches, so eviction happens both within a batch and across them.
    await stub.applyClusterVerdicts(many.slice(0, 40));
    await stub.applyClusterVerdicts(many.slice(40));
    const kept = (await stub.inspect()).clusters.map((c) => c.cluster).sort();
    expect(kept).toEqual(many.slice(6).map((v) => v.cluster));
    const { runInDurableObject, evictDurableObject } = await import("cloudflare:test");
    const stored = await runInDurableObject(stub, (_i, s) =>
      s.storage.sql.exec<{ cluster: string }>("SELECT cluster FROM cluster_verdicts ORDER BY cluster").toArray().map((r) => r.cluster),
    );
    expect(stored).toEqual(kept);
    await evictDurableObject(stub);
    expect((await stub.inspect()).clusters.map((c) => c.cluster).sort()).toEqual(kept);
  });
});
