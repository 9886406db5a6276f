/**
 * Clusters: which accounts' shared fingerprints make a key, when a key is judged, the verdict score
 * (`clusters.verdict`) and what a confirmed cluster's members may still do (lib/cluster/).
 */
import * as z from "../zod.ts";
import { between, intBetween, intFrom, nonNegInt, positiveNumber, section, share, strings } from "./fields.ts";

/** Fingerprint kinds a combination key can join ("tpl" and "template" are the same: the SimHash bands). */
export const FINGERPRINT_KINDS = ["asn", "prefix", "tls", "sdk", "headers", "system", "tpl", "template"] as const;

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
  "pooled",
  "campaign_members",
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
  pooled: 3,
  campaign_members: 2.5,
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
  /**
   * The campaign_members evidence on an exact prompt key (one system prompt, one wrapper): the share of
   * its requests sent by accounts that a collector knows as members of a confirmed campaign (they sent
   * another confirmed system prompt or wrapper), counting from `from` and fully at `full`. A campaign that
   * changes its wording (a second phrasing, a pivot) keeps its accounts; an honest tool's prompt is sent by
   * its own users. 0.3: a second wording's key collects requests from accounts that have not yet sent the
   * first one too; 0.8: nearly all of it is the campaign's.
   */
  campaignMembers: section({
    /** Share of the key's requests from a confirmed campaign's members at which the evidence starts to count. */
    from: z._default(share, 0.3),
    /** Share at which it counts its whole weight (weights.campaign_members). */
    full: z._default(share, 0.8),
  }).check(z.refine((v) => v.from < v.full, { message: "campaignMembers.from must be below campaignMembers.full" })),
}).check(z.refine((v) => v.suspectScore <= v.confirmScore, { message: "suspectScore must not exceed confirmScore" }));

export const clustersSchema = section({
  /** Cluster collectors; accounts report to `hash(account) mod shards` (more collectors = less load per object). */
  shards: z._default(intBetween(1, 256), 16),
  /** Accounts report their fingerprint counts to cluster shards at most this often. */
  reportIntervalSeconds: z._default(intBetween(1, 3_600), 10),
  /**
   * An account that has not reported for a whole reportIntervalSeconds reports this long after its next
   * request, instead of a whole interval later; an account that reported within the interval still waits
   * for it to end, so no account reports more often than once per interval. 1 s folds a burst (an agent's
   * tool loop, a retry) into one report. A quiet fleet's accounts send once or twice a minute, and each of
   * their requests waited the whole interval before a collector saw it: the verdict came as much later.
   * Set it to reportIntervalSeconds for the former rule (every report a whole interval after its first request).
   */
  quietReportDelaySeconds: z._default(intBetween(0, 3_600), 1),
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
  /**
   * An exact prompt key (one system prompt, one wrapper) whose requests are at most this share of its
   * members' traffic is gated on its members' requests per window instead of its own: a reseller's campaign
   * prompt rides on busy pooled accounts at a fraction of their traffic, so its own key stays under
   * minRequestsPerWindow, while a tool's, an office's or a class's prompt is most of its users' traffic and
   * is gated as before. The key still needs a fifth of minRequestsPerWindow of its own, so its shares rest
   * on more than a handful of requests. 0 gates every key on its own requests only (the former rule).
   */
  pooledShare: z._default(share, 0.6),
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
});
