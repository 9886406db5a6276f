/**
 * The evidence score behind a cluster verdict.
 *
 * Every kind of evidence a key has adds log-odds points to a prior set by the
 * key's kind, along a saturating curve (smoothstep between where it starts to
 * count and where it counts fully), never more than its policy weight; a
 * logistic turns the sum into a score in 0..1. So no threshold is a cliff, no
 * single signal can confirm a key, and several moderate ones can.
 *
 * Three corrections keep the sum honest where the evidence is not independent:
 * - Implied evidence counts nothing: every request on a `system:` key carries
 *   that prompt, every request on a `tls+sdk:` key that client.
 * - Overlapping evidence is discounted: a template, one system prompt and one
 *   wrapper are three views of one prompt, so the second counts half and the
 *   third a quarter; likewise account count and request rate, and a burst of
 *   new accounts and shared payment.
 * - Evidence of belonging together (one prompt, one client, one owner) is
 *   capped, the more so the fewer the accounts: it tells one operator from an
 *   unrelated crowd, which an office or a teaching platform also is. The cap
 *   lifts for hundreds of accounts on one client build with over half their
 *   traffic on servers, which a class on its own machines or an office behind
 *   its NAT is not, and which is nearly all a fleet of bought aged accounts at
 *   an honest pace shows (a company of hundreds behind a cloud security proxy
 *   has the same shape and was confirmed before the lift). What tells
 *   a campaign is what it does: timing, elicitation, volume, hosting exits, scale,
 *   and opening its accounts all at once (a crowd of customers, a class, an
 *   office, opened theirs over days to years).
 * - Volume relief (members using the API no more than honest accounts do) is
 *   granted only as far as the key's traffic looks like people: off hosting, on
 *   several clients, unsynchronised; or comes from accounts with a history that
 *   look like people in one of the first two respects (for a history, under about
 *   half its traffic on servers rather than a sixth). A burst of new accounts
 *   at an honest per-account pace on one client build or on servers is what a
 *   hydra that keeps each account under its limits looks like, so it earns none;
 *   a class that opened its accounts this week, each student on their own laptop
 *   at home, keeps it. Age alone is not enough: aged accounts are sold in bulk,
 *   and a fleet of them on one build half on servers is still a fleet.
 *
 * - Pooled elicitation (a key's eliciting requests a minority of its members' traffic) counts only as far
 *   as the key elicits: it says where the eliciting traffic sits (a campaign's prompt on accounts that
 *   also serve ordinary customers), not that there is any. It withdraws volume relief as far as it
 *   counts: the accounts' honest pace is their customers' use, the campaign's among it.
 *
 * Absent metrics are unknown and add nothing. The result lists every item with
 * its observed value and points, largest first, so a verdict explains itself.
 */
import type { Policy, VerdictEvidence } from "../policy/index.ts";

