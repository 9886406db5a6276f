import { describe, expect, it } from "vitest";
import { metricsFrom, emptyCounts } from "../../../lib/cluster/rollup.ts";
import { isExactContentKind, type KeyMetrics, parseSignature, sameSignature, type Signature, verdictApplies, withWrappers } from "../../../lib/cluster/verdict.ts";

const WRAP = "wrap:s:0123456789abcdef";
const OTHER_WRAP = "wrap:s:fedcba9876543210";
const THRESHOLD = 0.5;

const metrics: KeyMetrics = { accounts: 300, requestsPerWindow: 1_800, synchrony: 0, templateShare: 0, elicitationShare: 0, pivotModel: null };

describe("verdictApplies with wrapper signatures", () => {
  const onTls = { cluster: "tls:aaaa", signature: { bands: ["tpl:0:1111", "tpl:1:2222"], eliciting: false, wrappers: [WRAP] } };

  it("Should land a broad key's verdict on a request that carries the campaign's wrapper, whatever its bands", () => {
    expect(verdictApplies(onTls, { keys: ["tls:aaaa", "tpl:0:9999", WRAP], elicitation: 0 }, THRESHOLD)).toBe(true);
  });

  it("Should spare an honest request on the same broad key that carries another wrapper or none", () => {
    expect(verdictApplies(onTls, { keys: ["tls:aaaa", OTHER_WRAP], elicitation: 1 }, THRESHOLD)).toBe(false);
    expect(verdictApplies(onTls, { keys: ["tls:aaaa"], elicitation: 1 }, THRESHOLD)).toBe(false);
  });

  it("Should still need the key itself, wrapper or not", () => {
    expect(verdictApplies(onTls, { keys: ["tls:bbbb", WRAP], elicitation: 0 }, THRESHOLD)).toBe(false);
  });

  it("Should land a component's verdict on a member's request that carries its wrapper", () => {
    const component = { cluster: "cc:1234", signature: { bands: [], eliciting: false, wrappers: [WRAP] } };
    expect(verdictApplies(component, { keys: ["asn:1", WRAP], elicitation: 0 }, THRESHOLD)).toBe(true);
    expect(verdictApplies(component, { keys: ["asn:1"], elicitation: 0 }, THRESHOLD)).toBe(false);
  });

  it("Should keep the two-band rule for signatures without wrappers", () => {
    const old = { cluster: "tls:aaaa", signature: { bands: ["tpl:0:1111", "tpl:1:2222"], eliciting: false } };
    expect(verdictApplies(old, { keys: ["tls:aaaa", "tpl:0:1111", "tpl:1:2222"], elicitation: 0 }, THRESHOLD)).toBe(true);
    expect(verdictApplies(old, { keys: ["tls:aaaa", "tpl:0:1111", WRAP], elicitation: 0 }, THRESHOLD)).toBe(false);
  });
});

describe("verdictApplies on exact content keys", () => {
  const bare: Signature = { bands: [], eliciting: false };

  it("Should land a verdict on an exact system prompt key on every request carrying that prompt, without bands or elicitation", () => {
    const onSystem = { cluster: "system:5f3a5f3a5f3a5f3a", signature: bare };
    expect(verdictApplies(onSystem, { keys: ["asn:64500", "system:5f3a5f3a5f3a5f3a"], elicitation: 0 }, THRESHOLD)).toBe(true);
    expect(verdictApplies(onSystem, { keys: ["asn:64500", "system:0000000000000000"], elicitation: 1 }, THRESHOLD)).toBe(false);
  });

  it("Should land a verdict on a wrapper key, or a combination with a system prompt, on the requests carrying it", () => {
    expect(verdictApplies({ cluster: WRAP, signature: bare }, { keys: [WRAP], elicitation: 0 }, THRESHOLD)).toBe(true);
    expect(verdictApplies({ cluster: "tls+system:ab12", signature: bare }, { keys: ["tls+system:ab12"], elicitation: 0 }, THRESHOLD)).toBe(true);
  });

  it("Should still ask broad, network and band keys for the campaign's signature", () => {
    for (const cluster of ["asn:64500", "tls:aaaa", "sdk:bbbb", "headers:cccc", "tls+sdk:dddd", "prefix:203.0.113.0/24", "tpl:0:1111", "system+tpl:ee"]) {
      expect(verdictApplies({ cluster, signature: bare }, { keys: [cluster], elicitation: 0 }, THRESHOLD), cluster).toBe(false);
    }
    expect(["system", "wrap", "asn+system"].every(isExactContentKind)).toBe(true);
    expect(["asn", "tls+sdk", "prefix", "tpl", "system+tpl", "headers"].some(isExactContentKind)).toBe(false);
  });

  it("Should not treat a component as exact content: its members still need the signature", () => {
    expect(verdictApplies({ cluster: "cc:1234", signature: bare }, { keys: ["system:5f3a"], elicitation: 0 }, THRESHOLD)).toBe(false);
  });
});

