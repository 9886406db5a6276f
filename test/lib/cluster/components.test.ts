import { describe, expect, it } from "vitest";
import {
  componentId,
  componentSignature,
  componentVerdict,
  connectedComponents,
  judgeComponent,
  linkEvidence,
  type GraphEdge,
  type KeyJudgement,
} from "../../../lib/cluster/components.ts";
import { judgeKey, verdictApplies } from "../../../lib/cluster/verdict.ts";
import { DEFAULT_POLICY, validatePolicy } from "../../../lib/policy/index.ts";

describe("connected components", () => {
  it("should join accounts linked only transitively", () => {
    const components = connectedComponents(
      [
        { accountId: "A", key: "payment:p1" },
        { accountId: "B", key: "payment:p1" },
        { accountId: "B", key: "tls:t1" },
        { accountId: "C", key: "tls:t1" },
        { accountId: "D", key: "tls:other" },
      ],
      { minSize: 2 },
    );
    expect(components).toEqual([{ accounts: ["A", "B", "C"], keys: ["payment:p1", "tls:t1"] }]);
  });

  it("should not link through ignored keys", () => {
    const components = connectedComponents(
      [
        { accountId: "A", key: "prefix:10.0.0.0/24" },
        { accountId: "B", key: "prefix:10.0.0.0/24" },
      ],
      { minSize: 2, ignore: new Set(["prefix:10.0.0.0/24"]) },
    );
    expect(components).toEqual([]);
  });

  it("should build one component out of a 20,000-account chain", () => {
    const edges = Array.from({ length: 20_000 }, (_, i) => [
      { accountId: `a${i}`, key: `k${i}` },
      { accountId: `a${i + 1}`, key: `k${i}` },
    ]).flat();
    const [only, ...rest] = connectedComponents(edges, { minSize: 2 });
    expect(rest).toHaveLength(0);
    expect(only?.accounts).toHaveLength(20_001);
  });
});

describe("the linker's evidence", () => {
  const signature = { bands: ["tpl:0:aaaa"], eliciting: true };
  const rules = { allowlist: ["prefix:nat"], linkIgnoreKinds: ["asn", "tpl"], linkMaxAccounts: 3 };
  const graph: GraphEdge[] = [
    { accountId: "A", key: "system:x", kind: "system" },
    { accountId: "B", key: "system:x", kind: "system" },
    { accountId: "B", key: "sdk:s", kind: "sdk" },
    { accountId: "C", key: "sdk:s", kind: "sdk" },
    { accountId: "C", key: "asn:1", kind: "asn" },
    { accountId: "D", key: "asn:1", kind: "asn" },
    { accountId: "D", key: "prefix:nat", kind: "prefix" },
    { accountId: "E", key: "prefix:nat", kind: "prefix" },
    ...["F", "G", "H", "I"].map((accountId) => ({ accountId, key: "payment:crowd", kind: "payment" })),
  ];
  const keys = new Map<string, KeyJudgement>([
    ["system:x", { verdict: "confirmed", signature }],
    ["sdk:s", { verdict: "suspect", signature: undefined }],
    ["prefix:nat", { verdict: "confirmed", signature }],
    ["payment:crowd", { verdict: "confirmed", signature }],
  ]);

  it("Should drop ignored kinds from the links, and ignore allow-listed and crowded keys", () => {
    const evidence = linkEvidence(graph, keys, rules);
    expect(evidence.edges.some((e) => e.key === "asn:1")).toBe(false);
    expect([...evidence.ignore].sort()).toEqual(["payment:crowd", "prefix:nat"]);
    expect(connectedComponents(evidence.edges, { minSize: 2, ignore: evidence.ignore })).toEqual([
      { accounts: ["A", "B", "C"], keys: ["sdk:s", "system:x"] },
    ]);
  });

  it("Should count members on judged narrow keys, and keep the signatures of broad ones too", () => {
    const evidence = linkEvidence(graph, keys, rules);
    expect([...evidence.confirmed].sort()).toEqual(["A", "B"]);
    // sdk: is a broad kind: its verdict says nothing about B or C.
    expect([...evidence.suspect]).toEqual([]);
    expect(evidence.signatures.get("A")).toEqual([signature]);
    // Nothing from an ignored key, verdict or not.
    expect(evidence.signatures.has("E")).toBe(false);
    expect(evidence.confirmed.has("F")).toBe(false);
  });

  it("Should judge a component by the share of its members on confirmed keys", () => {
    const component = { accounts: ["A", "B", "C", "D"], keys: [] };
    expect(componentVerdict(component, 2, 0, DEFAULT_POLICY)).toBe("confirmed");
    expect(componentVerdict(component, 1, 0, DEFAULT_POLICY)).toBe("suspect");
    expect(componentVerdict(component, 0, 1, DEFAULT_POLICY)).toBe("suspect");
    expect(componentVerdict(component, 0, 0, DEFAULT_POLICY)).toBe("none");
    expect(componentVerdict({ accounts: ["A"], keys: [] }, 1, 0, DEFAULT_POLICY)).toBe("none");
  });

  it("Should name a component after its smallest member and tell members its share of the cap", () => {
    const evidence = linkEvidence(graph, keys, rules);
    const component = { accounts: ["A", "B", "C"], keys: ["sdk:s", "system:x"] };
    const judged = judgeComponent(component, evidence, DEFAULT_POLICY, 1_000);
    expect(judged.id).toBe(componentId({ accounts: ["A", "Z"], keys: [] }));
    expect(judged.id).toMatch(/^cc:[0-9a-f]{8}$/);
    expect(judged.verdict).toBe("confirmed");
    expect(judged.reasons).toEqual(["cluster.linked", "cluster.confirmed_keys"]);
    expect(judged.cached).toEqual({
      cluster: judged.id,
      verdict: "confirmed",
      capPerWindow: DEFAULT_POLICY.clusters.aggregateCapPerWindow / 3,
      reasons: judged.reasons,
      decidedAt: 1_000,
      signature,
    });
  });
});

