import { describe, expect, it } from "vitest";
import { ActiveAccounts } from "../../../lib/cluster/active.ts";
import { CREATION_BUCKET_MS, creationBucket, ReportBuffer, reportDueAt, requestEvidence, type ReportedRequest } from "../../../lib/cluster/report.ts";
import { DEFAULT_POLICY, validatePolicy } from "../../../lib/policy/index.ts";

const request: ReportedRequest = { at: 1_000, keys: ["asn:1", "tls+sdk:c"], bands: [], model: "m", inputTokens: 10, outputTokens: 20, elicited: false };

describe("account reports of verdict evidence", () => {
  it("should count hosting, client, system prompt and creation bucket per key", () => {
    const buffer = new ReportBuffer();
    const created = creationBucket(5 * CREATION_BUCKET_MS + 1);
    buffer.add({ ...request, hosting: true, client: "tls+sdk:c", system: "system:s", created });
    buffer.add({ ...request, hosting: false, client: "tls+sdk:c", system: null, created });
    const report = buffer.drain("acct");
    expect(report?.keys["asn:1"]).toMatchObject({ requests: 2, hosting: 1, clients: { "tls+sdk:c": 2 }, systems: { "system:s": 1 }, created: { "5": 2 } });
  });

  it("should report no evidence field for facts the account did not know", () => {
    const buffer = new ReportBuffer();
    buffer.add(request);
    const counts = buffer.drain("acct")?.keys["asn:1"];
    expect(counts).toBeDefined();
    for (const field of ["hosting", "clients", "systems", "created", "paid", "payments", "tiers"]) expect(counts).not.toHaveProperty(field);
  });

  it("should put accounts created hours apart in one creation bucket and days apart in different ones", () => {
    const t = 100 * CREATION_BUCKET_MS;
    expect(creationBucket(t + 1)).toBe(creationBucket(t + CREATION_BUCKET_MS - 1));
    expect(creationBucket(t)).not.toBe(creationBucket(t + 4 * CREATION_BUCKET_MS));
  });
});

describe("a request's verdict evidence at the account object", () => {
  const listed = (() => {
    const result = validatePolicy({ regions: { asnCategories: { hosting: [64500] }, asnAction: "allow" } });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.policy;
  })();
  const keys = ["asn:64500", "tls:t", "sdk:s", "tls+sdk:c", "system:p", "wrap:p:0123456789abcdef"];

  it("should take the combined client key first, then TLS, then SDK, and the request's system prompt key", () => {
    expect(requestEvidence({ keys, signals: [] }, undefined, listed)).toMatchObject({ client: "tls+sdk:c", system: "system:p" });
    expect(requestEvidence({ keys: ["sdk:s", "tls:t"], signals: [] }, undefined, listed)).toMatchObject({ client: "tls:t", system: null });
    expect(requestEvidence({ keys: ["sdk:s"], signals: [] }, undefined, listed).client).toBe("sdk:s");
  });

  it("should read hosting from the edge's ASN signals or the listed ASN, and as unknown when the policy lists no ASN", () => {
    // asnAction "allow" raises no signal: the listed ASN still says where the request came from.
    expect(requestEvidence({ keys, signals: [] }, undefined, listed).hosting).toBe(true);
    expect(requestEvidence({ keys: ["asn:7"], signals: ["vpn_asn"] }, undefined, listed).hosting).toBe(true);
    expect(requestEvidence({ keys: ["asn:7"], signals: ["tor"] }, undefined, listed).hosting).toBe(false);
    const unlisted = validatePolicy({ regions: { asnCategories: { hosting: [], vpn: [], residentialProxy: [] } } });
    if (!unlisted.ok) throw new Error(JSON.stringify(unlisted.problems));
    expect(requestEvidence({ keys, signals: ["hosting_asn"] }, undefined, unlisted.policy).hosting).toBeUndefined();
    // The default lists name the well-known clouds.
    expect(requestEvidence({ keys: ["asn:16509"], signals: [] }, undefined, DEFAULT_POLICY).hosting).toBe(true);
    expect(requestEvidence({ keys: ["asn:7922"], signals: [] }, undefined, DEFAULT_POLICY).hosting).toBe(false);
  });

  it("should take the account's payment key from the request's keys, and count cards per key", () => {
    expect(requestEvidence({ keys: [...keys, "payment:00ff"], signals: [] }, undefined, listed).payment).toBe("payment:00ff");
    expect(requestEvidence({ keys, signals: [] }, undefined, listed).payment).toBeNull();
    const buffer = new ReportBuffer();
    buffer.add({ ...request, payment: "payment:00ff" });
    buffer.add({ ...request, payment: "payment:00ff" });
    buffer.add(request);
    expect(buffer.drain("acct")?.keys["asn:1"]).toMatchObject({ requests: 3, paid: 2, payments: { "payment:00ff": 2 } });
  });

  it("should resolve the account's tier as the quota does and count requests per tier under every key", () => {
    expect(requestEvidence({ keys, signals: [] }, undefined, listed, "scale").tier).toBe("scale");
    // A tier the policy does not define is limited as the default tier, so it is counted as that one.
    expect(requestEvidence({ keys, signals: [] }, undefined, listed, "platinum").tier).toBe(listed.defaultTier);
    expect(requestEvidence({ keys, signals: [] }, undefined, listed, "constructor").tier).toBe(listed.defaultTier);
    const buffer = new ReportBuffer();
    buffer.add({ ...request, tier: "free" });
    buffer.add({ ...request, tier: "free" });
    buffer.add({ ...request, tier: "scale" });
    const report = buffer.drain("acct");
    expect(report?.keys["asn:1"]?.tiers).toEqual({ free: 2, scale: 1 });
    expect(report?.keys["tls+sdk:c"]?.tiers).toEqual({ free: 2, scale: 1 });
  });

  it("should bucket a known creation time and leave an unknown one out", () => {
    const at = 42 * CREATION_BUCKET_MS + 5;
    expect(requestEvidence({ keys, signals: [] }, at, listed).created).toBe(creationBucket(at));
    expect(requestEvidence({ keys, signals: [] }, 0, listed).created).toBeNull();
    expect(requestEvidence({ keys, signals: [] }, undefined, listed).created).toBeNull();
  });
});