describe("stored signatures", () => {
  it("Should read a signature stored before wrappers existed as one without wrappers", () => {
    const old = parseSignature(JSON.stringify({ bands: ["tpl:0:1111"], eliciting: true }));
    expect(old).toEqual({ bands: ["tpl:0:1111"], eliciting: true });
    expect(sameSignature(old, { bands: ["tpl:0:1111"], eliciting: true, wrappers: [] })).toBe(true);
  });

  it("Should round-trip wrappers and tell signatures apart by them", () => {
    const signature: Signature = { bands: [], eliciting: false, wrappers: [WRAP, OTHER_WRAP] };
    const read = parseSignature(JSON.stringify(signature));
    expect(read).toEqual(signature);
    expect(sameSignature(read, { ...signature, wrappers: [WRAP] })).toBe(false);
    expect(sameSignature(read, { ...signature, wrappers: [OTHER_WRAP, WRAP] })).toBe(false);
  });

  it("Should drop anything in a stored wrapper list that is not a wrapper key", () => {
    // An ASN in the list would make every request on that network match the verdict.
    const read = parseSignature(JSON.stringify({ bands: [], eliciting: false, wrappers: ["asn:16509", 7, null, WRAP] }));
    expect(read?.wrappers).toEqual([WRAP]);
    expect(parseSignature(JSON.stringify({ bands: [], eliciting: false, wrappers: "wrap:p:0" }))?.wrappers).toBeUndefined();
    expect(parseSignature("{not json")).toBeUndefined();
  });
});

describe("wrappers in a verdict's signature", () => {
  const judged: Signature = { bands: ["tpl:0:1111"], eliciting: false };

  it("Should add the key's dominant wrappers when most of its requests carry one", () => {
    const counts = { ...emptyCounts(), requests: 100, wrappers: { [WRAP]: 92, "wrap:p:1111111111111111": 1 } };
    const m = metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: counts });
    expect(withWrappers("tls:aaaa", judged, m, THRESHOLD)).toEqual({ ...judged, wrappers: [WRAP] });
  });

  it("Should leave the signature as it was when no wrapper dominates", () => {
    const wrappers: Record<string, number> = {};
    for (let i = 0; i < 40; i++) wrappers[`wrap:p:${i.toString(16).padStart(16, "0")}`] = 2;
    const m = metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: { ...emptyCounts(), requests: 100, wrappers } });
    expect(withWrappers("tls:aaaa", judged, m, THRESHOLD)).toBe(judged);
  });

  it("Should add all of a campaign's rotated phrasings when together they cover its traffic", () => {
    const phrasings = ["wrap:s:aaaaaaaaaaaaaaa1", "wrap:s:aaaaaaaaaaaaaaa2", "wrap:s:aaaaaaaaaaaaaaa3"];
    const wrappers: Record<string, number> = { [phrasings[0] ?? ""]: 34, [phrasings[1] ?? ""]: 33, [phrasings[2] ?? ""]: 31 };
    const m = metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: { ...emptyCounts(), requests: 100, wrappers } });
    expect(m.wrapperShare).toBeLessThan(THRESHOLD);
    expect(m.wrapperCoverage).toBeCloseTo(0.98);
    expect(withWrappers("tls:aaaa", judged, m, THRESHOLD).wrappers).toEqual(phrasings);
  });

  it("Should not add up a prompt's two ends as if they were two requests", () => {
    // Half the requests carry one wrapper at both ends: still half of the traffic, not all of it.
    const wrappers = { "wrap:p:bbbbbbbbbbbbbbb1": 40, "wrap:s:bbbbbbbbbbbbbbb2": 40 };
    const m = metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: { ...emptyCounts(), requests: 100, wrappers } });
    expect(m.wrapperCoverage).toBeCloseTo(0.4);
    expect(withWrappers("tls:aaaa", judged, m, THRESHOLD)).toBe(judged);
  });

  it("Should name a wrapper key's own wrapper in its signature", () => {
    const m = metricsFrom({ ...metrics, key: WRAP, windowCounts: { ...emptyCounts(), requests: 100, wrappers: { [WRAP]: 100 } } });
    expect(m.wrapperShare).toBe(0);
    expect(withWrappers(WRAP, judged, m, THRESHOLD).wrappers).toEqual([WRAP]);
  });

  it("Should keep non-wrapper names out even when metrics carry them", () => {
    const odd = { ...metrics, topWrappers: ["asn:16509", WRAP], wrapperShare: 0.9 };
    expect(withWrappers("tls:aaaa", judged, odd, THRESHOLD).wrappers).toEqual([WRAP]);
  });
});

