import { describe, expect, it } from "vitest";
import { kindClass, scoreEvidence, smoothstep, type KeyMetrics } from "../../../lib/cluster/evidence.ts";
import { bigEnough, judgeKey } from "../../../lib/cluster/verdict.ts";
import { DEFAULT_POLICY, validatePolicy, type PolicyInput } from "../../../lib/policy/index.ts";
import { NAMED_CASES, withoutVolume } from "../../../sim/verdict-families.ts";

function policy(input: PolicyInput) {
  const result = validatePolicy(input);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

const quiet: KeyMetrics = { accounts: 200, requestsPerWindow: 1_000, synchrony: 0, templateShare: 0, elicitationShare: 0, pivotModel: null };

// Issue 17's campaign that stayed `suspect` under the two-boolean rule: no synchrony, no template, and
// elicitation just under the scorer's threshold, but hosting exits, one client build and one exact prompt.
const hostedFleet: KeyMetrics = {
  accounts: 295, requestsPerWindow: 1_770, synchrony: 0.05, templateShare: 0.1, elicitationShare: 0.05, pivotModel: null,
  hostingShare: 0.97, clientHomogeneity: 1,
};

describe("the verdict score", () => {
  it("should confirm 295 hosting accounts sharing one exact system prompt and one client build with no behaviour visible", () => {
    const result = judgeKey("system:5f3a", hostedFleet, DEFAULT_POLICY);
    expect(result.verdict).toBe("confirmed");
    expect(result.reasons).toEqual(["cluster.many_accounts", "cluster.high_rate", "cluster.one_client", "cluster.hosting"]);
    expect(result.capPerWindow).toBeCloseTo(DEFAULT_POLICY.clusters.aggregateCapPerWindow / 295);
  });

  it("should not confirm the same fleet on residential exits without a volume ratio, and should with one", () => {
    const residential = { ...hostedFleet, hostingShare: 0.03 };
    expect(judgeKey("system:5f3a", residential, DEFAULT_POLICY).verdict).not.toBe("confirmed");
    expect(judgeKey("system:5f3a", { ...residential, volumeRatio: 6 }, DEFAULT_POLICY).verdict).toBe("confirmed");
  });

  it("should never let one signal confirm a key on its own, at its strongest, with the size gates just met", () => {
    const rules = DEFAULT_POLICY.clusters;
    const floor = { ...quiet, accounts: rules.minAccounts, requestsPerWindow: rules.minRequestsPerWindow };
    const singles: KeyMetrics[] = [
      { ...floor, synchrony: 1 }, { ...floor, templateShare: 1 }, { ...floor, elicitationShare: 1 }, { ...floor, hostingShare: 1 },
      { ...floor, volumeRatio: 1_000 }, { ...floor, pivotModel: "m" }, { ...floor, paymentsPerAccount: 0.001 },
      { ...floor, newAccountBurst: 1 }, { ...floor, wrapperShare: 1 }, { ...floor, clientHomogeneity: 1 }, { ...floor, systemPromptShare: 1 },
      { ...floor, accounts: 1_000_000 }, { ...floor, requestsPerWindow: 1_000_000 },
    ];
    for (const kind of ["system:x", "prefix:x", "tpl:0:x", "tls:x"]) {
      for (const m of singles) expect(judgeKey(kind, m, DEFAULT_POLICY).verdict, `${kind} ${JSON.stringify(m)}`).not.toBe("confirmed");
    }
  });

  it("should not confirm even a huge crowd on one strong behaviour alone", () => {
    const huge = { ...quiet, accounts: 20_000, requestsPerWindow: 100_000 };
    for (const m of [{ ...huge, elicitationShare: 1 }, { ...huge, synchrony: 1 }, { ...huge, templateShare: 1 }]) {
      expect(judgeKey("system:x", m, DEFAULT_POLICY).verdict).not.toBe("confirmed");
    }
  });

  it("should confirm when several moderate signals agree", () => {
    const moderate = { ...quiet, synchrony: 0.5, elicitationShare: 0.25, hostingShare: 0.8, volumeRatio: 4 };
    for (const key of [quiet, { ...quiet, synchrony: 0.5 }, { ...quiet, elicitationShare: 0.25 }, { ...quiet, hostingShare: 0.8 }]) {
      expect(judgeKey("prefix:203.0.113.0/24", key, DEFAULT_POLICY).verdict).not.toBe("confirmed");
    }
    expect(judgeKey("prefix:203.0.113.0/24", moderate, DEFAULT_POLICY).verdict).toBe("confirmed");
  });

  it("should ask a broad key for more evidence than an exact system prompt", () => {
    const m = { ...quiet, templateShare: 0.9, synchrony: 0.8 };
    const broad = scoreEvidence("tls:x", m, DEFAULT_POLICY);
    const exact = scoreEvidence("system:x", m, DEFAULT_POLICY);
    expect(broad.kindClass).toBe("broad");
    expect(exact.kindClass).toBe("content");
    expect(broad.score).toBeLessThan(exact.score);
    const v = DEFAULT_POLICY.clusters.verdict;
    expect(exact.score).toBeGreaterThanOrEqual(v.confirmScore);
    expect(broad.score).toBeLessThan(v.confirmScore);
    expect(broad.score).toBeGreaterThanOrEqual(v.suspectScore);
    // A third behaviour confirms it on the broad key too.
    expect(scoreEvidence("tls:x", { ...m, elicitationShare: 0.6 }, DEFAULT_POLICY).score).toBeGreaterThanOrEqual(v.confirmScore);
  });

  it("should leave the verdict to the score alone, with no two-behaviour floor under it", () => {
    // A tutor prompt is a template and students ask for steps: two behaviours past their markers that a
    // class of established accounts at a human pace shares with a hydra; the score weighs the rest too.
    const course = { ...quiet, accounts: 60, templateShare: 0.6, elicitationShare: 0.5, volumeRatio: 0.6, newAccountBurst: 0.1, hostingShare: 0, clientHomogeneity: 0.4 };
    expect(judgeKey("system:x", course, DEFAULT_POLICY).verdict).not.toBe("confirmed");
    // The same two behaviours from a burst of new accounts on one client build confirm on the score itself.
    const fleet = { ...course, newAccountBurst: 1, clientHomogeneity: 1 };
    const result = judgeKey("system:x", fleet, DEFAULT_POLICY);
    expect(result.verdict).toBe("confirmed");
    expect(result.score).toBeGreaterThanOrEqual(DEFAULT_POLICY.clusters.verdict.confirmScore);
  });

  it("should not relieve a burst of new accounts that sends at an honest per-account pace", () => {
    // A hydra keeping every account under its limits: each sends what an honest account does.
    const burst = { ...quiet, volumeRatio: 0.9, newAccountBurst: 1, hostingShare: 0.95, clientHomogeneity: 1 };
    const volume = scoreEvidence("system:x", burst, DEFAULT_POLICY).evidence.find((e) => e.evidence === "volume");
    expect(volume?.points).toBeCloseTo(0, 6);
    // Half the key's traffic from the burst, on servers and one build: the older half is no more people than the new.
    const half = scoreEvidence("system:x", { ...burst, newAccountBurst: 0.55 }, DEFAULT_POLICY).evidence.find((e) => e.evidence === "volume");
    expect(half?.points).toBeCloseTo(0, 6);
    // From homes, the older half earns relief: half of it at most.
    const home = scoreEvidence("system:x", { ...burst, newAccountBurst: 0.55, hostingShare: 0.05 }, DEFAULT_POLICY).evidence.find((e) => e.evidence === "volume");
    expect(home?.points).toBeLessThan(0);
    expect(home?.points).toBeGreaterThan(-DEFAULT_POLICY.clusters.verdict.volumeRelief);
    expect(half?.points).toBeGreaterThan(-DEFAULT_POLICY.clusters.verdict.volumeRelief);
  });

  it("should still relieve an established crowd at an honest pace, and new accounts that look like people", () => {
    const relief = DEFAULT_POLICY.clusters.verdict.volumeRelief;
    const pointsOf = (m: KeyMetrics) => scoreEvidence("system:x", m, DEFAULT_POLICY).evidence.find((e) => e.evidence === "volume")?.points;
    // An office of 40 seats on one tool behind its NAT, accounts years old: nearly full relief, even on one client.
    const office = { ...quiet, accounts: 40, volumeRatio: 0.8, newAccountBurst: 0.1, hostingShare: 0, clientHomogeneity: 1 };
    expect(pointsOf(office)).toBeLessThan(-0.85 * relief);
    // And on several clients behind a cloud security proxy.
    expect(pointsOf({ ...office, hostingShare: 1, clientHomogeneity: 0.5 })).toBeLessThan(-0.85 * relief);
    // Hundreds of aged accounts on one build, one prompt and a few cards are one operator's fleet: the
    // honest pace is how it stays under limits, and it keeps little of the relief.
    const fleet = { ...office, accounts: 400, wrapperShare: 0.9, paymentsPerAccount: 0.1 };
    expect(pointsOf(fleet)).toBeGreaterThan(-0.35 * relief);
    // An established crowd of hundreds on diverse clients and cards keeps most of it.
    expect(pointsOf({ ...fleet, clientHomogeneity: 0.4, wrapperShare: 0, paymentsPerAccount: 1 })).toBeLessThan(-0.85 * relief);
    // A class that signed up this week, each student on their own machine at home, unsynchronised.
    expect(pointsOf({ ...quiet, volumeRatio: 0.8, newAccountBurst: 1, hostingShare: 0.05, clientHomogeneity: 0.4, synchrony: 0.1 })).toBeCloseTo(-relief, 3);
    // The same new accounts on servers, or on one client build, or in lockstep, are not people.
    for (const fleet of [{ hostingShare: 0.95 }, { clientHomogeneity: 1 }, { synchrony: 0.7 }]) {
      expect(pointsOf({ ...quiet, volumeRatio: 0.8, newAccountBurst: 1, hostingShare: 0.05, clientHomogeneity: 0.4, synchrony: 0.1, ...fleet })).toBeCloseTo(0, 3);
    }
    // Unknown network or client: only history earns relief.
    expect(pointsOf({ ...quiet, volumeRatio: 0.8, newAccountBurst: 1 })).toBeCloseTo(0, 3);
  });

  it("should not relieve aged accounts on servers and one client build: age alone is no evidence of people", () => {
    const pointsOf = (m: KeyMetrics) => scoreEvidence("tls+sdk:x", m, DEFAULT_POLICY).evidence.find((e) => e.evidence === "volume")?.points;
    // Bought aged: no burst of new accounts, at an honest pace, one build half on hosting exits. The key is the
    // client, so only the network can say people; at 57 % hosting it says servers and proxies.
    const aged = { ...quiet, accounts: 60, volumeRatio: 0.8, newAccountBurst: 0, hostingShare: 0.57, clientHomogeneity: 1 };
    expect(pointsOf(aged)).toBeCloseTo(0, 6);
    expect(scoreEvidence("system:x", aged, DEFAULT_POLICY).evidence.find((e) => e.evidence === "volume")?.points).toBeCloseTo(0, 6);
    // The same accounts from homes keep the relief their history earns.
    expect(pointsOf({ ...aged, hostingShare: 0.05 })).toBeLessThan(-0.85 * DEFAULT_POLICY.clusters.verdict.volumeRelief);
  });

  // tune-aged-fleet's strongest key at the end of the quick evaluation (seed 1): 224 bought aged accounts on one
  // build, one prompt on 91 %, 59 % of the traffic on servers, 5-6 accounts a card, at an honest pace, the scorer
  // seeing 8 % of its elicitation. It stayed suspect at 0.816: the cap on belonging together held it.
  const agedFleet: KeyMetrics = {
    accounts: 224, requestsPerWindow: 257, synchrony: 0.078, templateShare: 0.206, elicitationShare: 0.079, pivotModel: null,
    hostingShare: 0.59, systemPromptShare: 0.907, clientHomogeneity: 1, paymentsPerAccount: 0.179, newAccountBurst: 0.005, volumeRatio: 0.765,
  };
  const togetherPoints = (key: string, m: KeyMetrics) =>
    scoreEvidence(key, m, DEFAULT_POLICY).evidence.filter((e) => ["template", "system_prompt", "wrapper", "client", "payment"].includes(e.evidence)).reduce((n, e) => n + e.points, 0);

  it("should confirm hundreds of aged accounts on one build, mostly on servers, at an honest pace", () => {
    expect(judgeKey("wrap:s:4324", agedFleet, DEFAULT_POLICY).verdict).toBe("confirmed");
    expect(togetherPoints("wrap:s:4324", agedFleet)).toBeGreaterThan(DEFAULT_POLICY.clusters.verdict.commonalityCap);
  });

  it("should not lift the cap on belonging together for a crowd on its own clients, at home, or of an office's size", () => {
    const capped = (key: string, m: KeyMetrics, accountsCurve: number) =>
      expect(togetherPoints(key, m)).toBeCloseTo(DEFAULT_POLICY.clusters.verdict.commonalityCap * (0.5 + 0.5 * accountsCurve), 2);
    const curveAt = (accounts: number) => smoothstep(Math.log(accounts), Math.log(DEFAULT_POLICY.clusters.minAccounts), Math.log(1_000));
    // A class on its own laptops, the same fleet from homes, an office behind a cloud proxy: each is held to the cap.
    capped("wrap:s:4324", { ...agedFleet, clientHomogeneity: 0.4, templateShare: 1 }, curveAt(224));
    capped("wrap:s:4324", { ...agedFleet, hostingShare: 0.1 }, curveAt(224));
    capped("wrap:s:4324", { ...agedFleet, accounts: 60, hostingShare: 1 }, curveAt(60));
    expect(judgeKey("wrap:s:4324", { ...agedFleet, clientHomogeneity: 0.4 }, DEFAULT_POLICY).verdict).not.toBe("confirmed");
    expect(judgeKey("wrap:s:4324", { ...agedFleet, hostingShare: 0.1 }, DEFAULT_POLICY).verdict).not.toBe("confirmed");
    // Unknown network or an implied client (every request on a tls key is that client) lifts nothing either.
    const { hostingShare: _h, ...noNetwork } = agedFleet;
    capped("wrap:s:4324", noNetwork, curveAt(224));
    expect(togetherPoints("tls:e86c", agedFleet)).toBeLessThanOrEqual(DEFAULT_POLICY.clusters.verdict.commonalityCap * (0.5 + 0.5 * curveAt(224)) + 1e-3);
  });

  it("should not count a key's request rate for more when the size gate is lowered to judge small keys", () => {
    const small = { ...quiet, accounts: 30, requestsPerWindow: 300, elicitationShare: 0.3 };
    const gated = (minRequestsPerWindow: number) =>
      scoreEvidence("tls+sdk:x", small, policy({ clusters: { minRequestsPerWindow } })).evidence.find((e) => e.evidence === "requests")?.points;
    expect(gated(5)).toBeCloseTo(gated(50) ?? Number.NaN, 10);
    expect(gated(50)).toBeGreaterThan(0);
  });

  it("should class keys by their most specific part", () => {
    expect(["asn:1", "sdk:a", "tls:b", "headers:c", "tls+sdk:d", "asn+tls:e", "odd:f"].map(kindClass)).toEqual(Array(7).fill("broad"));
    expect(kindClass("prefix:203.0.113.0/24")).toBe("network");
    expect(kindClass("asn+prefix:1")).toBe("network");
    expect(kindClass("tpl:0:beef")).toBe("band");
    expect(["system:1", "wrap:2", "payment:3", "tls+system:4"].map(kindClass)).toEqual(Array(4).fill("content"));
  });

  it("should count nothing for evidence the key's kind implies", () => {
    const byClient = scoreEvidence("tls+sdk:x", { ...quiet, clientHomogeneity: 1, hostingShare: 1 }, DEFAULT_POLICY);
    expect(byClient.evidence.find((e) => e.evidence === "client")).toMatchObject({ points: 0, implied: true });
    expect(byClient.evidence.find((e) => e.evidence === "hosting")?.points).toBeGreaterThan(0);
    const byAsn = scoreEvidence("asn:16509", { ...quiet, hostingShare: 1 }, DEFAULT_POLICY);
    expect(byAsn.evidence.find((e) => e.evidence === "hosting")).toMatchObject({ points: 0, implied: true });
    const bySystem = scoreEvidence("system:x", { ...quiet, systemPromptShare: 1 }, DEFAULT_POLICY);
    expect(bySystem.score).toBeCloseTo(scoreEvidence("system:x", quiet, DEFAULT_POLICY).score, 10);
  });

  it("should treat absent evidence as unknown, and list it last", () => {
    const unknown = scoreEvidence("prefix:x", quiet, DEFAULT_POLICY);
    expect(scoreEvidence("prefix:x", { ...quiet, hostingShare: 0 }, DEFAULT_POLICY).logOdds).toBeCloseTo(unknown.logOdds, 10);
    const nulls = unknown.evidence.filter((e) => e.value === null).map((e) => e.evidence);
    expect(nulls.sort()).toEqual(["campaign_members", "client", "hosting", "new_accounts", "payment", "pooled", "system_prompt", "volume", "wrapper"]);
    expect(unknown.evidence.slice(-nulls.length).every((e) => e.value === null)).toBe(true);
  });

  it("should take points off when members use the API no more than honest accounts of their tier", () => {
    const base = { ...quiet, elicitationShare: 0.6 };
    const unknown = scoreEvidence("system:x", base, DEFAULT_POLICY).logOdds;
    const ordinary = scoreEvidence("system:x", { ...base, volumeRatio: 0.8 }, DEFAULT_POLICY);
    expect(ordinary.logOdds).toBeCloseTo(unknown - DEFAULT_POLICY.clusters.verdict.volumeRelief, 6);
    expect(scoreEvidence("system:x", { ...base, volumeRatio: 1.5 }, DEFAULT_POLICY).logOdds).toBeCloseTo(unknown, 6);
    expect(scoreEvidence("system:x", { ...base, volumeRatio: 6 }, DEFAULT_POLICY).logOdds).toBeGreaterThan(unknown);
  });

  it("should rise smoothly with evidence, with no cliff at the old thresholds", () => {
    let previous = -Infinity;
    const marker = DEFAULT_POLICY.clusters.synchronyThreshold;
    for (let s = 0; s <= 1.0001; s += 0.01) {
      const score = scoreEvidence("prefix:x", { ...quiet, synchrony: s }, DEFAULT_POLICY).score;
      expect(score).toBeGreaterThanOrEqual(previous);
      previous = score;
    }
    const below = scoreEvidence("prefix:x", { ...quiet, synchrony: marker - 0.005 }, DEFAULT_POLICY).score;
    const at = scoreEvidence("prefix:x", { ...quiet, synchrony: marker }, DEFAULT_POLICY).score;
    expect(at - below).toBeLessThan(0.001);
    expect(smoothstep(0.5, 0, 1)).toBe(0.5);
    expect([smoothstep(-1, 0, 1), smoothstep(2, 0, 1)]).toEqual([0, 1]);
  });

  it("should count three views of one prompt as less than their sum", () => {
    const one = scoreEvidence("prefix:x", { ...quiet, templateShare: 1 }, DEFAULT_POLICY);
    const three = scoreEvidence("prefix:x", { ...quiet, templateShare: 1, systemPromptShare: 1, wrapperShare: 1 }, DEFAULT_POLICY);
    const w = DEFAULT_POLICY.clusters.verdict.weights;
    const added = three.logOdds - one.logOdds;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThan(w.system_prompt + w.wrapper);
  });

  it("should cap evidence of belonging together lower for a few dozen accounts than for hundreds", () => {
    const together = { templateShare: 1, systemPromptShare: 1, clientHomogeneity: 1, paymentsPerAccount: 0.01 };
    const points = (accounts: number) =>
      scoreEvidence("prefix:x", { ...quiet, ...together, accounts }, DEFAULT_POLICY)
        .evidence.filter((e) => ["template", "system_prompt", "client", "payment"].includes(e.evidence))
        .reduce((n, e) => n + e.points, 0);
    const cap = DEFAULT_POLICY.clusters.verdict.commonalityCap;
    expect(points(20)).toBeCloseTo(cap / 2, 2);
    expect(points(1_000)).toBeCloseTo(cap, 2);
  });

  it("should explain itself: every item's points add up to the score, largest first", () => {
    const m = { ...hostedFleet, synchrony: 0.4, volumeRatio: 3, newAccountBurst: 0.7, paymentsPerAccount: 0.2 };
    const result = scoreEvidence("system:5f3a", m, DEFAULT_POLICY);
    const sum = result.prior + result.evidence.reduce((n, e) => n + e.points, 0);
    expect(sum).toBeCloseTo(result.logOdds, 2);
    expect(result.score).toBeCloseTo(1 / (1 + Math.exp(-result.logOdds)), 10);
    const known = result.evidence.filter((e) => e.value !== null).map((e) => Math.abs(e.points));
    expect(known).toEqual([...known].sort((a, b) => b - a));
    expect(result.evidence[0]).toMatchObject({ evidence: "hosting", value: 0.97, reason: "cluster.hosting" });
    const verdict = judgeKey("system:5f3a", m, DEFAULT_POLICY);
    expect(verdict.evidence).toEqual(result.evidence);
    expect(verdict.score).toBe(result.score);
  });

  it("should keep the old reason codes, in their old order, for the behaviours past their markers", () => {
    const hydra = { ...quiet, synchrony: 0.9, templateShare: 0.9, elicitationShare: 0.9, pivotModel: "new-model" };
    const result = judgeKey("tls:x", hydra, DEFAULT_POLICY);
    expect(result.verdict).toBe("confirmed");
    expect(result.reasons.filter((r) => ["cluster.many_accounts", "cluster.synchronized", "cluster.templated", "cluster.eliciting", "cluster.model_pivot"].includes(r)))
      .toEqual(["cluster.many_accounts", "cluster.synchronized", "cluster.templated", "cluster.eliciting", "cluster.model_pivot"]);
    // Just below a marker: the behaviour still adds points but does not earn its reason code.
    const near = judgeKey("system:x", { ...hydra, synchrony: DEFAULT_POLICY.clusters.synchronyThreshold - 0.01 }, DEFAULT_POLICY);
    expect(near.reasons).not.toContain("cluster.synchronized");
    expect(near.evidence.find((e) => e.evidence === "synchrony")?.points).toBeGreaterThan(0);
  });

  it("should give no score or evidence to keys it does not judge", () => {
    for (const [key, m, p] of [
      ["sdk:x", { ...hostedFleet, accounts: 5 }, DEFAULT_POLICY],
      ["sdk:x", { ...hostedFleet, requestsPerWindow: 10 }, DEFAULT_POLICY],
      ["system:x", hostedFleet, policy({ clusters: { allowlist: ["system:x"] } })],
    ] as const) {
      expect(judgeKey(key, m, p)).toMatchObject({ verdict: "none", score: 0, evidence: [], capPerWindow: null });
    }
  });

  it("should take thresholds, priors and weights from the policy", () => {
    expect(judgeKey("system:5f3a", hostedFleet, policy({ clusters: { verdict: { confirmScore: 0.999 } } })).verdict).toBe("suspect");
    expect(judgeKey("system:5f3a", hostedFleet, policy({ clusters: { verdict: { weights: { hosting: 0 } } } })).verdict).not.toBe("confirmed");
    expect(judgeKey("system:5f3a", hostedFleet, policy({ clusters: { verdict: { priors: { content: -2 } } } })).score).toBeGreaterThan(
      judgeKey("system:5f3a", hostedFleet, DEFAULT_POLICY).score,
    );
    // Unset weights keep their defaults.
    expect(policy({ clusters: { verdict: { weights: { hosting: 1 } } } }).clusters.verdict.weights.synchrony).toBe(DEFAULT_POLICY.clusters.verdict.weights.synchrony);
    expect(validatePolicy({ clusters: { verdict: { suspectScore: 0.95, confirmScore: 0.9 } } }).ok).toBe(false);
    expect(validatePolicy({ clusters: { verdict: { weights: { nonsense: 1 } } } }).ok).toBe(false);
  });
});

describe("the calibration's named cases under the default policy", () => {
  const rank = { none: 0, suspect: 1, confirmed: 2 } as const;
  // The score's own verdict (judgeKey adds the two-behaviour floor on top, tested apart).
  const byScore = (key: string, m: KeyMetrics): keyof typeof rank => {
    const { score } = scoreEvidence(key, m, DEFAULT_POLICY);
    const v = DEFAULT_POLICY.clusters.verdict;
    return score >= v.confirmScore ? "confirmed" : score >= v.suspectScore ? "suspect" : "none";
  };
  // Keys below the size gates are never judged (a heavy single user's own keys).
  const strongest = (keys: readonly { key: string; metrics: KeyMetrics }[], view = (m: KeyMetrics) => m) =>
    keys.filter((k) => bigEnough(k.key, k.metrics, DEFAULT_POLICY)).map((k) => byScore(k.key, view(k.metrics))).reduce((a, b) => (rank[b] > rank[a] ? b : a), "none" as const as keyof typeof rank);

  it("should confirm none of the honest crowds the score can tell apart, given all their evidence", () => {
    // Without the volume ratio a templated, eliciting course is confirmed, as under the two-boolean rule.
    for (const named of NAMED_CASES.filter((c) => !c.campaign && !c.limitation)) {
      expect(strongest(named.keys), named.name).not.toBe("confirmed");
    }
  });

  it("should confirm the hosted fleet on one system prompt, with or without a volume ratio", () => {
    const fleet = NAMED_CASES[0];
    expect(fleet?.campaign).toBe(true);
    expect(strongest(fleet?.keys ?? [])).toBe("confirmed");
    expect(strongest(fleet?.keys ?? [], withoutVolume)).toBe("confirmed");
  });

  it("should confirm the small reseller's campaign prompt on its pooled accounts, under the rate gate on its own", () => {
    const pooled = NAMED_CASES.find((c) => c.name.startsWith("small reseller's campaign prompt on its"));
    expect(pooled?.campaign).toBe(true);
    expect(strongest(pooled?.keys ?? [])).toBe("confirmed");
  });
});

describe("pooled prompt keys", () => {
  // A small reseller's campaign prompt on its 46 pooled accounts as the quick evaluation measured it: a
  // quarter of the accounts' traffic, under the rate gate on its own, eliciting, one build, over half its
  // exits on hosting; close enough to the confirm threshold that the pooled points decide it.
  const pooled: KeyMetrics = {
    accounts: 46, requestsPerWindow: 25, synchrony: 0.1, templateShare: 0.05, elicitationShare: 0.8, pivotModel: null,
    hostingShare: 0.6, clientHomogeneity: 1, newAccountBurst: 0.04, paymentsPerAccount: 0.8, volumeRatio: 1, memberShare: 0.25,
  };
  const points = (key: string, m: KeyMetrics) => scoreEvidence(key, m, DEFAULT_POLICY).evidence.find((e) => e.evidence === "pooled");

  it("should judge an exact prompt key under the rate gate when its members are busy and it is a minority of their traffic", () => {
    expect(bigEnough("system:abcd", pooled, DEFAULT_POLICY)).toBe(true);
    expect(bigEnough("wrap:p:0123456789abcdef", pooled, DEFAULT_POLICY)).toBe(true);
    const result = judgeKey("system:abcd", pooled, DEFAULT_POLICY);
    expect(result.verdict).toBe("confirmed");
    expect(result.reasons).toContain("cluster.pooled");
  });

  it("should gate a prompt that is most of its members' traffic, a broad key, or a key with too few requests of its own as before", () => {
    // A class's tutor prompt: nearly all its students' requests.
    expect(bigEnough("system:abcd", { ...pooled, memberShare: 0.9 }, DEFAULT_POLICY)).toBe(false);
    expect(bigEnough("tls:abcd", pooled, DEFAULT_POLICY)).toBe(false);
    // Members busy enough, but five requests of its own say nothing about its shares.
    expect(bigEnough("system:abcd", { ...pooled, requestsPerWindow: 5, memberShare: 0.05 }, DEFAULT_POLICY)).toBe(false);
    // Members not busy enough: 25 requests as 60 % of their traffic is 42 a window.
    expect(bigEnough("system:abcd", { ...pooled, memberShare: 0.6 }, DEFAULT_POLICY)).toBe(false);
    expect(bigEnough("system:abcd", { ...pooled, memberShare: undefined }, DEFAULT_POLICY)).toBe(false);
    expect(bigEnough("system:abcd", { ...pooled, accounts: 19 }, DEFAULT_POLICY)).toBe(false);
    const off = policy({ clusters: { pooledShare: 0 } });
    expect(bigEnough("system:abcd", pooled, off)).toBe(false);
  });

  it("should add pooled points only as far as the key elicits and is a minority of its members' traffic", () => {
    const weight = DEFAULT_POLICY.clusters.verdict.weights.pooled;
    expect(points("system:abcd", pooled)).toMatchObject({ value: 0.25, points: weight, reason: "cluster.pooled" });
    // A busy developer's tool prompt: a share of their traffic, asking for nothing.
    expect(points("system:abcd", { ...pooled, elicitationShare: 0.02 })?.points).toBe(0);
    // A class's tutor prompt: eliciting, but nearly all its students' traffic.
    expect(points("system:abcd", { ...pooled, memberShare: 0.9 })?.points).toBe(0);
    expect(points("system:abcd", { ...pooled, memberShare: undefined })).toMatchObject({ value: null, points: 0 });
  });

  it("should withdraw volume relief from a pooled eliciting prompt on accounts at an honest pace", () => {
    // Residential egress and several clients: the accounts look like people, and their pace earns relief.
    const people: KeyMetrics = { ...pooled, hostingShare: 0, clientHomogeneity: 0.4, volumeRatio: 1 };
    const volume = (m: KeyMetrics) => scoreEvidence("system:abcd", m, DEFAULT_POLICY).evidence.find((e) => e.evidence === "volume")?.points;
    expect(volume({ ...people, memberShare: 1 })).toBeCloseTo(-DEFAULT_POLICY.clusters.verdict.volumeRelief, 6);
    expect(volume(people)).toBeCloseTo(0, 6);
  });

  it("should not confirm the pooled key without its pooled points", () => {
    const none = policy({ clusters: { verdict: { weights: { pooled: 0 } } } });
    expect(judgeKey("system:abcd", pooled, none).verdict).not.toBe("confirmed");
  });
});


describe("campaign_members", () => {
  // A campaign's second wording as the quick evaluation measured it (tune-pivot-preference, seed 2): 54 hosting
  // accounts on one build and a burst of new accounts, no elicitation the scorer sees, suspect at ~0.83 alone.
  const secondWording: KeyMetrics = {
    accounts: 54, requestsPerWindow: 71, synchrony: 0.18, templateShare: 0.08, elicitationShare: 0, pivotModel: null,
    hostingShare: 1, clientHomogeneity: 1, newAccountBurst: 1, paymentsPerAccount: 0.667, volumeRatio: 1.24, memberShare: 0.71,
  };
  const item = (key: string, m: KeyMetrics) => scoreEvidence(key, m, DEFAULT_POLICY).evidence.find((e) => e.evidence === "campaign_members");

  it("Should confirm a second wording's prompt key sent by a confirmed campaign's accounts, which alone stays suspect", () => {
    expect(judgeKey("wrap:s:0123456789abcdef", secondWording, DEFAULT_POLICY).verdict).toBe("suspect");
    const inherited = judgeKey("wrap:s:0123456789abcdef", { ...secondWording, campaignMemberShare: 0.9 }, DEFAULT_POLICY);
    expect(inherited.verdict).toBe("confirmed");
    expect(inherited.reasons).toContain("cluster.campaign_members");
  });

  it("Should count along the policy's curve, from nothing at `from` to the whole weight at `full`", () => {
    const { from, full } = DEFAULT_POLICY.clusters.verdict.campaignMembers;
    const weight = DEFAULT_POLICY.clusters.verdict.weights.campaign_members;
    expect(item("system:abcd", { ...secondWording, campaignMemberShare: from })?.points).toBe(0);
    expect(item("system:abcd", { ...secondWording, campaignMemberShare: full })?.points).toBe(weight);
    const middle = item("system:abcd", { ...secondWording, campaignMemberShare: (from + full) / 2 })?.points ?? 0;
    expect(middle).toBeGreaterThan(0);
    expect(middle).toBeLessThan(weight);
    expect(item("system:abcd", secondWording)).toMatchObject({ value: null, points: 0 });
  });

  it("Should add nothing on a broad, network, band or payment key, whose verdict is the campaign's only by its other evidence", () => {
    for (const key of ["tls+sdk:abcd", "asn:16276", "prefix:10.0.0.0/24", "tpl:1:abcd", "payment:abcd", "system+tpl:abcd"]) {
      expect(item(key, { ...secondWording, campaignMemberShare: 1 })).toMatchObject({ value: 1, points: 0 });
    }
    expect(item("asn+system:abcd", { ...secondWording, campaignMemberShare: 1 })?.points).toBe(DEFAULT_POLICY.clusters.verdict.weights.campaign_members);
  });

  it("Should refuse a policy whose curve does not rise", () => {
    expect(validatePolicy({ clusters: { verdict: { campaignMembers: { from: 0.8, full: 0.3 } } } }).ok).toBe(false);
  });
});