describe("accounts active in the window", () => {
  const WINDOW = 60_000;

  it("should count the accounts of the current and previous window, not those of older ones", () => {
    const t0 = 10 * WINDOW;
    const active = new ActiveAccounts(t0);
    active.add(Array.from({ length: 30 }, (_, i) => `old${i}`), t0, WINDOW);
    active.add(Array.from({ length: 40 }, (_, i) => `a${i}`), t0 + WINDOW, WINDOW);
    active.add(Array.from({ length: 40 }, (_, i) => `a${i}`), t0 + 2 * WINDOW + 5, WINDOW);
    // Slow members report in few intervals; each is counted once per window however often it reports.
    expect(active.estimate(t0 + 2 * WINDOW + 10, WINDOW, t0)).toBe(40);
  });

  it("should answer unknown until this instance has watched a whole window, unless it saw the key's first roll-up", () => {
    const t0 = 10 * WINDOW;
    const late = new ActiveAccounts(t0 + WINDOW / 2);
    late.add(["a", "b"], t0 + WINDOW / 2, WINDOW);
    expect(late.estimate(t0 + WINDOW / 2, WINDOW, t0)).toBeNull();
    expect(late.estimate(t0 + 2 * WINDOW + 1, WINDOW, t0)).toBe(0);
    const fromStart = new ActiveAccounts(t0);
    fromStart.add(["a", "b"], t0, WINDOW);
    expect(fromStart.estimate(t0 + 1, WINDOW, t0)).toBe(2);
  });
});

describe("a key's share of its members' traffic", () => {
  const campaign = { ...request, keys: ["tls+sdk:c", "system:campaign"] };
  const ordinary = { ...request, keys: ["tls+sdk:c"] };

  it("should count against a key the account's requests since it last carried the key, across reports", () => {
    const buffer = new ReportBuffer();
    buffer.add(campaign);
    // The first report on a key measures nothing: the object's older traffic says nothing of the key's.
    expect(buffer.drain("acct")?.keys["system:campaign"]).not.toHaveProperty("members");
    // A pooled reseller account: two reports of ordinary customers only, then the campaign's prompt again.
    for (const report of [[ordinary, ordinary], [ordinary], [campaign, ordinary]]) {
      for (const r of report) buffer.add(r);
      const drained = buffer.drain("acct");
      if (report.includes(campaign)) expect(drained?.keys["system:campaign"]).toMatchObject({ requests: 1, members: 5, membersKeyed: 1 });
      expect(drained?.keys["tls+sdk:c"]).toMatchObject({ members: report.length, membersKeyed: report.length });
    }
  });

  it("should not measure a key carried long ago against the traffic since", () => {
    const buffer = new ReportBuffer();
    buffer.add(campaign);
    buffer.drain("acct");
    for (let i = 0; i < 10; i++) {
      buffer.add(ordinary);
      buffer.drain("acct");
    }
    buffer.add(campaign);
    const counts = buffer.drain("acct")?.keys["system:campaign"];
    expect(counts?.requests).toBe(1);
    expect(counts).not.toHaveProperty("members");
  });
});

describe("when an account's cluster report is due", () => {
  const interval = 10_000;

  it("should report a quiet account's request after the short delay, not a whole interval later", () => {
    // Never reported, or last reported more than an interval ago: the collector hears of it at once.
    expect(reportDueAt(50_000, null, interval, 1_000)).toBe(51_000);
    expect(reportDueAt(50_000, 30_000, interval, 1_000)).toBe(51_000);
  });

  it("should hold a busy account to one report per interval", () => {
    // Reported 4 s ago: the next report waits for the interval to end, as before.
    expect(reportDueAt(50_000, 46_000, interval, 1_000)).toBe(56_000);
    // A request just before the interval ends still gets its short delay, never less than the interval.
    expect(reportDueAt(55_500, 46_000, interval, 1_000)).toBe(56_500);
    for (const at of [46_000, 50_000, 55_999, 56_000, 70_000]) expect(reportDueAt(at, 46_000, interval, 1_000) - 46_000).toBeGreaterThanOrEqual(interval);
  });

  it("should keep the former rule when the delay is the whole interval, and never wait longer than it", () => {
    expect(reportDueAt(50_000, null, interval, interval)).toBe(60_000);
    expect(reportDueAt(50_000, 46_000, interval, interval)).toBe(60_000);
    expect(reportDueAt(50_000, null, interval, 5 * interval)).toBe(60_000);
  });
});
