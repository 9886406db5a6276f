/**
 * The policy: one JSON document in KV `CONFIG` under the key `policy`.
 *
 * Every field has a default, so `{}` is a valid policy and a missing policy
 * means "built-in defaults". The schema is the single source of truth for the
 * policy reference in docs/policy.md; keep the two in step.
 */
import { entitlementSchema } from "./entitlements.ts";
import { launchGuardSchema } from "./launch-guard.ts";
import { HOSTING_ASN_SEED, VPN_ASN_SEED } from "./region/asn-seed.ts";
import * as z from "./zod.ts";

const nonNegInt = z.number().check(z.int(), z.nonnegative());
const positiveNumber = z.number().check(z.positive());
/** A number within [min, max]. */
const between = (min: number, max: number) => z.number().check(z.minimum(min), z.maximum(max));
/** An integer within [min, max]. */
const intBetween = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));
/** An integer of at least min. */
const intFrom = (min: number) => z.number().check(z.int(), z.minimum(min));
const share = between(0, 1);
const points = between(0, 100);
/** ISO 3166-1 alpha-2, plus Cloudflare's `T1` (Tor) and `XX` (unknown). */
const countryCode = z
  .string()
  .check(z.regex(/^[A-Z]{2}$/, "must be an upper-case ISO 3166-1 alpha-2 code such as \"US\""));
const strings = z.array(z.string());

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

/**
 * Every evidence signal the gateway knows, with the risk points it adds by
 * default and whether it is standing. Adding a signal is one line here.
 *
 * A standing signal is a fact about where an account's requests come from or
 * who pays for them. Seeing one again confirms it and resets its decay, but
 * never piles up: a customer billed in one country and living in another, or a
 * CI job on a cloud provider, shows the same fact on every request, and adding
 * its weight every cooldown would block them within hours (a repeated signal
 * converges to ~100× its weight with the default half-life and cooldown).
 * Behaviour (elicitation, templates, synchrony, client mismatch) still
 * accumulates.
 */
const SIGNALS = {
  cluster_member: { weight: 10, standing: false },
  cluster_verdict: { weight: 40, standing: false },
  cot_elicitation: { weight: 6, standing: false },
  template_repetition: { weight: 4, standing: false },
  synchronized_timing: { weight: 10, standing: false },
  region_mismatch: { weight: 8, standing: true },
  hosting_asn: { weight: 6, standing: true },
  vpn_asn: { weight: 10, standing: true },
  proxy_asn: { weight: 12, standing: true },
  tor: { weight: 20, standing: true },
  unknown_country: { weight: 5, standing: true },
  geo_wander: { weight: 10, standing: true },
  rtt_tunnel: { weight: 8, standing: true },
  // Billed in one country, connecting from another through a route that hides where the client is (lib/region/
  // evaluate.ts), on top of its parts. A privacy VPN abroad alone (8 + 10 + 13) stays under actions.degrade: people
  // use those honestly. A tunnel-like RTT (the client is far from its exit), or an eliciting prompt on top, reaches
  // degrade; nothing of this shape alone reaches actions.throttle.
  region_evasion: { weight: 13, standing: true },
  client_mismatch: { weight: 8, standing: false },
  // Standing: an imported indicator is a fact about the client's network or build, seen on every
  // request; accumulating it would block an honest customer who shares an ASN or SDK build with
  // another provider's campaign. At the tag threshold, so a match alone is tagged and audited.
  shared_indicator: { weight: 10, standing: true },
} as const satisfies Record<string, { weight: number; standing: boolean }>;

export type RiskSignal = keyof typeof SIGNALS;
export const RISK_SIGNALS = Object.keys(SIGNALS) as [RiskSignal, ...RiskSignal[]];

/** Standing signals top their share up to their weight instead of adding to it (see SIGNALS). */
export function isStandingSignal(signal: RiskSignal): boolean {
  return SIGNALS[signal].standing;
}

const DEFAULT_SIGNAL_WEIGHTS = Object.fromEntries(RISK_SIGNALS.map((signal) => [signal, SIGNALS[signal].weight])) as Record<
  RiskSignal,
  number
>;

/** Enforcement rules that can be put in shadow mode one by one. */
export const RULES = ["account_quota", "risk", "region", "cluster", "concurrency", "entitlements"] as const;
export type RuleName = (typeof RULES)[number];

const regionAction = z.enum(["allow", "risk", "deny"]);

/** Fingerprint kinds a combination key can join ("tpl" and "template" are the same: the SimHash bands). */
export const FINGERPRINT_KINDS = ["asn", "prefix", "tls", "sdk", "headers", "system", "tpl", "template"] as const;

