import { describe, expect, it } from "vitest";
import { backstopAnswer, bucketSize, firstEntry, rememberAnswer } from "../../lib/backstop.ts";
import type { AdmitResult } from "../../lib/decision.ts";

const WINDOW_MS = 60_000;

function answer(overrides: Partial<AdmitResult> = {}): AdmitResult {
  const counter = { limit: 40, remaining: 39 };
  return {
    action: "allow",
    enforced: true,
    reasons: [],
    risk: 0,
    leaseId: "lease",
    retryAfterSeconds: 0,
    limits: { windowSeconds: WINDOW_MS / 1000, resetSeconds: 60, requests: counter, inputTokens: counter, outputTokens: counter },
    clusters: [],
    ...overrides,
  };
}

describe("the overload backstop", () => {
  it("should size the bucket as the limit ÷ the safety factor, at least one for a positive limit, none for zero", () => {
    expect(bucketSize(40, 4)).toBe(10);
    expect(bucketSize(3, 4)).toBe(1);
    expect(bucketSize(0, 4)).toBe(0);
  });

  it("should refuse a confirmed cluster member the object capped, and anyone on a key the isolate knows is confirmed", () => {
    const capped = rememberAnswer(firstEntry(40, WINDOW_MS, 0, 4), answer({ action: "degrade", reasons: ["cluster.degrade", "cluster.confirmed"] }), false, 0);
    expect(backstopAnswer(capped, 1, 4, false).answer).toMatchObject({ kind: "throttle", reason: "backstop.cluster" });
    expect(backstopAnswer(firstEntry(40, WINDOW_MS, 0, 4), 1, 4, true).answer).toMatchObject({ kind: "throttle", reason: "backstop.cluster" });
  });

  it("should not remember a block the region caused: the next request may come from elsewhere", () => {
    const entry = rememberAnswer(firstEntry(40, WINDOW_MS, 0, 4), answer({ action: "block", reasons: ["region.denied_country"] }), true, 0);
    expect(backstopAnswer(entry, 1, 4, false).answer).toEqual({ kind: "admit", degrade: false });
  });

  it("should not remember a shadow block", () => {
    const entry = rememberAnswer(firstEntry(40, WINDOW_MS, 0, 4), answer({ action: "block", enforced: false }), false, 0);
    expect(backstopAnswer(entry, 1, 4, false).answer.kind).toBe("admit");
  });

  it("should keep degrading an account the object degraded", () => {
    const entry = rememberAnswer(firstEntry(40, WINDOW_MS, 0, 4), answer({ action: "degrade", reasons: ["risk.degrade"] }), false, 0);
    expect(backstopAnswer(entry, 1, 4, false).answer).toEqual({ kind: "admit", degrade: true });
  });

  it("should release a throttle at its retry-after and refill the bucket over one window", () => {
    let entry = rememberAnswer(firstEntry(8, WINDOW_MS, 0, 4), answer({ action: "throttle", retryAfterSeconds: 5, limits: { ...answer().limits, requests: { limit: 8, remaining: 0 } } }), false, 0);
    expect(backstopAnswer(entry, 4_999, 4, false).answer).toEqual({ kind: "throttle", reason: "backstop.throttled", retryAfterSeconds: 1 });
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) {
      const step = backstopAnswer(entry, 5_000, 4, false);
      taken.push(step.answer.kind);
      entry = step.entry;
    }
    expect(taken).toEqual(["admit", "admit", "throttle"]);
    // Two tokens per 60 s: one is back after 30 s.
    expect(backstopAnswer(entry, 5_000 + 29_000, 4, false).answer.kind).toBe("throttle");
    expect(backstopAnswer(entry, 5_000 + 30_000, 4, false).answer.kind).toBe("admit");
  });
});