export type KeyMetrics = {
  /** The key's most common template bands, most common first. */
  topBands?: string[];
  accounts: number;
  requestsPerWindow: number;
  /** 0..1: mean pairwise correlation of member request-start histograms. */
  synchrony: number;
  /** 0..1: share of requests on the single most common template band. */
  templateShare: number;
  /** 0..1: share of requests that elicit reasoning traces / training data. */
  elicitationShare: number;
  /** The model that took over this key's traffic recently, if any (lib/launch-guard.ts detectPivot). */
  pivotModel: string | null;
  /** 0..1: the pivot model's share of the key's window requests. Absent: no pivot, or not measured. */
  pivotShare?: number;
  /** 0..1: share of requests from hosting, VPN or proxy ASNs. Absent = unknown. */
  hostingShare?: number;
  /** 0..1: share of requests on the single most common client profile (TLS + SDK). */
  clientHomogeneity?: number;
  /** 0..1: share of requests carrying the single most common exact system prompt (`system:` key). */
  systemPromptShare?: number;
  /** That most common exact system prompt's key; absent when no request carries one. */
  topSystem?: string;
  /** The key's most common system prompt keys, topSystem first (lib/cluster/rollup.ts says which). */
  topSystems?: string[];
  /** 0..1: share of requests on the single most common wrapper key (`wrap:`) other than the key itself. */
  wrapperShare?: number;
  /** The key's most common wrapper keys (`wrap:`), most common first; a wrapper key's own is among them. */
  topWrappers?: string[];
  /**
   * 0..1: share of requests carrying one of topWrappers (the key itself left out) at the busier end
   * of the prompt: a campaign rotating a few phrasings covers its traffic although no one of them does.
   */
  wrapperCoverage?: number;
  /** 0..1: share of the key's requests from accounts created (or first seen) in one short burst. */
  newAccountBurst?: number;
  /** Distinct payment fingerprints ÷ accounts, in (0, 1]: low means many accounts on few cards. */
  paymentsPerAccount?: number;
  /** Requests per member per window ÷ the same for honest accounts of the same tier. */
  volumeRatio?: number;
  /** 0..1: the key's requests ÷ all its members' requests (lib/cluster/report.ts `members`). Absent = unknown. */
  memberShare?: number;
  /**
   * 0..1: share of the key's requests from accounts known as members of a confirmed campaign (they sent
   * another confirmed system prompt or wrapper), over the requests counted while one stood. Absent = unknown.
   */
  campaignMemberShare?: number;
};

export type KindClass = "broad" | "network" | "band" | "content";

export type EvidenceItem = {
  evidence: VerdictEvidence;
  /** What was observed (a count, share or ratio); null = unknown. */
  value: number | null;
  /** Log-odds points it added (negative: it argued against), after overlap and cap. */
  points: number;
  /** The key's kind makes this evidence true of every request: it adds nothing. */
  implied?: true;
  /** Reason code it earns: past its policy marker (synchrony, template, elicitation), else at half its weight. */
  reason?: string;
  /** For model_pivot: the model the key's traffic moved to (`value` is its share). */
  model?: string;
};

export type EvidenceScore = {
  /** 0..1. */
  score: number;
  /** Prior plus every item's points: the logistic's argument. */
  logOdds: number;
  kindClass: KindClass;
  prior: number;
  /** Largest contribution first; unknown items last. */
  evidence: EvidenceItem[];
};

// Account counts stop adding above this: past a thousand members, more says nothing new about intent.
const ACCOUNTS_SATURATE = 1_000;
// A key's request rate counts from 50 a window (a few dozen people asking about once a minute) and fully
// at 40 times that, whatever the size gate (clusters.minRequestsPerWindow) lets in to be judged: a gate
// lowered to judge small, quiet keys must not make every key's rate count for more.
const REQUESTS_START = 50;
const REQUESTS_SATURATE_FACTOR = 40;
// Where the share-like curves start and saturate. Sync, template and elicitation saturate at the policy's
// "counts as" markers and start at a fraction of them (elicitation lower: the scorer misses paraphrases).
const SYNC_START = 0.5;
const TEMPLATE_START = 0.5;
const ELICIT_START = 1 / 3;
const CURVES = {
  // One prompt on most requests; honest tools reach 0.3-0.6 on broad keys they share with others.
  system_prompt: [0.3, 0.8],
  wrapper: [0.2, 0.6],
  // A crowd on a broad key splits across several clients; one build on 95 % is one operator's fleet.
  client: [0.5, 0.95],
  // SaaS backends and CI put a share of honest traffic on hosting; a campaign puts nearly all of it there.
  hosting: [0.3, 0.9],
  new_accounts: [0.3, 0.8],
  // 1 − payments per account: from one card per two accounts to one per twenty.
  payment: [0.5, 0.95],
} as const;
// 1 − the key's share of its members' traffic: counts once the key is under 80 % of it, fully at 40 %. A class's
// prompt is nearly all its students' traffic, an office's tool prompt 60-95 % of its seats'; a reseller's campaign
// prompt is the campaign's share of the pooled accounts' (10-50 %), measured a little larger (lib/cluster/report.ts).
const POOLED = [0.2, 0.6] as const;
// Volume ratio (log2): adds from 1.5× honest peers to 8×. At or below 1× the members use the API as
// honest accounts of their tier do, which harvesting at scale does not: that takes points off, fading out by 1.5×.
const VOLUME_START = Math.log2(1.5);
const VOLUME_SATURATE = Math.log2(8);
// Hosting share over which traffic stops looking like people at home or on campus: a class puts a few
// students behind a cloud VPN, a fleet that mixes proxies with servers puts half or more on them.
const PEOPLE_HOSTING = [0.15, 0.5] as const;
// The same for a crowd with a history: an established customer base on a broad key puts about a third of its
// traffic on clouds (CI, SaaS backends, cloud desktops); aged accounts driven from proxies and servers, more than half.
const HISTORY_HOSTING = [0.35, 0.55] as const;
// How far the commonality cap lifts for a fleet on servers and one client build: from FLEET_FROM accounts
// (more than an office has seats; the calibration's offices have 20-60) to three times the cap at
// ACCOUNTS_SATURATE. A class on its own laptops, an office at home or behind its NAT, a customer base on
// many clients never earns it.
const FLEET_CAP_LIFT = 2;
const FLEET_FROM = 100;
// Share of its weight a burst of new accounts counts at minAccounts (all of it at ACCOUNTS_SATURATE).
const BURST_FLOOR = 0.25;
/** Evidence that overlaps: the second counts this much, the third this squared. */
const OVERLAP = 0.5;
const GROUPS: readonly (readonly VerdictEvidence[])[] = [
  ["accounts", "requests"],
  ["template", "system_prompt", "wrapper"],
  ["new_accounts", "payment"],
];
const COMMONALITY: ReadonlySet<VerdictEvidence> = new Set(["template", "system_prompt", "wrapper", "client", "payment"]);

