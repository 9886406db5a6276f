/**
 * The policy: one JSON document in KV `CONFIG` under the key `policy`.
 *
 * Every field has a default, so `{}` is a valid policy and a missing policy
 * means "built-in defaults". The schema is the single source of truth for the
 * policy reference in docs/policy.md; keep the two in step. Its sections live
 * one topic a file in this folder; this module strings them together, and is
 * the one the rest of the code imports.
 */
import { entitlementSchema } from "../entitlements.ts";
import { launchGuardSchema } from "../launch-guard.ts";
import * as z from "../zod.ts";
import { clustersSchema } from "./clusters.ts";
import { degradeSchema, safeguardsSchema } from "./degrade.ts";
import { endpointsSchema } from "./endpoints.ts";
import { intBetween, nonNegInt, section } from "./fields.ts";
import { fingerprintSchema } from "./fingerprint.ts";
import { DEFAULT_TIER_LIMITS, DEFAULT_TIERS, limitsSchema, quotaSchema, tierLimitsSchema, type TierLimits } from "./quota.ts";
import { regionsSchema } from "./regions.ts";
import { actionsSchema, riskSchema } from "./risk.ts";

export { FINGERPRINT_KINDS, VERDICT_EVIDENCE, type VerdictEvidence } from "./clusters.ts";
export { tierLimitsSchema, type TierLimits } from "./quota.ts";
export { isStandingSignal, RISK_SIGNALS, type RiskSignal } from "./risk.ts";

/** Enforcement rules that can be put in shadow mode one by one. */
export const RULES = ["account_quota", "risk", "region", "cluster", "concurrency", "entitlements"] as const;
export type RuleName = (typeof RULES)[number];

export const policySchema = z.strictObject({
  /** Bumped by operators on every change; echoed in logs and the admin API. */
  version: z._default(nonNegInt, 0),
  /** `enforce` acts on decisions; `shadow` decides, logs and counts but lets everything through. */
  mode: z._default(z.enum(["enforce", "shadow"]), "enforce"),
  /** Per-rule shadow mode: rules named here are decided and logged, never enforced. */
  shadowRules: z._default(z.array(z.enum(RULES)), []),
  /** What to do when the account Durable Object cannot be reached: let traffic through or refuse it. */
  failMode: z._default(z.enum(["open", "closed"]), "open"),
  /**
   * What to do when the account object answers `overloaded` (the account is flooding it; failMode is for an
   * unreachable object only). `backstop`: the isolate answers from the object's last word on the account
   * (blocked stays blocked, throttled stays throttled until its retry-after, a confirmed cluster member is
   * refused) and admits the rest through a small local bucket, 429 beyond it. `closed`: 429 for all.
   */
  overloadMode: z._default(z.enum(["backstop", "closed"]), "backstop"),
  /** The backstop bucket holds the account's per-window request limit ÷ this, in each isolate. */
  overloadSafetyFactor: z._default(intBetween(1, 1_000), 4),
  limits: limitsSchema,
  cache: section({
    /** How long an isolate trusts its cached policy before re-reading KV. */
    policyTtlSeconds: z._default(intBetween(1, 3_600), 30),
    /** How long a key→account lookup is cached; also the revocation delay at the edge. */
    keyTtlSeconds: z._default(intBetween(1, 3_600), 60),
    /** Entries in the per-isolate key cache (LRU). */
    keyCacheSize: z._default(intBetween(16, 1_000_000), 10_000),
  }),
  /** Limits per tier, per window (see limits.windowSeconds). */
  tiers: z._default(z.record(z.string().check(z.minLength(1), z.maxLength(64)), tierLimitsSchema), DEFAULT_TIERS),
  /** Tier for accounts whose tier is unset or names a tier this policy does not define. */
  defaultTier: z._default(z.string().check(z.minLength(1)), "free"),
  quota: quotaSchema,
  risk: riskSchema,
  /** Risk thresholds for each action, mildest first; must be non-decreasing. */
  actions: actionsSchema,
  /**
   * What accounts may ask for by tier, verification and organisation type (lib/entitlements.ts):
   * first matching rule wins; no match, no entitlement limits.
   */
  entitlements: z._default(z.array(entitlementSchema).check(z.maxLength(100)), []),
  /** Ends every entitlement refusal: where to verify or upgrade (a URL or a contact). */
  entitlementHelp: z._default(z.string().check(z.maxLength(500)), ""),
  /** Tighter entitlements for low-trust accounts on a newly released model (lib/launch-guard.ts). */
  launchGuard: z.prefault(launchGuardSchema, {}),
  degrade: degradeSchema,
  /** Origin routes beyond the built-in ones, and who may use batches. Every other path is 404. */
  endpoints: endpointsSchema,
  safeguards: safeguardsSchema,
  regions: regionsSchema,
  fingerprint: fingerprintSchema,
  clusters: clustersSchema,
  /** How long D1 keeps what the gateway writes; the cron deletes older rows, a bounded number per run. */
  retention: section({
    /** Audit rows (decisions, overrides, admin changes) older than this many days are deleted. */
    auditDays: z._default(intBetween(1, 3_650), 90),
    /** Per-minute decision counts older than this many days are deleted. */
    decisionCountDays: z._default(intBetween(1, 3_650), 90),
    /** Account↔fingerprint edges not seen, and key snapshots not rewritten, for this many days are deleted (a live edge is refreshed hourly). */
    edgeDays: z._default(intBetween(1, 3_650), 30),
    /** Rows deleted per table per cron run, so one run stays short however much has expired. */
    deletesPerRun: z._default(intBetween(1, 100_000), 5_000),
  }),
});

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export const DEFAULT_POLICY: Policy = policySchema.parse({});

