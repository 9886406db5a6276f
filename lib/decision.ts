/**
 * The contract between the Worker and AccountDO: what admission is asked and
 * what it answers. Plain data, so it crosses the RPC boundary as-is.
 */
import type { Signature } from "./cluster/verdict.ts";
import type { RiskSignal } from "./policy/index.ts";

export const ACTIONS = ["allow", "tag", "degrade", "throttle", "block"] as const;
export type Action = (typeof ACTIONS)[number];

export function actionRank(action: Action): number {
  return ACTIONS.indexOf(action);
}

/** The account as the edge knows it (from the KV key index). */
export type AccountProfile = {
  id: string;
  tier: string;
  orgType: string | null;
  verified: boolean;
  billingCountry: string | null;
  paymentFingerprint: string | null;
  /** Epoch ms the account was registered; absent in key-index entries written before it was recorded. */
  createdAt?: number;
};

/** What the fingerprint step hands to admission: keys to count, features to judge. */
export type AdmitFingerprint = {
  /** Cluster-candidate keys, e.g. "asn:13335", "tls:…", "tpl:0:…"; allow-listed ones already removed. */
  keys: string[];
  country: string;
  prefix: string | null;
  model: string;
  elicitation: number;
  thinking: boolean;
  /**
   * For a Message Batch: the share (0..1) of its contained requests whose prompt scored at or above the
   * elicitation threshold, so a cluster report can count `units × elicitedShare` eliciting requests.
   * Absent for a single request: `elicitation` alone decides.
   */
  elicitedShare?: number;
};

export type AdmitRequest = {
  account: AccountProfile;
  /** The validated policy as JSON (lib/policy/index.ts policyText): a string crosses RPC far cheaper than the object. */
  policyJson: string;
  /** Input tokens estimated from the body; output tokens reserved from max_tokens (a batch: summed over its requests). */
  estimate: { inputTokens: number; outputTokens: number };
  /**
   * How many Messages requests this one admission stands for; absent means 1. A Message Batch is
   * admitted once for all the requests it holds: the account object checks and counts `units`
   * (1…10,000) against the per-window request limit and the daily exchanges. The estimate already
   * holds the sum of the batch's tokens.
   */
  units?: number;
  /** Evidence seen on this request (region, fingerprint), each raising risk by its policy weight. */
  signals: RiskSignal[];
  reasons: string[];
  fingerprint: AdmitFingerprint;
  /** A hard deny decided before admission (e.g. region); admission still counts and audits it. */
  deny: { reason: string; status: 403 } | null;
  requestId: string;
  /** Settles of this account's earlier answers, applied before this admission is decided. */
  settles?: SettleRequest[];
  /** Verdicts on this request's keys that the isolate has already seen (so a fresh account learns at once). */
  verdicts?: CachedVerdict[];
  /**
   * The newest version of the account's collector's verdict feed the isolate has seen: the answer's
   * `feed` brings what the account object knows after it. Absent: the isolate asks for no feed.
   */
  feedSince?: number;
  /** The isolate holds no allowance for this account and would take one (lib/quota/allowance.ts). */
  wantsAllowance?: boolean;
  /** Who asks, with wantsAllowance: the isolate's own id, which an operator sees on the allowance it holds. */
  holder?: string;
  /** What the isolate admitted on its own and the allowances it gives back, applied before this admission. */
  report?: AllowanceReport;
};

/**
 * What the account object lets one isolate admit on its own: requests, token budgets and concurrency
 * slots, all already counted against the account's limits (pre-debited), for a short time. The admit
 * that got it is its first request (lease `<id>:0`), counted and settled with it.
 */
export type AllowanceGrant = {
  id: string;
  /** Requests and tokens the isolate may admit after the first. */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Requests in flight at once within it, the first included. */
  slots: number;
  /** How long the isolate may admit within it, counted from when it sent the admit that got it. */
  ttlMs: number;
  /** The fingerprint keys the object has seen on this account: a request with any other asks the object. */
  keys: string[];
};

/** One request an isolate admitted within an allowance: what the object would have recorded. */
export type LocalAdmission = {
  requestId: string;
  /** Epoch ms at the edge. */
  at: number;
  keys: string[];
  country: string;
  prefix: string | null;
  model: string;
  elicitation: number;
  inputTokens: number;
  outputTokens: number;
  /** The allowance it was admitted within (its grant id). */
  allowance?: string;
};

/** An allowance given back: what was admitted within it and what that really cost (every request settled). */
export type AllowanceReturn = { id: string; requests: number; inputTokens: number; outputTokens: number };

/** Rides on the isolate's next call to the account object, or goes alone when none comes soon. */
export type AllowanceReport = { admitted: LocalAdmission[]; returned: AllowanceReturn[] };

/**
 * An isolate asking for the account's next allowance while its current one still runs, so that no
 * request waits for the answer: sent in the background by a request it admitted locally (already in
 * `report`, so not counted again), which the object judges as it would have judged it.
 */
export type RenewRequest = Pick<AdmitRequest, "account" | "policyJson" | "estimate" | "fingerprint"> & {
  holder: string;
  report?: AllowanceReport;
};

export type RenewResult = {
  /**
   * False when the account no longer holds allowances at all (a risk signal, an override, a verdict,
   * a rule that would not plainly allow): the isolate ends every allowance it holds for the account,
   * so its next request asks the object. True with no grant: only no room for one now.
   */
  qualifies: boolean;
  /** Its requests are all the isolate's to admit: no request of its own came with it. */
  allowance?: AllowanceGrant;
  risk: number;
  limits: RateLimitSnapshot;
};