/** 0 at or below `lo`, 1 at or above `hi`, smooth in between (no cliff at either end). */
export function smoothstep(x: number, lo: number, hi: number): number {
  if (!(hi > lo)) return x >= hi ? 1 : 0;
  const t = Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
  return t * t * (3 - 2 * t);
}

const CONTENT_PARTS = new Set(["system", "wrap", "payment"]);

/**
 * Key kinds that name one exact piece of a prompt (the whole system prompt, a wrapper's 64-bit hash
 * over at least 8 words), alone or combined with other parts: unrelated customers share one only by
 * running the same tool, and an allow-listed tool's never becomes a key. A verdict on such a key is
 * about the requests that carry it, whether or not they also share bands or elicit. A combination with
 * a template band is not one: a band is a 16-bit slice that unrelated prompts share by chance.
 */
const EXACT_CONTENT_PARTS = new Set(["system", "wrap"]);
export function isExactContentKind(kind: string): boolean {
  return isExactContent(kind.split("+"));
}

/** Whether a key (kind:value) is of an exact content kind (isExactContentKind). */
export function isExactContentKey(key: string): boolean {
  return isExactContent(kindParts(key));
}

function isExactContent(parts: readonly string[]): boolean {
  return parts.some((p) => EXACT_CONTENT_PARTS.has(p)) && !parts.some((p) => p === "tpl" || p === "template");
}
const CLIENT_PARTS = new Set(["tls", "sdk", "headers"]);

function kindParts(key: string): string[] {
  const i = key.indexOf(":");
  return (i < 0 ? key : key.slice(0, i)).split("+");
}

/**
 * How much a key's kind says by itself. A combination is as specific as its most specific part
 * (`asn+system` is one prompt within one network); an unknown kind is treated as broad.
 */
export function kindClass(key: string): KindClass {
  const parts = kindParts(key);
  if (parts.some((p) => CONTENT_PARTS.has(p))) return "content";
  if (parts.includes("prefix")) return "network";
  if (parts.some((p) => p === "tpl" || p === "template")) return "band";
  return "broad";
}