describe("a component's signature", () => {
  it("should keep the bands most members' judged keys name, and elicitation if any key elicits", () => {
    const campaign = { bands: ["tpl:0:aaaa", "tpl:1:bbbb"], eliciting: true };
    const stray = { bands: ["tpl:3:0000"], eliciting: false };
    const sig = componentSignature([[campaign], [campaign, stray], [campaign], []]);
    expect(sig.bands.slice(0, 2).sort()).toEqual(["tpl:0:aaaa", "tpl:1:bbbb"]);
    expect(sig.bands).toContain("tpl:3:0000");
    expect(sig.eliciting).toBe(true);
    expect(componentSignature([[stray], [stray]]).eliciting).toBe(false);
  });

  it("should carry the wrappers most members' keys name, at most four, and none when no key names one", () => {
    const w = (n: number) => `wrap:p:${String(n).padStart(16, "0")}`;
    const campaign = { bands: [], eliciting: false, wrappers: [w(1), w(2)] };
    const rotated = { bands: [], eliciting: false, wrappers: [w(3), w(4), w(5)] };
    // One member naming a wrapper through two keys counts once.
    const sig = componentSignature([[campaign, campaign], [campaign], [campaign, rotated], [rotated], [{ bands: [], eliciting: false, wrappers: [w(6)] }]]);
    expect(sig.wrappers?.slice(0, 2)).toEqual([w(1), w(2)]);
    expect(sig.wrappers).toHaveLength(4);
    expect(sig.wrappers).not.toContain(w(6));
    expect(componentSignature([[{ bands: ["tpl:0:aaaa"], eliciting: false }]])).toEqual({ bands: ["tpl:0:aaaa"], eliciting: false });
  });
});

