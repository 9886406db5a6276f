/**
 * The policy: one JSON document in KV `CONFIG` under the key `policy`.
 *
 * Every field has a default, so `{}` is a valid policy and a missing policy
 * means "built-in defaults". The schema is the single source of truth for the
 * README's configuration table; keep the two in step.
 */
import { z } from "zod";

const nonNegInt = z.number().int().nonnegative();
const positiveNumber = z.number().positive();
/** ISO 3166-1 alpha-2, plus Cloudflare's `T1` (Tor) and `XX` (unknown). */
const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, "must be an upper-case ISO 3166-1 alpha-2 code such as \"US\"");

export const tierLimitsSchema = z.strictObject({
  /** Requests admitted per window. */
  requests: nonNegInt,
  /** Input tokens (estimated at admission, reconciled at settle) per window. */
  inputTokens: nonNegInt,
  /** Output tokens (reserved from max_tokens at admission, reconciled) per window. */
  outputTokens: nonNegInt,
  /** Exchanges (admitted requests) per day window. */
  exchangesPerDay: nonNegInt,
  /** Requests in flight at once. */
  concurrency: nonNegInt,
});
export type TierLimits = z.infer<typeof tierLimitsSchema>;

const DEFAULT_TIER_LIMITS: TierLimits = { requests: 20, inputTokens: 40_000, outputTokens: 8_000, exchangesPerDay: 1_000, concurrency: 4 };

const DEFAULT_TIERS: Record<string, TierLimits> = {
  free: DEFAULT_TIER_LIMITS,
  build: { requests: 60, inputTokens: 200_000, outputTokens: 40_000, exchangesPerDay: 20_000, concurrency: 16 },
  scale: { requests: 600, inputTokens: 2_000_000, outputTokens: 400_000, exchangesPerDay: 500_000, concurrency: 64 },
  enterprise: { requests: 4_000, inputTokens: 10_000_000, outputTokens: 2_000_000, exchangesPerDay: 5_000_000, concurrency: 256 },
};

/** Every evidence signal the gateway knows, with the risk points it adds. */
export const RISK_SIGNALS = [
  "cluster_member",
  "cluster_verdict",
  "cot_elicitation",
  "template_repetition",
  "synchronized_timing",
  "region_mismatch",
  "hosting_asn",
  "vpn_asn",
  "proxy_asn",
  "tor",
  "unknown_country",
  "geo_wander",
  "rtt_tunnel",
  "client_mismatch",
] as const;
export type RiskSignal = (typeof RISK_SIGNALS)[number];

const DEFAULT_SIGNAL_WEIGHTS: Record<RiskSignal, number> = {
  cluster_member: 10,
  cluster_verdict: 40,
  cot_elicitation: 6,
  template_repetition: 4,
  synchronized_timing: 10,
  region_mismatch: 8,
  hosting_asn: 6,
  vpn_asn: 10,
  proxy_asn: 12,
  tor: 20,
  unknown_country: 5,
  geo_wander: 10,
  rtt_tunnel: 8,
  client_mismatch: 8,
};

/** Enforcement rules that can be put in shadow mode one by one. */
export const RULES = ["account_quota", "risk", "region", "cluster", "concurrency"] as const;
export type RuleName = (typeof RULES)[number];

const regionAction = z.enum(["allow", "risk", "deny"]);

/** Fingerprint kinds a combination key can join ("tpl" and "template" are the same: the SimHash bands). */
export const FINGERPRINT_KINDS = ["asn", "prefix", "tls", "sdk", "headers", "system", "tpl", "template"] as const;