/** Evidence every request on such a key shares by construction. */
function impliedBy(parts: readonly string[]): Set<VerdictEvidence> {
  const implied = new Set<VerdictEvidence>();
  if (parts.includes("system")) implied.add("system_prompt");
  if (parts.includes("wrap")) implied.add("wrapper");
  if (parts.includes("payment")) implied.add("payment");
  if (parts.some((p) => CLIENT_PARTS.has(p))) implied.add("client");
  // One ASN is hosting or not: its customers' share is 0 or 1 and says what the ASN is, not who uses it.
  if (parts.includes("asn")) implied.add("hosting");
  return implied;
}

const REASONS: Record<VerdictEvidence, string> = {
  accounts: "cluster.many_accounts",
  requests: "cluster.high_rate",
  synchrony: "cluster.synchronized",
  template: "cluster.templated",
  elicitation: "cluster.eliciting",
  system_prompt: "cluster.one_system_prompt",
  wrapper: "cluster.wrapped",
  client: "cluster.one_client",
  hosting: "cluster.hosting",
  new_accounts: "cluster.new_accounts",
  payment: "cluster.shared_payment",
  volume: "cluster.heavy_volume",
  model_pivot: "cluster.model_pivot",
  pooled: "cluster.pooled",
  campaign_members: "cluster.campaign_members",
};

/** Reason code of a kind of evidence (as listed in VerdictResult.reasons). */
export function evidenceReason(evidence: VerdictEvidence): string {
  return REASONS[evidence];
}

type Raw = { evidence: VerdictEvidence; value: number | null; curve: number; implied: boolean; model?: string };

function observe(key: string, metrics: KeyMetrics, rules: Policy["clusters"]): Raw[] {
  const ln = (n: number) => Math.log(Math.max(1, n));
  const minRequests = REQUESTS_START;
  const share = (evidence: keyof typeof CURVES, value: number | undefined, transform = (v: number) => v): Raw => ({
    evidence,
    value: value ?? null,
    curve: value === undefined ? 0 : smoothstep(transform(value), CURVES[evidence][0], CURVES[evidence][1]),
    implied: false,
  });
  const elicitation = smoothstep(metrics.elicitationShare, rules.elicitationShare * ELICIT_START, rules.elicitationShare);
  const volume = metrics.volumeRatio;
  let volumeCurve = 0;
  if (volume !== undefined && volume > 0) {
    const log = Math.log2(volume);
    volumeCurve = log >= VOLUME_START ? smoothstep(log, VOLUME_START, VOLUME_SATURATE) : smoothstep(log, 0, VOLUME_START) - 1;
  }
  return [
    { evidence: "accounts", value: metrics.accounts, curve: smoothstep(ln(metrics.accounts), ln(rules.minAccounts), ln(ACCOUNTS_SATURATE)), implied: false },
    {
      evidence: "requests",
      value: metrics.requestsPerWindow,
      curve: smoothstep(ln(metrics.requestsPerWindow), ln(minRequests), ln(minRequests * REQUESTS_SATURATE_FACTOR)),
      implied: false,
    },
    { evidence: "synchrony", value: metrics.synchrony, curve: smoothstep(metrics.synchrony, rules.synchronyThreshold * SYNC_START, rules.synchronyThreshold), implied: false },
    { evidence: "template", value: metrics.templateShare, curve: smoothstep(metrics.templateShare, rules.templateConcentration * TEMPLATE_START, rules.templateConcentration), implied: false },
    { evidence: "elicitation", value: metrics.elicitationShare, curve: elicitation, implied: false },
    share("system_prompt", metrics.systemPromptShare),
    share("wrapper", metrics.wrapperShare),
    share("client", metrics.clientHomogeneity),
    share("hosting", metrics.hostingShare),
    share("new_accounts", metrics.newAccountBurst),
    share("payment", metrics.paymentsPerAccount, (p) => 1 - p),
    { evidence: "volume", value: volume ?? null, curve: volumeCurve, implied: false },
    modelPivot(metrics),
    pooled(metrics, elicitation),
    campaignMembers(key, metrics, rules.verdict.campaignMembers),
  ];
}