describe("cluster verdict rules", () => {
  const base = { accounts: 200, requestsPerWindow: 1_000, synchrony: 0, templateShare: 0, elicitationShare: 0, pivotModel: null };

  it("should not judge a key many honest accounts share", () => {
    expect(judgeKey("sdk:abc", base, DEFAULT_POLICY).verdict).toBe("none");
  });

  it("should confirm a key on which campaign behaviours agree, not on one of them, and sooner on an exact prompt than a broad key", () => {
    // One behaviour on a broad key is what honest crowds show now and then; on one exact system prompt it is suspect.
    expect(judgeKey("tls:x", { ...base, templateShare: 0.9 }, DEFAULT_POLICY).verdict).toBe("none");
    expect(judgeKey("system:x", { ...base, templateShare: 0.9 }, DEFAULT_POLICY).verdict).toBe("suspect");
    expect(judgeKey("system:x", { ...base, templateShare: 0.9, synchrony: 0.8 }, DEFAULT_POLICY).verdict).toBe("confirmed");
    const confirmed = judgeKey("tls:x", { ...base, templateShare: 0.9, synchrony: 0.8, elicitationShare: 0.6 }, DEFAULT_POLICY);
    expect(confirmed.verdict).toBe("confirmed");
    expect(confirmed.capPerWindow).toBeCloseTo(DEFAULT_POLICY.clusters.aggregateCapPerWindow / 200);
  });

  it("should never judge an allow-listed key", () => {
    const result = validatePolicy({ clusters: { allowlist: ["prefix:203.0.113.0/24"] } });
    if (!result.ok) throw new Error("policy");
    const verdict = judgeKey("prefix:203.0.113.0/24", { ...base, templateShare: 1, synchrony: 1, elicitationShare: 1 }, result.policy);
    expect(verdict.verdict).toBe("none");
  });

  it("should not judge small or slow groups", () => {
    expect(judgeKey("tpl:0:a", { ...base, accounts: 5, templateShare: 1, synchrony: 1 }, DEFAULT_POLICY).verdict).toBe("none");
    expect(judgeKey("tpl:0:a", { ...base, requestsPerWindow: 10, templateShare: 1, synchrony: 1 }, DEFAULT_POLICY).verdict).toBe("none");
  });
});

describe("which requests a key verdict lands on", () => {
  const signature = { bands: ["tpl:0:aaaa", "tpl:1:abcd", "tpl:2:beef"], eliciting: true };
  const campaign = { keys: ["sdk:s", "prefix:p", "system:x", "tpl:0:aaaa", "tpl:1:abcd", "tpl:2:0000"], elicitation: 0.9 };
  // Shares one band with the campaign by chance: honest prompts of a common shape do.
  const honest = { keys: ["sdk:s", "prefix:p", "system:x", "tpl:0:aaaa", "tpl:1:0000"], elicitation: 0.1 };

  it("should land a broad key's verdict only on requests with the campaign's template", () => {
    expect(verdictApplies({ cluster: "sdk:s", signature }, campaign, 0.5)).toBe(true);
    expect(verdictApplies({ cluster: "sdk:s", signature }, honest, 0.5)).toBe(false);
    expect(verdictApplies({ cluster: "sdk:s", signature }, { ...honest, elicitation: 0.9 }, 0.5)).toBe(false);
  });

  it("should need two of the signature's bands, counting a template key's own band", () => {
    expect(verdictApplies({ cluster: "tpl:0:aaaa", signature: { ...signature, eliciting: false } }, campaign, 0.5)).toBe(true);
    expect(verdictApplies({ cluster: "tpl:0:aaaa", signature: { ...signature, eliciting: false } }, honest, 0.5)).toBe(false);
    expect(verdictApplies({ cluster: "sdk:s", signature: { bands: ["tpl:0:aaaa"], eliciting: false } }, campaign, 0.5)).toBe(false);
  });

  it("should let a narrow key's verdict land on eliciting requests too, and an exact prompt's on every request carrying it", () => {
    for (const cluster of ["prefix:p", "tpl:0:aaaa"]) {
      expect(verdictApplies({ cluster, signature }, { ...honest, elicitation: 0.9 }, 0.5)).toBe(true);
      expect(verdictApplies({ cluster, signature }, honest, 0.5)).toBe(false);
    }
    // One exact system prompt is the campaign's own: carrying it is enough.
    expect(verdictApplies({ cluster: "system:x", signature }, honest, 0.5)).toBe(true);
  });

  it("should land a component's verdict on members' requests that look like its campaign", () => {
    expect(verdictApplies({ cluster: "cc:0001", signature }, campaign, 0.5)).toBe(true);
    expect(verdictApplies({ cluster: "cc:0001", signature }, { ...honest, keys: ["tpl:3:1234"], elicitation: 0.9 }, 0.5)).toBe(true);
    // An honest account linked in through a shared exit or card is not the campaign.
    expect(verdictApplies({ cluster: "cc:0001", signature }, honest, 0.5)).toBe(false);
  });

  it("should land nothing on requests without the key, and nothing without a signature", () => {
    expect(verdictApplies({ cluster: "tls:other", signature }, campaign, 0.5)).toBe(false);
    expect(verdictApplies({ cluster: "sdk:s" }, campaign, 0.5)).toBe(false);
    expect(verdictApplies({ cluster: "cc:0001" }, campaign, 0.5)).toBe(false);
  });
});