describe("the campaign's exact system prompt in a verdict's signature", () => {
  const SYSTEM = "system:0123456789abcdef";
  const OTHER_SYSTEM = "system:fedcba9876543210";
  const judged: Signature = { bands: [], eliciting: false };

  it("Should add the system prompt most of a broad key's requests carry", () => {
    const counts = { ...emptyCounts(), requests: 100, systems: { [SYSTEM]: 93, [OTHER_SYSTEM]: 4 } };
    const m = metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: counts });
    expect(withWrappers("tls:aaaa", judged, m, THRESHOLD)).toEqual({ ...judged, systems: [SYSTEM] });
  });

  it("Should add no system prompt when none is carried by most of the key's requests", () => {
    const counts = { ...emptyCounts(), requests: 100, systems: { [SYSTEM]: 30, [OTHER_SYSTEM]: 25 } };
    const m = metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: counts });
    expect(withWrappers("tls:aaaa", judged, m, THRESHOLD)).toBe(judged);
  });

  it("Should add the other prompts of a campaign that rotates its wording through the system prompt, and not a small tool's", () => {
    const THIRD = "system:00000000000000aa";
    const TOOL = "system:00000000000000bb";
    // Two wordings, 62 and 28 requests; a coding tool's prompt on the same client build, 8.
    const counts = { ...emptyCounts(), requests: 100, systems: { [SYSTEM]: 62, [OTHER_SYSTEM]: 28, [TOOL]: 8 } };
    const m = metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: counts });
    expect(withWrappers("tls:aaaa", judged, m, THRESHOLD)).toEqual({ ...judged, systems: [SYSTEM, OTHER_SYSTEM] });
    // None of them when no prompt is most of the traffic, however many there are.
    const spread = { ...emptyCounts(), requests: 100, systems: { [SYSTEM]: 30, [OTHER_SYSTEM]: 25, [THIRD]: 25 } };
    expect(withWrappers("tls:aaaa", judged, metricsFrom({ ...metrics, key: "tls:aaaa", windowCounts: spread }), THRESHOLD)).toBe(judged);
  });

  it("Should land a broad key's verdict on a request carrying the campaign's system prompt, and spare one with another", () => {
    const onTls = { cluster: "tls:aaaa", signature: { ...judged, systems: [SYSTEM] } };
    expect(verdictApplies(onTls, { keys: ["tls:aaaa", SYSTEM], elicitation: 0 }, THRESHOLD)).toBe(true);
    expect(verdictApplies(onTls, { keys: ["tls:aaaa", OTHER_SYSTEM], elicitation: 1 }, THRESHOLD)).toBe(false);
    expect(verdictApplies(onTls, { keys: ["tls:bbbb", SYSTEM], elicitation: 0 }, THRESHOLD)).toBe(false);
  });

  it("Should read back only system keys from a stored signature, and tell signatures apart by them", () => {
    const read = parseSignature(JSON.stringify({ bands: [], eliciting: false, systems: ["asn:16509", 7, SYSTEM] }));
    expect(read?.systems).toEqual([SYSTEM]);
    expect(sameSignature(read, judged)).toBe(false);
    expect(sameSignature(read, { ...judged, systems: [SYSTEM] })).toBe(true);
  });
});