export const policySchema = z.strictObject({
  /** Bumped by operators on every change; echoed in logs and the admin API. */
  version: nonNegInt.default(0),
  /** `enforce` acts on decisions; `shadow` decides, logs and counts but lets everything through. */
  mode: z.enum(["enforce", "shadow"]).default("enforce"),
  /** Per-rule shadow mode: rules named here are decided and logged, never enforced. */
  shadowRules: z.array(z.enum(RULES)).default([]),
  /** What to do when the account Durable Object cannot be reached: let traffic through or refuse it. */
  failMode: z.enum(["open", "closed"]).default("open"),
  /**
   * What to do when the account object answers `overloaded` (the account is flooding it; failMode is for an
   * unreachable object only). `backstop`: the isolate answers from the object's last word on the account
   * (blocked stays blocked, throttled stays throttled until its retry-after, a confirmed cluster member is
   * refused) and admits the rest through a small local bucket, 429 beyond it. `closed`: 429 for all.
   */
  overloadMode: z.enum(["backstop", "closed"]).default("backstop"),
  /** The backstop bucket holds the account's per-window request limit ÷ this, in each isolate. */
  overloadSafetyFactor: z.number().int().min(1).max(1_000).default(4),
  limits: z
    .strictObject({
      /** Largest request body accepted, in bytes; larger bodies get 413 without being buffered. */
      maxBodyBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(4 * 1024 * 1024),
      /** Length of the sliding window for per-window limits, in seconds. */
      windowSeconds: z.number().int().min(1).max(86_400).default(60),
      /** Length of the "day" for exchangesPerDay, in seconds (scaled down by the simulator). */
      dayWindowSeconds: z.number().int().min(60).max(7 * 86_400).default(86_400),
      /**
       * Sub-buckets per sliding window (both the window and the day). The limit holds over every
       * window of that length; a request may keep counting for up to 1/windowBuckets of a window longer.
       */
      windowBuckets: z.number().int().min(2).max(120).default(12),
      /** A concurrency lease expires after this many seconds even if settle never runs. */
      leaseSeconds: z.number().int().min(5).max(3_600).default(300),
      /** Input token estimate: one token per this many bytes of request body. */
      bytesPerInputToken: positiveNumber.default(4),
      /** max_tokens assumed for reservation when the request omits it. */
      defaultMaxTokens: nonNegInt.default(4_096),
    })
    .prefault({}),
  cache: z
    .strictObject({
      /** How long an isolate trusts its cached policy before re-reading KV. */
      policyTtlSeconds: z.number().int().min(1).max(3_600).default(30),
      /** How long a key→account lookup is cached; also the revocation delay at the edge. */
      keyTtlSeconds: z.number().int().min(1).max(3_600).default(60),
      /** Entries in the per-isolate key cache (LRU). */
      keyCacheSize: z.number().int().min(16).max(1_000_000).default(10_000),
    })
    .prefault({}),
  /** Limits per tier, per window (see limits.windowSeconds). */
  tiers: z.record(z.string().min(1).max(64), tierLimitsSchema).default(DEFAULT_TIERS),
  /** Tier for accounts whose tier is unset or names a tier this policy does not define. */
  defaultTier: z.string().min(1).default("free"),
  quota: z
    .strictObject({
      /** Multiplier on every limit for verified accounts (unverified: 1). */
      verifiedMultiplier: positiveNumber.default(2),
      /** Multiplier per organisation type, e.g. {"university": 0.5}. Unlisted types: 1. */
      orgTypeMultipliers: z.record(z.string(), positiveNumber).default({}),
      /** Risk at which limits start to shrink (f(risk) = 1 below it). */
      riskFloor: z.number().min(0).max(100).default(20),
      /** Smallest f(risk), reached at risk 100. */
      minRiskMultiplier: z.number().min(0).max(1).default(0.1),
    })
    .prefault({}),
  risk: z
    .strictObject({
      /** Risk halves after this many seconds without new evidence. */
      halfLifeSeconds: z.number().int().min(1).max(30 * 86_400).default(6 * 3_600),
      /** Points each signal adds (capped at 100 in total). */
      weights: z
        .partialRecord(z.enum(RISK_SIGNALS), z.number().min(0).max(100))
        .default({})
        .transform((w) => ({ ...DEFAULT_SIGNAL_WEIGHTS, ...w })),
      /** A signal counts at most once per this many seconds per account (stops one burst from maxing risk). */
      signalCooldownSeconds: z.number().int().min(0).max(86_400).default(300),
      /** Most points cluster evidence (cluster_member + cluster_verdict) may hold at once; keep it below actions.block. */
      clusterPointsCap: z.number().min(0).max(100).default(45),
      /** A cached cluster verdict not restated by its cluster for this long is ignored: staleness stays bounded if the cluster stops re-sending. */
      verdictTtlSeconds: z.number().int().min(10).max(7 * 86_400).default(3_600),
    })
    .prefault({}),
  /** Risk thresholds for each action, mildest first; must be non-decreasing. */
  actions: z
    .strictObject({
      tag: z.number().min(0).max(100).default(10),
      degrade: z.number().min(0).max(100).default(35),
      throttle: z.number().min(0).max(100).default(60),
      block: z.number().min(0).max(100).default(85),
    })
    .prefault({})
    .refine((a) => a.tag <= a.degrade && a.degrade <= a.throttle && a.throttle <= a.block, {
      message: "thresholds must satisfy tag <= degrade <= throttle <= block",
    }),
  degrade: z
    .strictObject({
      /** max_tokens is clamped to this when the action is degrade. */
      maxTokens: z.number().int().min(1).default(1_024),
      /** Extended-thinking requests have `thinking` removed when degraded. */
      dropThinking: z.boolean().default(true),
    })
    .prefault({}),
  regions: z
    .strictObject({
      /** Request countries refused outright (403). */
      deniedCountries: z.array(countryCode).default([]),
      /** Accounts billed in these countries are refused on every request. Defaults to deniedCountries when unset. */
      deniedBillingCountries: z.array(countryCode).optional(),
      /** Tor exit traffic (country T1). */
      tor: regionAction.default("risk"),
      /** Unknown country (XX or missing). */
      unknownCountry: regionAction.default("allow"),
      /** ASN lists by category; operators update them in KV without a deploy. */
      asnCategories: z
        .strictObject({
          hosting: z.array(nonNegInt).default([]),
          vpn: z.array(nonNegInt).default([]),
          residentialProxy: z.array(nonNegInt).default([]),
        })
        .prefault({}),
      /** What a request from a categorised ASN does. */
      asnAction: regionAction.default("risk"),
      /** Accounts exempt from the region checks. */
      exemptAccounts: z.array(z.string()).default([]),
      /** Tiers exempt from the region checks. */
      exemptTiers: z.array(z.string()).default([]),
      /** Distinct countries per account per day above which the account "wanders". */
      wanderCountries: z.number().int().min(1).default(4),
      /** Distinct /24 or /48 prefixes per account per day above which the account "wanders". */
      wanderPrefixes: z.number().int().min(1).default(32),
      /** Extra RTT (ms) above what the client↔colo distance allows before it looks like a tunnel. */
      tunnelRttSlackMs: z.number().min(0).default(80),
    })
    .prefault({}),
  fingerprint: z
    .strictObject({
      /** Content fingerprints look at most this many bytes of system prompt + first user turn. */
      maxContentBytes: z.number().int().min(256).max(1024 * 1024).default(16 * 1024),
      /** SHA-256 (hex) of shared system prompts of legitimate tools: not a template signal. */
      allowedSystemPromptHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
      /** Elicitation score (0..1) from which a prompt counts as chain-of-thought elicitation. */
      elicitationThreshold: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  clusters: z
    .strictObject({
      /** Shards per fingerprint key; more shards = less load per object. */
      shards: z.number().int().min(1).max(256).default(16),
      /** Accounts report their fingerprint counts to cluster shards at most this often. */
      reportIntervalSeconds: z.number().int().min(1).max(3_600).default(10),
      /** Distinct accounts sharing a key before it is a cluster candidate. */
      minAccounts: z.number().int().min(2).default(20),
      /** Aggregate requests per window across the key that, with minAccounts, make a verdict. */
      minRequestsPerWindow: nonNegInt.default(50),
      /** Synchrony (0..1) above which the cluster is "synchronised". */
      synchronyThreshold: z.number().min(0).max(1).default(0.6),
      /** Share of requests on one template band above which the cluster is "templated". */
      templateConcentration: z.number().min(0).max(1).default(0.5),
      /** Share of elicitation prompts above which the cluster is "eliciting". */
      elicitationShare: z.number().min(0).max(1).default(0.3),
      /** Requests per window the whole cluster may make once flagged, shared by all members. */
      aggregateCapPerWindow: nonNegInt.default(100),
      /**
       * Requests a confirmed cluster's members make within the cap are degraded (max_tokens clamped to
       * degrade.maxTokens): the campaign gets answers too short to train on, while a customer the
       * verdict caught by mistake still gets answers.
       */
      degradeWithinCap: z.boolean().default(true),
      /** Fingerprint keys (as shown by the admin API) never treated as clusters: corporate NATs, popular tools. */
      allowlist: z.array(z.string()).default([]),
      /**
       * Fingerprint kinds that never link accounts into components: an ASN is shared by every customer of
       * an ISP, and two prompts sharing one 16-bit template band are not one actor.
       */
      linkIgnoreKinds: z.array(z.string()).default(["asn", "tpl"]),
      /** A key shared by more accounts than this links nothing (popular SDK builds, browsers, big NATs). */
      linkMaxAccounts: z.number().int().min(2).default(2_000),
      /** Share of a component's members on confirmed keys from which the whole component is confirmed. */
      componentConfirmShare: z.number().min(0).max(1).default(0.5),
      /** Member objects told about new or changed component verdicts per cron run (the rest follow next run). */
      pushPerRun: z.number().int().min(1).max(10_000).default(500),
      /** Fingerprint kinds combined into extra keys, e.g. [["asn","tls"]]. */
      combinations: z.array(z.array(z.enum(FINGERPRINT_KINDS)).min(2)).default([["tls", "sdk"]]),
    })
    .prefault({}),
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