/** Remaining capacity for the RateLimit / anthropic-ratelimit-* headers. */
export type RateLimitSnapshot = {
  windowSeconds: number;
  resetSeconds: number;
  requests: { limit: number; remaining: number };
  inputTokens: { limit: number; remaining: number };
  outputTokens: { limit: number; remaining: number };
};

export type AdmitResult = {
  /** What the rules decided. */
  action: Action;
  /** Whether the action is enforced (false when its rule is in shadow mode). */
  enforced: boolean;
  reasons: string[];
  risk: number;
  /** A concurrency lease to hand back at settle; null when nothing was admitted. */
  leaseId: string | null;
  retryAfterSeconds: number;
  limits: RateLimitSnapshot;
  /** Clusters this account is currently counted in with a verdict. */
  clusters: string[];
  /** Verdicts on fingerprint keys the account object holds, for the isolate to share with other accounts. */
  verdicts?: CachedVerdict[];
  /** Verdict changes of the account's collector newer than the request's `feedSince`; absent when there are none. */
  feed?: VerdictFeed;
  /** Granted when the isolate asked and the account qualifies (lib/quota/allowance.ts). */
  allowance?: AllowanceGrant;
  /** Set by the isolate on an answer it gave within an allowance, without asking the account object. */
  local?: true;
  /**
   * Set when the request can never be admitted as sent: its reservation (max_tokens, the prompt's
   * estimate, a batch's requests) exceeds the account's whole per-window (or per-day) limit. The edge
   * answers 400 `invalid_request_error` with this message; `action` is then an enforced `block`, so an
   * edge that does not know the field still refuses the request (403). The message names the limit the
   * account's tier, verification, organisation type and operator multiplier give it, never the part risk
   * takes away, so it tells the client nothing about its risk.
   */
  refusal?: string;
};

export type SettleRequest = {
  leaseId: string;
  /** Actual usage from the origin; null when the origin did not report it. */
  usage: { inputTokens: number; outputTokens: number } | null;
  status: number;
};

/** An operator override on one account; expired overrides are ignored and pruned. */
export type Override = {
  kind: "block" | "allow" | "quota";
  /** For `quota`: the multiplier on every limit (e.g. 0.5 or 3). Ignored otherwise. */
  multiplier: number | null;
  reason: string;
  /** Epoch ms; null = until removed. */
  expiresAt: number | null;
  createdAt: number;
};

/** A cluster verdict as cached in the account object. */
export type CachedVerdict = {
  /** The fingerprint key (or component id) the verdict is about. */
  cluster: string;
  verdict: "none" | "suspect" | "confirmed";
  /** Share of the cluster's aggregate cap this account may use per window (requests). */
  capPerWindow: number | null;
  reasons: string[];
  /** Epoch ms when the cluster reached this verdict (it paces a member's share of the cap from here). */
  decidedAt: number;
  /**
   * Epoch ms when the cluster last stated it: a standing verdict is restated with every report answer,
   * and staleness (risk.verdictTtlSeconds) counts from here. Absent: decidedAt.
   */
  refreshedAt?: number;
  /**
   * What the campaign's own requests look like: its dominant template bands, its wrapper keys and
   * whether it elicits reasoning traces. A verdict on a shared key only lands on requests that match it
   * (see lib/cluster/verdict.ts verdictApplies), so honest accounts on the same SDK, TLS stack or ASN are spared.
   */
  signature?: Signature;
};

/** One key's entry in a collector's verdict feed (lib/cluster/collector.ts VerdictLog): its state and the change's version. */
export type FeedVerdict = CachedVerdict & { version: number };

/**
 * Verdict changes on keys a collector holds, whoever's they are: confirmed verdicts and the ends of
 * confirmed ones (a `none` or `suspect` that replaces one), oldest first; `version` is the newest
 * change the receiver has now seen.
 */
export type VerdictFeed = { version: number; verdicts: FeedVerdict[] };

/** A collector's answer to an account's report: the verdicts on the account's own keys, and the feed after its version. */
export type ReportAnswer = { verdicts: CachedVerdict[]; feed: VerdictFeed };

/** What `GET /admin/accounts/{id}` shows of the account object. */
export type AccountState = {
  accountId: string | null;
  now: number;
  risk: { score: number; reasons: Array<{ signal: string; points: number; lastAt: number; count: number }> };
  usage: {
    windowSeconds: number;
    requests: number;
    inputTokens: number;
    outputTokens: number;
    exchangesToday: number;
    inFlight: number;
  };
  limits: RateLimitSnapshot | null;
  overrides: Override[];
  clusters: CachedVerdict[];
  fingerprints: Array<{ key: string; firstSeen: number; lastSeen: number; count: number }>;
  recentDecisions: Array<{ at: number; requestId: string; action: Action; enforced: boolean; reasons: string[]; risk: number }>;
  /** Allowances isolates hold now (lib/quota/allowance.ts), as the object knows them. */
  allowances: OutstandingAllowance[];
};

/**
 * One allowance out: who holds it, what it pre-debited, and what is left of its requests as of the
 * holder's last report (the object hears of local admissions only in reports, so this is an upper bound).
 */
export type OutstandingAllowance = {
  id: string;
  /** The isolate that holds it (its id, from the admit that got it); "unknown" for one granted before holders were kept. */
  holder: string;
  /** Requests pre-debited, the granting request included. */
  requests: number;
  /** Requests the holder may still admit within it, as of its last report. */
  remaining: number;
  inputTokens: number;
  outputTokens: number;
  slots: number;
  /** Epoch ms: the holder admits nothing within it after this. */
  expiresAt: number;
  /** Epoch ms: dropped here if never given back (its slots come back, its pre-debit stays counted). */
  deadline: number;
};
