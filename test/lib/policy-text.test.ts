import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, PolicyFromText, policyText, validatePolicy } from "../../lib/policy/index.ts";

describe("the policy as RPC text", () => {
  it("should serialise a policy once and read back an equal policy", () => {
    const text = policyText(DEFAULT_POLICY);
    expect(policyText(DEFAULT_POLICY)).toBe(text);
    expect(new PolicyFromText().read(text)).toEqual(DEFAULT_POLICY);
  });

  it("should parse a text once, and again only when the text changes", () => {
    const reader = new PolicyFromText();
    const first = reader.read(policyText(DEFAULT_POLICY));
    expect(reader.read(policyText(DEFAULT_POLICY))).toBe(first);
    const changed = validatePolicy({ clusters: { aggregateCapPerWindow: 7 } });
    if (!changed.ok) throw new Error("policy");
    const second = reader.read(policyText(changed.policy));
    expect(second).not.toBe(first);
    expect(second.clusters.aggregateCapPerWindow).toBe(7);
  });
});