/** A section of the policy: unknown keys refused, and an absent section is `{}` with its own defaults. */
function section<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const object = z.strictObject(shape);
  // Every field of a section has a default or is optional, so `{}` is valid input. The type
  // system cannot see that through a generic shape; DEFAULT_POLICY below parses `{}` at load,
  // so a section that breaks it fails at once.
  return z.prefault(object, {} as z.input<typeof object>);
}

/**
 * The cluster verdict score (lib/cluster/evidence.ts), one self-contained block. Each kind of evidence
 * adds at most its weight, in log-odds points, along a saturating curve, to a prior set by the key's
 * kind; a logistic turns the sum into a score in 0..1. Defaults come from scripts/calibrate-verdict.ts.
 */
export const VERDICT_EVIDENCE = [
  "accounts",
  "requests",
  "synchrony",
  "template",
  "elicitation",
  "system_prompt",
  "wrapper",
  "client",
  "hosting",
  "new_accounts",
  "payment",
  "volume",
  "model_pivot",
] as const;
export type VerdictEvidence = (typeof VERDICT_EVIDENCE)[number];

const DEFAULT_VERDICT_WEIGHTS: Record<VerdictEvidence, number> = {
  accounts: 2.5,
  requests: 1.5,
  synchrony: 3,
  template: 3,
  elicitation: 3,
  system_prompt: 2.5,
  wrapper: 2.5,
  client: 2,
  hosting: 2.5,
  new_accounts: 3,
  payment: 2,
  volume: 3,
  model_pivot: 1,
};

const logOdds = between(-20, 0);
/** Strictly inside (0, 1). */
const openShare = z.number().check(z.gt(0), z.lt(1));