/**
 * A campaign's accounts sending a new exact prompt (a second wording, the same harvest moved to a new
 * instruction): what it cannot change without new accounts. Counted on exact prompt keys only, where a
 * verdict is about the requests carrying the prompt; a broad or network key that the campaign's accounts
 * dominate is theirs by the rest of its evidence, and its verdict lands only by the campaign's signature.
 */
function campaignMembers(key: string, metrics: KeyMetrics, curve: { from: number; full: number }): Raw {
  const share = metrics.campaignMemberShare;
  if (share === undefined) return { evidence: "campaign_members", value: null, curve: 0, implied: false };
  const counts = isExactContentKey(key);
  return { evidence: "campaign_members", value: share, curve: counts ? smoothstep(share, curve.from, curve.full) : 0, implied: false };
}

/**
 * Eliciting traffic that is a minority of its accounts' traffic: a reseller's campaign prompt among its
 * ordinary customers' requests on the same pooled accounts. It counts only as far as the key elicits, so a
 * busy developer's tool prompt (a share of their traffic, asking for nothing) adds nothing, and a class's
 * tutor prompt (eliciting, but nearly all its students' traffic) adds nothing either.
 */
function pooled(metrics: KeyMetrics, elicitation: number): Raw {
  const share = metrics.memberShare;
  if (share === undefined) return { evidence: "pooled", value: null, curve: 0, implied: false };
  return { evidence: "pooled", value: share, curve: smoothstep(1 - share, POOLED[0], POOLED[1]) * elicitation, implied: false };
}

/**
 * A pivot counts fully or not at all: the share it needs is the policy's (launchGuard.pivotShare), and the
 * value shown is that share (1 when only the model is known), so an operator reads which model took how much.
 */
function modelPivot(metrics: KeyMetrics): Raw {
  if (metrics.pivotModel === null) return { evidence: "model_pivot", value: 0, curve: 0, implied: false };
  return { evidence: "model_pivot", value: metrics.pivotShare ?? 1, curve: 1, implied: false, model: metrics.pivotModel };
}

/**
 * Synchrony, template and elicitation keep their policy markers ("counts as synchronised"), which
 * other code and operators read; the rest earn their reason once they count half their weight.
 */
function earnsReason(raw: Raw, metrics: KeyMetrics, rules: Policy["clusters"]): boolean {
  switch (raw.evidence) {
    case "synchrony":
      return metrics.synchrony >= rules.synchronyThreshold;
    case "template":
      return metrics.templateShare >= rules.templateConcentration;
    case "elicitation":
      return metrics.elicitationShare >= rules.elicitationShare;
    default:
      return raw.curve >= 0.5;
  }
}

