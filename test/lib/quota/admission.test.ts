import { describe, expect, it } from "vitest";
import type { CachedVerdict } from "../../../lib/decision.ts";
import { DEFAULT_POLICY, validatePolicy, type Policy } from "../../../lib/policy/index.ts";
import {
  admissionFacts,
  decideAdmission,
  MAX_UNITS,
  requestUnits,
  settledUsage,
  rateLimitSnapshot,
  tokenCount,
  verdictEvidence,
  type AdmissionState,
  type CounterSeries,
} from "../../../lib/quota/index.ts";

const NOW = 10_000_000;
const LIMITS = { requests: 10, inputTokens: 1_000, outputTokens: 2_000, exchangesPerDay: 100, concurrency: 2 };
const empty: CounterSeries = { requests: [], inputTokens: [], outputTokens: [], exchanges: [] };

function policy(input: Record<string, unknown> = {}): Policy {
  const result = validatePolicy(input);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

function state(over: Partial<AdmissionState> = {}): AdmissionState {
  return {
    now: NOW,
    policy: DEFAULT_POLICY,
    limits: LIMITS,
    series: empty,
    estimate: { inputTokens: 10, outputTokens: 100 },
    risk: 0,
    inFlight: 0,
    deny: null,
    overrideBlock: null,
    overrideAllow: false,
    clusterCap: null,
    capSince: 0,
    lastForwardedAt: null,
    ...over,
  };
}

function verdict(over: Partial<CachedVerdict>): CachedVerdict {
  return { cluster: "tls:x", verdict: "suspect", capPerWindow: null, reasons: [], decidedAt: 1_000, ...over };
}

describe("verdict evidence", () => {
  it("should turn each applying verdict into a signal and a reason, keeping the tightest confirmed cap and its time", () => {
    const out = verdictEvidence([
      verdict({ cluster: "a", verdict: "suspect" }),
      verdict({ cluster: "b", verdict: "confirmed", capPerWindow: 5, decidedAt: 2_000 }),
      verdict({ cluster: "c", verdict: "confirmed", capPerWindow: 0.5, decidedAt: 3_000 }),
      verdict({ cluster: "d", verdict: "confirmed", capPerWindow: null, decidedAt: 4_000 }),
    ]);
    expect(out.signals).toEqual(["cluster_member", "cluster_verdict", "cluster_verdict", "cluster_verdict"]);
    expect(out.evidence).toEqual(["cluster.suspect", "cluster.confirmed", "cluster.confirmed", "cluster.confirmed"]);
    expect(out).toMatchObject({ clusterCap: 0.5, capSince: 3_000 });
  });

  it("should leave an account without verdicts uncapped", () => {
    expect(verdictEvidence([])).toEqual({ signals: [], evidence: [], clusterCap: null, capSince: 0 });
  });
});

describe("admission facts and decision", () => {
  it("should allow and forward a request that fits every counter", () => {
    expect(decideAdmission(state())).toMatchObject({ action: "allow", enforced: true, forwarded: true });
  });

  it("should measure the day counter against the day window and the rest against the short one", () => {
    const p = DEFAULT_POLICY;
    const facts = admissionFacts(state({ series: { ...empty, exchanges: [{ start: NOW - 1_000, end: NOW, value: 100 }] } }));
    const day = facts.quota.find((q) => q.counter === "exchanges_per_day");
    expect(day?.windowMs).toBe(p.limits.dayWindowSeconds * 1000);
    expect(day?.msUntilFits).toBeGreaterThan(0);
    expect(facts.quota.filter((q) => q.counter !== "exchanges_per_day").every((q) => q.windowMs === p.limits.windowSeconds * 1000 && q.msUntilFits === 0)).toBe(true);
  });

  it("should throttle a request whose token estimate no longer fits, naming the counter", () => {
    const used = { start: NOW - 1_000, end: NOW, value: 1_995 };
    const decision = decideAdmission(state({ series: { ...empty, outputTokens: [used] } }));
    expect(decision).toMatchObject({ action: "throttle", forwarded: false, reasons: ["quota.output_tokens"] });
    expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it("should throttle on concurrency once the open leases fill the limit", () => {
    expect(decideAdmission(state({ inFlight: 2 }))).toMatchObject({ action: "throttle", reasons: ["quota.concurrency"] });
  });

  it("should pace a fractional cluster share from the later of the last forward and the verdict", () => {
    const windowMs = DEFAULT_POLICY.limits.windowSeconds * 1000;
    // A share of 0.5: one request per two windows, counted from the verdict when nothing was forwarded since.
    const fresh = admissionFacts(state({ clusterCap: 0.5, capSince: NOW - windowMs, lastForwardedAt: NOW - 10 * windowMs }));
    expect(fresh.clusterCap?.msUntilFits).toBe(windowMs);
    const paced = admissionFacts(state({ clusterCap: 0.5, capSince: 0, lastForwardedAt: NOW - 2 * windowMs }));
    expect(paced.clusterCap?.msUntilFits).toBe(0);
  });

  it("should report a stricter shadowed rule beside the enforced decision", () => {
    const decision = decideAdmission(state({ policy: policy({ shadowRules: ["region"] }), deny: { reason: "region.denied" } }));
    expect(decision).toMatchObject({ action: "block", enforced: false, forwarded: true, shadowAction: "block" });
  });

  it("should let an operator's block win over everything", () => {
    expect(decideAdmission(state({ overrideBlock: { reason: "abuse" } }))).toMatchObject({ action: "block", rule: "override", forwarded: false });
  });
});

describe("rate-limit snapshot and token counts", () => {
  it("should report what remains in the window and when it empties, never below zero", () => {
    const windowMs = 60_000;
    const series = {
      requests: [{ start: NOW - 30_000, end: NOW - 25_000, value: 12 }],
      inputTokens: [{ start: NOW - 30_000, end: NOW - 25_000, value: 400 }],
      outputTokens: [],
    };
    const snapshot = rateLimitSnapshot(LIMITS, series, NOW, windowMs);
    expect(snapshot).toMatchObject({ windowSeconds: 60, requests: { limit: 10, remaining: 0 }, inputTokens: { limit: 1_000, remaining: 600 } });
    expect(snapshot.resetSeconds).toBe(35);
  });

  it("should count anything but a finite positive number of tokens as zero, and round fractions up", () => {
    expect([tokenCount(Number.NaN), tokenCount(-5), tokenCount(Number.POSITIVE_INFINITY), tokenCount(0), tokenCount(2.1)]).toEqual([0, 0, 0, 0, 3]);
  });
});

describe("oversized requests", () => {
  it("should refuse what exceeds the standing limit, name that limit, and leave a zero limit to the throttle", () => {
    const d = decideAdmission(state({ estimate: { inputTokens: 10, outputTokens: 2_001 } }));
    expect(d).toMatchObject({ action: "block", forwarded: false, refusal: "max_tokens 2001 exceeds this account's 2000 output tokens per 60 s" });
    // Risk shrank the limit in force to 1,000; the refusal names the 2,000 the standing earns.
    const shrunk = decideAdmission(state({ limits: { ...LIMITS, outputTokens: 1_000 }, standingLimits: LIMITS, estimate: { inputTokens: 10, outputTokens: 1_500 } }));
    expect(shrunk).toMatchObject({ action: "throttle", refusal: null, reasons: ["quota.output_tokens"] });
    const batch = decideAdmission(state({ units: 50, estimate: { inputTokens: 10, outputTokens: 5_000 } }));
    expect(batch.refusal).toBe(
      "a batch reserving 5000 output tokens exceeds this account's 2000 output tokens per 60 s; a batch of 50 requests exceeds this account's 10 requests per 60 s",
    );
    const stopped = decideAdmission(state({ limits: { ...LIMITS, outputTokens: 0 }, estimate: { inputTokens: 10, outputTokens: 1 } }));
    expect(stopped).toMatchObject({ action: "throttle", refusal: null });
  });

  it("should count a batch as its units, never fewer than 1 nor more than the bound", () => {
    expect([requestUnits(undefined), requestUnits(0), requestUnits(-3), requestUnits(2.2), requestUnits(1e9), requestUnits(Number.NaN)]).toEqual([
      1, 1, 1, 3, MAX_UNITS, MAX_UNITS,
    ]);
  });

  it("should give tokens back for an answer without usage only when nothing can have been generated", () => {
    expect(settledUsage({ leaseId: "l", usage: null, status: 529 }, 4_000)).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect(settledUsage({ leaseId: "l", usage: null, status: 200 }, 0)).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect(settledUsage({ leaseId: "l", usage: null, status: 200 }, 4_000)).toBeNull();
    expect(settledUsage({ leaseId: "l", usage: { inputTokens: 5, outputTokens: 6 }, status: 500 }, 4_000)).toEqual({ inputTokens: 5, outputTokens: 6 });
  });
});