const clusterVerdictSchema = section({
  /** Score (0..1) from which a key is `confirmed`: its members are capped and degraded. */
  confirmScore: z._default(openShare, 0.9),
  /** Score (0..1) from which a key is `suspect`: its members carry the cluster_member risk signal. */
  suspectScore: z._default(openShare, 0.5),
  /**
   * Log-odds before any behaviour, by the key's kind: `broad` (asn, sdk, tls, headers and their
   * combinations) is shared by many honest customers, `network` (a /24 or /48 prefix), `band` (one
   * SimHash band, which unrelated prompts share by chance), `content` (one exact system prompt, one
   * prompt wrapper, one payment fingerprint) is something accounts share only by running one tool.
   */
  priors: section({
    broad: z._default(logOdds, -5.8),
    network: z._default(logOdds, -4.5),
    band: z._default(logOdds, -5),
    content: z._default(logOdds, -4.2),
  }),
  /** Most log-odds points each kind of evidence adds (reached where its curve saturates). */
  weights: z.pipe(
    z._default(z.partialRecord(z.enum(VERDICT_EVIDENCE), between(0, 10)), {}),
    z.transform((w) => ({ ...DEFAULT_VERDICT_WEIGHTS, ...w })),
  ),
  /**
   * Most points that evidence of belonging together (one prompt, one client, one owner) adds in all,
   * reached at ~1,000 accounts (half of it at minAccounts): it tells one operator from an unrelated
   * crowd, not a campaign from an office or a platform, and a few dozen accounts of one operator are
   * what every company is.
   */
  commonalityCap: z._default(between(0, 20), 3),
  /** Points taken off when members use the API no more than honest accounts of their tier do. */
  volumeRelief: z._default(between(0, 10), 2.5),
  /**
   * What an honest account active in a window sends in it: the baseline of the volume ratio. 2 per
   * 60 s window: a person reads an answer before asking again, and tools that loop (agents, CI) are
   * the few that do more; so the ratio starts adding at 3 (1.5×) and saturates at 16 (8×), the pace
   * of a script, while an office that asks once or twice a minute earns the relief. Scale it with
   * limits.windowSeconds.
   */
  honestRequestsPerAccountPerWindow: z._default(positiveNumber, 2),
  /**
   * The same baseline per tier, where a tier's honest pace differs from the flat one: the root weighs
   * them by the key's requests per tier (a tier not listed: the flat baseline). Free accounts are people
   * trying the API, under a third of build's per-window limit; scale and enterprise accounts run products
   * whose loops (agents, batch jobs behind a UI) send far more per account, which is no sign of harvesting.
   */
  honestRequestsPerTier: z._default(z.record(z.string().check(z.minLength(1), z.maxLength(64)), positiveNumber), { free: 1.5, scale: 6, enterprise: 12 }),
}).check(z.refine((v) => v.suspectScore <= v.confirmScore, { message: "suspectScore must not exceed confirmScore" }));

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
  limits: section({
    /** Largest request body accepted, in bytes; larger bodies get 413 without being buffered. */
    maxBodyBytes: z._default(intBetween(1024, 32 * 1024 * 1024), 4 * 1024 * 1024),
    /** Length of the sliding window for per-window limits, in seconds. */
    windowSeconds: z._default(intBetween(1, 86_400), 60),
    /** Length of the "day" for exchangesPerDay, in seconds (scaled down by the simulator). */
    dayWindowSeconds: z._default(intBetween(60, 7 * 86_400), 86_400),
    /**
     * Sub-buckets per sliding window (both the window and the day). The limit holds over every
     * window of that length; a request may keep counting for up to 1/windowBuckets of a window longer.
     */
    windowBuckets: z._default(intBetween(2, 120), 12),
    /** A concurrency lease expires after this many seconds even if settle never runs. */
    leaseSeconds: z._default(intBetween(5, 3_600), 300),
    /** Input token estimate: one token per this many bytes of request body. */
    bytesPerInputToken: z._default(positiveNumber, 4),
    /** max_tokens assumed for reservation when the request omits it. */
    defaultMaxTokens: z._default(nonNegInt, 4_096),
  }),
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
  quota: section({
    /** Multiplier on every limit for verified accounts (unverified: 1). */
    verifiedMultiplier: z._default(positiveNumber, 2),
    /** Multiplier per organisation type, e.g. {"university": 0.5}. Unlisted types: 1. */
    orgTypeMultipliers: z._default(z.record(z.string(), positiveNumber), {}),
    /** Risk at which limits start to shrink (f(risk) = 1 below it). */
    riskFloor: z._default(points, 20),
    /** Smallest f(risk), reached at risk 100. */
    minRiskMultiplier: z._default(share, 0.1),
    /**
     * Allowance leases (lib/quota/allowance.ts): the account object hands an isolate a few requests,
     * tokens and slots, already counted, to admit on its own; limits stay exact.
     */
    allowance: section({
      enabled: z._default(z.boolean(), true),
      /** Requests the account must have made in the day window first: a campaign's accounts make a few each. */
      minHistoryRequests: z._default(intBetween(1, 1_000_000), 20),
      /** Most requests in one allowance: also the most an isolate admits after something that matters changed at the object. */
      maxRequests: z._default(intBetween(2, 10_000), 64),
      /**
       * How long an isolate may admit within one (never more than half of limits.windowSeconds): also
       * how long an override or a verdict the object learns may wait for an isolate's next call.
       */
      ttlMs: z._default(intBetween(100, 25_000), 10_000),
    }),
  }),
  risk: section({
    /** Risk halves after this many seconds without new evidence. */
    halfLifeSeconds: z._default(intBetween(1, 30 * 86_400), 6 * 3_600),
    /** Points each signal adds (capped at 100 in total). */
    weights: z.pipe(
      z._default(z.partialRecord(z.enum(RISK_SIGNALS), points), {}),
      z.transform((w) => ({ ...DEFAULT_SIGNAL_WEIGHTS, ...w })),
    ),
    /** A signal counts at most once per this many seconds per account (stops one burst from maxing risk). */
    signalCooldownSeconds: z._default(intBetween(0, 86_400), 300),
    /** Most points cluster evidence (cluster_member + cluster_verdict) may hold at once; keep it below actions.block. */
    clusterPointsCap: z._default(points, 45),
    /** A cached cluster verdict not restated by its cluster for this long is ignored: staleness stays bounded if the cluster stops re-sending. */
    verdictTtlSeconds: z._default(intBetween(10, 7 * 86_400), 3_600),
  }),
  /** Risk thresholds for each action, mildest first; must be non-decreasing. */
  actions: section({
    tag: z._default(points, 10),
    degrade: z._default(points, 35),
    throttle: z._default(points, 60),
    block: z._default(points, 85),
  }).check(
    z.refine((a) => a.tag <= a.degrade && a.degrade <= a.throttle && a.throttle <= a.block, {
      message: "thresholds must satisfy tag <= degrade <= throttle <= block",
    }),
  ),
  /**
   * What accounts may ask for by tier, verification and organisation type (lib/entitlements.ts):
   * first matching rule wins; no match, no entitlement limits.
   */
  entitlements: z._default(z.array(entitlementSchema).check(z.maxLength(100)), []),
  /** Ends every entitlement refusal: where to verify or upgrade (a URL or a contact). */
  entitlementHelp: z._default(z.string().check(z.maxLength(500)), ""),
  /** Tighter entitlements for low-trust accounts on a newly released model (lib/launch-guard.ts). */
  launchGuard: z.prefault(launchGuardSchema, {}),
  degrade: section({
    /** max_tokens is clamped to this when the action is degrade. */
    maxTokens: z._default(intFrom(1), 1_024),
    /** Extended-thinking requests have `thinking` removed when degraded. */
    dropThinking: z._default(z.boolean(), true),
  }),
  /** Origin routes beyond the built-in ones, and who may use batches. Every other path is 404. */
  endpoints: section({
    batches: section({
      /**
       * Tiers whose accounts may use the Message Batches API ("*": every tier); others get 403
       * permission_error naming the entitlement. Batches are bulk harvesting made easy, so free is out by default.
       */
      tiers: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(64))), ["build", "scale", "enterprise"]),
      /** Most Messages requests one batch may hold; a bigger batch gets 413 before anything is counted. */
      maxRequests: z._default(intBetween(1, 100_000), 1_000),
    }),
    /**
     * Further routes forwarded to the origin, by exact method and path (no parameters), each metered as
     * one request with no token reservation.
     */
    extra: z._default(
      z
        .array(
          z.strictObject({
            method: z.enum(["GET", "POST", "DELETE"]),
            path: z
              .string()
              .check(
                z.maxLength(256),
                z.regex(/^\/v1(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+$/, "must be an exact /v1/… path of letters, digits, '_', '-' and '.'"),
              ),
          }),
        )
        .check(z.maxLength(64)),
      [],
    ),
  }),
  safeguards: section({
    /** Enforced degrade answers lose their thinking and redacted_thinking blocks (JSON and streams). */
    stripThinking: z._default(z.boolean(), true),
    /**
     * Which enforced actions the client is told about, in the `distillguard-notice` answer header
     * (the action and appealContact, never the reasons or the risk). Off by default: a notice tells
     * a campaign what it tripped as surely as it tells a customer why answers are short.
     */
    notice: section({
      degrade: z._default(z.boolean(), false),
      throttle: z._default(z.boolean(), false),
      block: z._default(z.boolean(), false),
    }),
    /** Where a client appeals (a URL or an address), named in the notice; printable ASCII, no quotes. */
    appealContact: z._default(z.string().check(z.maxLength(200), z.regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/, "printable ASCII without quotes or backslashes")), ""),
  }),
  regions: section({
    /** Request countries refused outright (403). */
    deniedCountries: z._default(z.array(countryCode), []),
    /** Accounts billed in these countries are refused on every request. Defaults to deniedCountries when unset. */
    deniedBillingCountries: z.optional(z.array(countryCode)),
    /** Tor exit traffic (country T1). */
    tor: z._default(regionAction, "risk"),
    /** Unknown country (XX or missing). */
    unknownCountry: z._default(regionAction, "allow"),
    /**
     * ASN lists by category; operators update them in KV without a deploy. Hosting and VPN default to
     * the well-known clouds and VPN-heavy hosters of lib/region/asn-seed.ts: their standing risk signal
     * stays below quota.riskFloor and actions.degrade, so by itself it neither slows nor degrades honest cloud customers.
     */
    asnCategories: section({
      hosting: z._default(z.array(nonNegInt), HOSTING_ASN_SEED.map((entry) => entry.asn)),
      vpn: z._default(z.array(nonNegInt), VPN_ASN_SEED.map((entry) => entry.asn)),
      residentialProxy: z._default(z.array(nonNegInt), []),
    }),
    /** What a request from a categorised ASN does. */
    asnAction: z._default(regionAction, "risk"),
    /** Accounts exempt from the region checks. */
    exemptAccounts: z._default(strings, []),
    /** Tiers exempt from the region checks. */
    exemptTiers: z._default(strings, []),
    /** Distinct countries per account per day above which the account "wanders". */
    wanderCountries: z._default(intFrom(1), 4),
    /** Distinct /24 or /48 prefixes per account per day above which the account "wanders". */
    wanderPrefixes: z._default(intFrom(1), 32),
    /**
     * A request whose country differs from the account's billing country AND that comes through a route hiding
     * the client (a VPN or residential-proxy ASN, or a tunnel-like RTT): the shape of dodging a regional
     * restriction. A hosting ASN alone is not hiding (CI and backends run there), nor is either part alone.
     */
    evasion: z._default(regionAction, "risk"),
    /** Extra RTT (ms) above what the client↔colo distance allows before it looks like a tunnel. */
    tunnelRttSlackMs: z._default(z.number().check(z.minimum(0)), 80),
  }),
  fingerprint: section({
    /** Content fingerprints look at most this many bytes of system prompt + first user turn. */
    maxContentBytes: z._default(intBetween(256, 1024 * 1024), 16 * 1024),
    /** SHA-256 (hex) of shared system prompts of legitimate tools: not a template signal. */
    allowedSystemPromptHashes: z._default(z.array(z.string().check(z.regex(/^[0-9a-f]{64}$/))), []),
    /** Elicitation score (0..1) from which a prompt counts as chain-of-thought elicitation. */
    elicitationThreshold: z._default(share, 0.5),
    /**
     * Score from which one request adds the `cot_elicitation` risk signal to its own account. Above
     * elicitationThreshold because a behaviour signal accumulates: a heavy honest user's rare false
     * positives must not add up to a degrade. 0.85 is the lowest point at which the scorer's validation
     * ordinary prompts fire at most 0.1 % and its hard ones (tutors, own-product QA, homework) 0.5 %
     * (`npm run train:elicitation` prints it); keys' eliciting share is judged at elicitationThreshold.
     */
    elicitationSignalThreshold: z._default(share, 0.85),
  }),
  clusters: section({
    /** Cluster collectors; accounts report to `hash(account) mod shards` (more collectors = less load per object). */
    shards: z._default(intBetween(1, 256), 16),
    /** Accounts report their fingerprint counts to cluster shards at most this often. */
    reportIntervalSeconds: z._default(intBetween(1, 3_600), 10),
    /** Distinct accounts sharing a key before it is a cluster candidate. */
    minAccounts: z._default(intFrom(2), 20),
    /**
     * Aggregate requests per window across the key that, with minAccounts, make a verdict. The rate evidence
     * counts from 50 whatever this says, so lowering it judges smaller keys without raising any key's score.
     * Kept at 50: at 20 a quiet fleet of twenty accounts was judged but stayed `suspect` (the calibration's
     * small-quiet family: 5 % confirmed either way), while every suspect key, and there were more of them,
     * puts the cluster_member risk signal on the honest accounts that share it.
     */
    minRequestsPerWindow: z._default(nonNegInt, 50),
    /** Synchrony (0..1) above which the cluster is "synchronised". */
    synchronyThreshold: z._default(share, 0.6),
    /** Share of requests on one template band above which the cluster is "templated". */
    templateConcentration: z._default(share, 0.5),
    /** Share of elicitation prompts above which the cluster is "eliciting". */
    elicitationShare: z._default(share, 0.3),
    /** Requests per window the whole cluster may make once flagged, shared by all members. */
    aggregateCapPerWindow: z._default(nonNegInt, 100),
    /**
     * Requests a confirmed cluster's members make within the cap are degraded (max_tokens clamped to
     * degrade.maxTokens): the campaign gets answers too short to train on, while a customer the
     * verdict caught by mistake still gets answers.
     */
    degradeWithinCap: z._default(z.boolean(), true),
    /** Fingerprint keys (as shown by the admin API) never treated as clusters: corporate NATs, popular tools. */
    allowlist: z._default(strings, []),
    /**
     * Fingerprint kinds that never link accounts into components: an ASN is shared by every customer of
     * an ISP, and two prompts sharing one 16-bit template band are not one actor.
     */
    linkIgnoreKinds: z._default(strings, ["asn", "tpl"]),
    /** A key shared by more accounts than this links nothing (popular SDK builds, browsers, big NATs). */
    linkMaxAccounts: z._default(intFrom(2), 2_000),
    /** Share of a component's members on confirmed keys from which the whole component is confirmed. */
    componentConfirmShare: z._default(share, 0.5),
    /**
     * Edges the linker reads per run, freshest first: what it holds in memory stays bounded however big
     * the graph grows. A run that hits it links what it read and withdraws nothing (see worker/cron/linker.ts).
     */
    linkMaxEdges: z._default(intBetween(1_000, 1_000_000), 100_000),
    /** Member objects told about new or changed component verdicts per cron run (the rest follow next run). */
    pushPerRun: z._default(intBetween(1, 10_000), 500),
    /** Fingerprint kinds combined into extra keys, e.g. [["asn","tls"]]. */
    combinations: z._default(z.array(z.array(z.enum(FINGERPRINT_KINDS)).check(z.minLength(2))), [["tls", "sdk"]]),
    /** The verdict score: thresholds, priors and weights (see clusterVerdictSchema). */
    verdict: clusterVerdictSchema,
  }),
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
