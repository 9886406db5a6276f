import { describe, expect, it } from "vitest";
import { scoreEvidence, type KeyMetrics } from "../../lib/cluster/evidence.ts";
import { checkEntitlement } from "../../lib/entitlements.ts";
import {
  detectPivot,
  isNewAccount,
  isRiskyAccount,
  launchGuardSchema,
  launchRule,
  newAccountRule,
  riskyAccountRule,
  type LaunchGuard,
} from "../../lib/launch-guard.ts";
import { validatePolicy } from "../../lib/policy/index.ts";

const HOUR = 3_600_000;
const RELEASE = Date.UTC(2026, 10, 1, 12);
const guard = launchGuardSchema.parse({ models: [{ model: "demo-model-2*", releasedAt: new Date(RELEASE).toISOString() }], hours: 24 });
const account = { tier: "free", verified: true, orgType: null };

describe("launchRule", () => {
  it("should hold from the release for the configured hours, on models the glob names", () => {
    expect(launchRule(guard, "demo-model-2", RELEASE)?.during).toBe("in the first 24 hours after demo-model-2* is released");
    expect(launchRule(guard, "demo-model-2-fast", RELEASE + 23 * HOUR)).not.toBeNull();
    expect(launchRule(guard, "demo-model-2", RELEASE + 24 * HOUR)).toBeNull();
    expect(launchRule(guard, "demo-model-2", RELEASE - 1)).toBeNull();
    expect(launchRule(guard, "demo-model-1", RELEASE)).toBeNull();
    expect(launchRule(guard, undefined, RELEASE)).toBeNull();
  });

  it("should by default clamp unverified accounts to 4096 max_tokens and a 2048-token thinking budget", () => {
    expect(launchRule(guard, "demo-model-2", RELEASE)?.rule).toEqual({ when: { verified: false }, maxTokens: 4_096, thinkingBudgetTokens: 2_048, beyond: "clamp" });
  });
});

describe("who the launch guard holds", () => {
  it("should hold accounts registered within newAccountHours (a week by default) and no older ones", () => {
    const now = RELEASE + HOUR;
    expect(guard.newAccountHours).toBe(168);
    expect(isNewAccount(guard, { ...account, createdAt: now - 2 * HOUR }, now)).toBe(true);
    expect(isNewAccount(guard, { ...account, createdAt: now - 168 * HOUR + 1 }, now)).toBe(true);
    expect(isNewAccount(guard, { ...account, createdAt: now - 168 * HOUR }, now)).toBe(false);
    expect(isNewAccount(guard, { ...account, createdAt: now - 400 * HOUR }, now)).toBe(false);
  });

  it("should count an account whose registration time is unknown as established, and hold none for age at newAccountHours 0", () => {
    const now = RELEASE + HOUR;
    expect(isNewAccount(guard, account, now)).toBe(false);
    expect(isNewAccount(guard, { ...account, createdAt: 0 }, now)).toBe(false);
    const off = launchGuardSchema.parse({ newAccountHours: 0 });
    expect(isNewAccount(off, { ...account, createdAt: now - HOUR }, now)).toBe(false);
  });

  it("should hold accounts at or above riskAtLeast (20 by default), and none for risk when it is null", () => {
    expect(guard.riskAtLeast).toBe(20);
    expect(isRiskyAccount(guard, 19.9)).toBe(false);
    expect(isRiskyAccount(guard, 20)).toBe(true);
    expect(isRiskyAccount(guard, 84)).toBe(true);
    expect(isRiskyAccount(launchGuardSchema.parse({ riskAtLeast: null }), 100)).toBe(false);
  });

  it("should clamp a new verified account to the rule's limits and word a refusal by its age, not its verification", () => {
    const held = newAccountRule(guard);
    const body = { model: "demo-model-2", max_tokens: 64_000, messages: [] };
    expect(checkEntitlement({ ...held, rules: [held.rule], account, route: "messages", body, help: "" })).toMatchObject({ kind: "clamped", body: { max_tokens: 4_096 } });

    const strict = newAccountRule(launchGuardSchema.parse({ rule: { when: { verified: false }, streaming: false } }));
    const refused = checkEntitlement({ ...strict, rules: [strict.rule], account, route: "messages", body: { ...body, stream: true }, help: "see /verify", during: "in the first 72 hours after demo-model-2 is released" });
    expect(refused).toEqual({
      kind: "refused",
      entitlements: ["streaming"],
      message: "streaming is not included for accounts less than 168 hours old in the first 72 hours after demo-model-2 is released. An account 168 hours old or more is entitled to more: see /verify",
    });
  });

  it("should hold a risky account only to what can be lowered, so nothing it asks is refused for its risk", () => {
    const strict = launchGuardSchema.parse({ rule: { when: { verified: false }, maxTokens: 2_000, streaming: false, maxTools: 0, beyond: "refuse" } });
    const rule = riskyAccountRule(strict);
    expect(rule).toEqual({ maxTokens: 2_000, beyond: "clamp" });
    const body = { model: "demo-model-2", max_tokens: 64_000, stream: true, tools: [{ name: "t" }], messages: [] };
    expect(checkEntitlement({ rules: rule ? [rule] : [], account, route: "messages", body, help: "" })).toMatchObject({ kind: "clamped", body: { max_tokens: 2_000, stream: true } });
    expect(riskyAccountRule(launchGuardSchema.parse({ rule: { streaming: false } }))).toBeNull();
  });

  it("should refuse policies with a pivot share outside 0.05..1 or a risk outside 0..100", () => {
    expect(validatePolicy({ launchGuard: { pivotShare: 0 } }).ok).toBe(false);
    expect(validatePolicy({ launchGuard: { pivotShare: 1.5 } }).ok).toBe(false);
    expect(validatePolicy({ launchGuard: { riskAtLeast: 101 } }).ok).toBe(false);
    expect(validatePolicy({ launchGuard: { newAccountHours: -1 } }).ok).toBe(false);
    expect(validatePolicy({ launchGuard: { riskAtLeast: null, newAccountHours: 0, pivotShare: 0.3 } }).ok).toBe(true);
  });
});

