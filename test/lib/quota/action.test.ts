import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, type RuleName } from "../../../lib/policy/index.ts";
import { admissionFindings, decide, riskAction, type AdmissionFacts } from "../../../lib/quota/index.ts";

const calm: AdmissionFacts = {
  deny: null,
  overrideBlock: null,
  overrideAllow: false,
  inFlight: 0,
  concurrencyLimit: 4,
  quota: [{ counter: "requests", msUntilFits: 0, windowMs: 60_000 }],
  clusterCap: null,
  risk: 0,
  riskMsUntilBelowThrottle: 0,
  thresholds: DEFAULT_POLICY.actions,
  windowSeconds: 60,
};
const none = () => false;
const only = (...rules: RuleName[]) => (rule: RuleName) => rules.includes(rule);

describe("action choice", () => {
  it("should allow a calm request and forward it", () => {
    expect(decide(admissionFindings(calm), none)).toMatchObject({ action: "allow", enforced: true, forwarded: true, reasons: [] });
  });

  it("should climb the risk ladder mildest first", () => {
    const t = DEFAULT_POLICY.actions;
    expect(riskAction(t.tag - 1, t)).toBe("allow");
    expect(riskAction(t.tag, t)).toBe("tag");
    expect(riskAction(t.degrade, t)).toBe("degrade");
    expect(riskAction(t.throttle, t)).toBe("throttle");
    expect(riskAction(100, t)).toBe("block");
  });

  it("should throttle an over-quota request with the wait until it fits, and not forward it", () => {
    const d = decide(admissionFindings({ ...calm, quota: [{ counter: "requests", msUntilFits: 12_300, windowMs: 60_000 }] }), none);
    expect(d).toMatchObject({ action: "throttle", enforced: true, forwarded: false, retryAfterSeconds: 13, reasons: ["quota.requests"] });
  });

  it("should let a region deny win over everything else", () => {
    const d = decide(admissionFindings({ ...calm, deny: { reason: "region.country_denied" }, risk: 70 }), none);
    expect(d).toMatchObject({ action: "block", rule: "region", forwarded: false });
  });

  it("should decide but not enforce a shadowed rule, and forward (and so count) the request", () => {
    const facts = { ...calm, quota: [{ counter: "requests" as const, msUntilFits: 5_000, windowMs: 60_000 }] };
    const d = decide(admissionFindings(facts), only("account_quota"));
    expect(d).toMatchObject({ action: "throttle", enforced: false, forwarded: true, shadowAction: "throttle" });
  });

  it("should enforce the strictest enforced finding and report a stricter shadowed one beside it", () => {
    const facts = { ...calm, risk: 40, quota: [{ counter: "requests" as const, msUntilFits: 5_000, windowMs: 60_000 }] };
    const d = decide(admissionFindings(facts), only("account_quota"));
    expect(d).toMatchObject({ action: "degrade", enforced: true, forwarded: true, shadowAction: "throttle" });
    expect(d.reasons).toEqual(["risk.degrade", "shadow.quota.requests"]);
  });

  it("should never shadow an operator's block", () => {
    const d = decide(admissionFindings({ ...calm, overrideBlock: { reason: "abuse" } }), () => true);
    expect(d).toMatchObject({ action: "block", enforced: true, rule: "override", forwarded: false });
  });

  it("should let an operator's allow silence risk and cluster caps but not quotas", () => {
    const facts: AdmissionFacts = { ...calm, overrideAllow: true, risk: 95, clusterCap: { msUntilFits: 1_000, windowMs: 60_000 } };
    expect(decide(admissionFindings(facts), none).action).toBe("allow");
    const over = { ...facts, quota: [{ counter: "requests" as const, msUntilFits: 1_000, windowMs: 60_000 }] };
    expect(decide(admissionFindings(over), none).action).toBe("throttle");
  });

  it("should degrade what a confirmed cluster sends within its cap, and throttle what does not fit", () => {
    const within: AdmissionFacts = { ...calm, clusterCap: { msUntilFits: 0, windowMs: 60_000, degrade: true } };
    expect(decide(admissionFindings(within), none)).toMatchObject({ action: "degrade", rule: "cluster", reasons: ["cluster.degrade"], forwarded: true });
    expect(decide(admissionFindings({ ...within, clusterCap: { msUntilFits: 0, windowMs: 60_000, degrade: false } }), none).action).toBe("allow");
    const over: AdmissionFacts = { ...calm, clusterCap: { msUntilFits: 5_000, windowMs: 60_000, degrade: true } };
    expect(decide(admissionFindings(over), none)).toMatchObject({ action: "throttle", reasons: ["cluster.cap"], retryAfterSeconds: 5 });
    expect(decide(admissionFindings({ ...within, overrideAllow: true }), none).action).toBe("allow");
  });

  it("should throttle on concurrency with a short retry", () => {
    const d = decide(admissionFindings({ ...calm, inFlight: 4 }), none);
    expect(d).toMatchObject({ action: "throttle", rule: "concurrency", retryAfterSeconds: 1 });
  });

  it("should cap a risk throttle's retry-after at one window so it does not reveal the decay", () => {
    const d = decide(admissionFindings({ ...calm, risk: 70, riskMsUntilBelowThrottle: 3 * 3_600_000 }), none);
    expect(d).toMatchObject({ action: "throttle", rule: "risk", retryAfterSeconds: 60 });
  });

  it("should wait for the slowest of several exceeded counters", () => {
    const d = decide(
      admissionFindings({
        ...calm,
        quota: [
          { counter: "requests", msUntilFits: 2_000, windowMs: 60_000 },
          { counter: "output_tokens", msUntilFits: 40_000, windowMs: 60_000 },
          { counter: "exchanges_per_day", msUntilFits: Number.POSITIVE_INFINITY, windowMs: 86_400_000 },
        ],
      }),
      none,
    );
    expect(d.retryAfterSeconds).toBe(86_400);
    expect(d.reasons).toEqual(["quota.requests", "quota.output_tokens", "quota.exchanges_per_day"]);
  });
});