export type PolicyProblem = { path: string; message: string };

export type PolicyValidation =
  | { ok: true; policy: Policy }
  | { ok: false; problems: PolicyProblem[] };

/** Validates raw policy text or a parsed value; returns every problem, never throws. */
export function validatePolicy(input: unknown): PolicyValidation {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (err) {
      return { ok: false, problems: [{ path: "", message: `not JSON: ${(err as Error).message}` }] };
    }
  }
  const result = policySchema.safeParse(value);
  if (result.success) {
    const policy = result.data;
    const problems: PolicyProblem[] = [];
    if (!Object.hasOwn(policy.tiers, policy.defaultTier)) {
      problems.push({ path: "defaultTier", message: `tier "${policy.defaultTier}" is not defined in tiers` });
    }
    return problems.length === 0 ? { ok: true, policy } : { ok: false, problems };
  }
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message,
    })),
  };
}

const policyTexts = new WeakMap<Policy, string>();

/**
 * A validated policy as JSON text, memoised per policy object. RPC arguments
 * are copied by walking them: a ~2 KB string costs a copy, the same policy as
 * an object costs a walk of every field on every admit, report and roll-up.
 */
export function policyText(policy: Policy): string {
  let text = policyTexts.get(policy);
  if (text === undefined) {
    text = JSON.stringify(policy);
    policyTexts.set(policy, text);
  }
  return text;
}

/**
 * The policy behind the latest text an object was sent, parsed once per
 * distinct text. The text comes from policyText on an already validated
 * policy, inside the deployment, so it is parsed, not validated again.
 */
export class PolicyFromText {
  private text: string | null = null;
  private policy: Policy = DEFAULT_POLICY;

  read(text: string): Policy {
    if (text !== this.text) {
      this.policy = JSON.parse(text) as Policy;
      this.text = text;
    }
    return this.policy;
  }
}

/**
 * Limits for one tier, falling back to the default tier. Tier and org-type names come from account
 * records and operators: own keys only, so a tier named `constructor` or an org type `__proto__` is
 * simply unknown, not a property every object inherits.
 */
export function tierLimits(policy: Policy, tier: string | undefined): TierLimits {
  if (tier !== undefined && Object.hasOwn(policy.tiers, tier)) return policy.tiers[tier] ?? DEFAULT_TIER_LIMITS;
  return Object.hasOwn(policy.tiers, policy.defaultTier) ? (policy.tiers[policy.defaultTier] ?? DEFAULT_TIER_LIMITS) : DEFAULT_TIER_LIMITS;
}

/** quota.orgTypeMultipliers for this org type; 1 for none or one the policy does not list. */
export function orgTypeMultiplier(policy: Policy, orgType: string | null): number {
  if (orgType === null || !Object.hasOwn(policy.quota.orgTypeMultipliers, orgType)) return 1;
  return policy.quota.orgTypeMultipliers[orgType] ?? 1;
}

export function isShadow(policy: Policy, rule: RuleName): boolean {
  return policy.mode === "shadow" || policy.shadowRules.includes(rule);
}