describe("detectPivot", () => {
  const g72: LaunchGuard = launchGuardSchema.parse({ models: [{ model: "demo-model-2", releasedAt: new Date(RELEASE).toISOString() }], hours: 72 });
  const DAY = 24 * HOUR;
  const firstSeenAt = (at: number) => ({ get: (model: string) => (model === "demo-model-1" ? RELEASE - 30 * DAY : at) });
  const pivotAt = (now: number, newShare: number, options: { keyFirstSeen?: number; guard?: LaunchGuard; modelFirstSeen?: number } = {}) =>
    detectPivot({
      guard: options.guard ?? g72,
      models: { "demo-model-1": Math.round(1_000 * (1 - newShare)), "demo-model-2": Math.round(1_000 * newShare) },
      firstSeen: firstSeenAt(options.modelFirstSeen ?? RELEASE + HOUR),
      keyFirstSeen: options.keyFirstSeen ?? RELEASE - 30 * DAY,
      now,
      recentMs: DAY,
    });

  it("should flag a key whose accounts move half their traffic to a listed model within a day of its release", () => {
    // The public report's campaign: half its traffic on the new model within 24 hours.
    const hourly = Array.from({ length: 24 }, (_, h) => pivotAt(RELEASE + (h + 1) * HOUR, Math.min(0.5, (h + 1) / 20)));
    expect(hourly.slice(0, 9).every((p) => p === null)).toBe(true);
    expect(hourly[9]).toEqual({ model: "demo-model-2", share: 0.5, launch: "demo-model-2" });
    expect(hourly.at(-1)).toEqual({ model: "demo-model-2", share: 0.5, launch: "demo-model-2" });
  });

  it("should not flag a crowd of established accounts adopting the model gradually, to a fifth of its traffic over the window", () => {
    for (let h = 1; h < 72; h++) expect(pivotAt(RELEASE + h * HOUR, (0.2 * h) / 72)).toBeNull();
  });

  it("should count a listed launch for its whole window, past the day an unlisted model stays new, and not after it", () => {
    // First seen on the key 47 hours ago: no longer new by the unlisted rule, still in the 72-hour launch window.
    const now = RELEASE + 48 * HOUR;
    expect(pivotAt(now, 0.6, { modelFirstSeen: RELEASE + HOUR })).toEqual({ model: "demo-model-2", share: 0.6, launch: "demo-model-2" });
    expect(pivotAt(now, 0.6, { modelFirstSeen: RELEASE + HOUR, guard: launchGuardSchema.parse({}) })).toBeNull();
    expect(pivotAt(RELEASE + 73 * HOUR, 0.6, { modelFirstSeen: RELEASE + HOUR })).toBeNull();
  });

  it("should not count a key that was born on the new model: its accounts moved nothing", () => {
    expect(pivotAt(RELEASE + 10 * HOUR, 0.9, { keyFirstSeen: RELEASE + 2 * HOUR })).toBeNull();
  });

  it("should take the share it needs from launchGuard.pivotShare, for listed and unlisted models alike", () => {
    const lower = launchGuardSchema.parse({ ...g72, pivotShare: 0.3 });
    expect(pivotAt(RELEASE + 5 * HOUR, 0.35, { guard: lower })).toMatchObject({ share: 0.35, launch: "demo-model-2" });
    const unlisted = launchGuardSchema.parse({ pivotShare: 0.3 });
    expect(pivotAt(RELEASE + 5 * HOUR, 0.35, { guard: unlisted })).toMatchObject({ model: "demo-model-2", launch: null });
    expect(pivotAt(RELEASE + 5 * HOUR, 0.35, { guard: launchGuardSchema.parse({}) })).toBeNull();
  });

  it("should find no pivot in a window without traffic", () => {
    expect(detectPivot({ guard: g72, models: {}, firstSeen: new Map(), keyFirstSeen: 0, now: RELEASE, recentMs: DAY })).toBeNull();
  });
});

describe("the model_pivot evidence", () => {
  const quiet: KeyMetrics = { accounts: 200, requestsPerWindow: 1_000, synchrony: 0, templateShare: 0, elicitationShare: 0, pivotModel: null };
  const policy = validatePolicy({});
  if (!policy.ok) throw new Error("default policy");

  it("should name the model and show its share as the value, at the model_pivot weight", () => {
    const item = scoreEvidence("asn:64500", { ...quiet, pivotModel: "demo-model-2", pivotShare: 0.52 }, policy.policy).evidence.find((e) => e.evidence === "model_pivot");
    expect(item).toEqual({ evidence: "model_pivot", value: 0.52, points: policy.policy.clusters.verdict.weights.model_pivot, model: "demo-model-2", reason: "cluster.model_pivot" });
  });

  it("should add nothing without a pivot", () => {
    const item = scoreEvidence("asn:64500", quiet, policy.policy).evidence.find((e) => e.evidence === "model_pivot");
    expect(item).toEqual({ evidence: "model_pivot", value: 0, points: 0 });
  });
});