/** The score of one key's evidence under the policy's verdict weights. */
export function scoreEvidence(key: string, metrics: KeyMetrics, policy: Policy): EvidenceScore {
  const rules = policy.clusters;
  const { weights, priors, commonalityCap, volumeRelief } = rules.verdict;
  const implied = impliedBy(kindParts(key));
  const raws = observe(key, metrics, rules);
  const curve = (evidence: VerdictEvidence) => raws.find((r) => r.evidence === evidence)?.curve ?? 0;
  const points = new Map<VerdictEvidence, number>();
  for (const raw of raws) {
    raw.implied = implied.has(raw.evidence);
    // Relief (the volume curve below 0) is worked out once the rest is known.
    points.set(raw.evidence, raw.implied || (raw.evidence === "volume" && raw.curve < 0) ? 0 : weights[raw.evidence] * raw.curve);
  }
  // A burst counts by how many accounts it is: a new office's few dozen seats opened one morning are
  // an onboarding, a few hundred opened in one day on one key are a fleet.
  const accountsCurve = curve("accounts");
  points.set("new_accounts", (points.get("new_accounts") ?? 0) * (BURST_FLOOR + (1 - BURST_FLOOR) * accountsCurve));
  for (const group of GROUPS) {
    const ranked = [...group].sort((a, b) => (points.get(b) ?? 0) - (points.get(a) ?? 0));
    ranked.forEach((evidence, rank) => points.set(evidence, (points.get(evidence) ?? 0) * OVERLAP ** rank));
  }
  let together = 0;
  for (const evidence of COMMONALITY) together += points.get(evidence) ?? 0;
  // Unknown (or implied) hosting or client says nothing about people either way.
  const hostingKnown = metrics.hostingShare !== undefined && !implied.has("hosting");
  const clientKnown = metrics.clientHomogeneity !== undefined && !implied.has("client");
  const hosting = metrics.hostingShare ?? 0;
  const offServers = hostingKnown ? 1 - smoothstep(hosting, PEOPLE_HOSTING[0], PEOPLE_HOSTING[1]) : null;
  const ownClients = clientKnown ? 1 - curve("client") : null;
  const volumeCurve = curve("volume");
  if (volumeCurve < 0) {
    // History earns relief, unless the crowd is one operator's fleet of hundreds: one build, one prompt, few
    // cards. For those an honest pace per account is how the fleet stays under limits, not evidence against it.
    const fleet = accountsCurve * Math.min(1, together / Math.max(1e-9, commonalityCap));
    // History counts as far as the crowd looks like people in at least one respect; with neither known it
    // counts as it did before either was measured, so a key without network or client evidence is judged as then.
    const historyOffServers = hostingKnown ? 1 - smoothstep(hosting, HISTORY_HOSTING[0], HISTORY_HOSTING[1]) : null;
    const humane = historyOffServers === null && ownClients === null ? 1 : Math.max(historyOffServers ?? 0, ownClients ?? 0);
    const established = (1 - curve("new_accounts")) * (1 - fleet) * humane;
    const people = offServers === null || ownClients === null ? 0 : offServers * ownClients * (1 - curve("synchrony"));
    // The members' pace vouches for their own use of the accounts, not for a pooled eliciting prompt riding on
    // it: a reseller's accounts at an honest pace serve its customers, the campaign among them. (A policy that
    // weighs pooled at 0 has switched it off, relief included.)
    const pooled = weights.pooled > 0 ? curve("pooled") : 0;
    points.set("volume", volumeRelief * Math.max(established, people) * volumeCurve * (1 - pooled));
  }
  // The cap stands for the office and the class, who are one operator too; it lifts as far as the crowd is
  // neither: hundreds of accounts on one client build, on servers. Both must be known (an implied client, as
  // on a tls key, lifts nothing), so a key without that evidence is capped as before.
  const onServers = hostingKnown ? smoothstep(hosting, HISTORY_HOSTING[0], HISTORY_HOSTING[1]) : null;
  const fleetSize = smoothstep(Math.log(Math.max(1, metrics.accounts)), Math.log(FLEET_FROM), Math.log(ACCOUNTS_SATURATE));
  const machines = onServers === null || ownClients === null ? 0 : onServers * (1 - ownClients);
  const cap = commonalityCap * (0.5 + 0.5 * accountsCurve) * (1 + FLEET_CAP_LIFT * fleetSize * machines);
  if (together > cap) {
    const scale = cap / together;
    for (const evidence of COMMONALITY) points.set(evidence, (points.get(evidence) ?? 0) * scale);
  }

  const kind = kindClass(key);
  const prior = priors[kind];
  let logOdds = prior;
  const evidence: EvidenceItem[] = raws.map((raw) => {
    const p = points.get(raw.evidence) ?? 0;
    logOdds += p;
    const item: EvidenceItem = { evidence: raw.evidence, value: raw.value, points: round(p) };
    if (raw.model !== undefined) item.model = raw.model;
    if (raw.implied) item.implied = true;
    else if (earnsReason(raw, metrics, rules)) item.reason = REASONS[raw.evidence];
    return item;
  });
  evidence.sort((a, b) => (a.value === null ? 1 : 0) - (b.value === null ? 1 : 0) || Math.abs(b.points) - Math.abs(a.points));
  return { score: 1 / (1 + Math.exp(-logOdds)), logOdds, kindClass: kind, prior, evidence };
}

// Points are shown to operators; three decimals keep the explanation readable and its sum exact enough.
function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
