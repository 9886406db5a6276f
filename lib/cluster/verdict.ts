/**
 * Cluster verdicts. Sharing a fingerprint is not evidence by itself (a popular
 * SDK release, a corporate NAT, a cloud region are shared by many honest
 * accounts); what gives a campaign away is many accounts on one key that ALSO
 * behave as one. The verdict is a score over all of a key's evidence
 * (lib/cluster/evidence.ts): `suspect` and `confirmed` at the policy's two
 * thresholds, with the evidence and its points kept to explain it.
 */
import { VERDICT_EVIDENCE, type Policy, type RiskSignal } from "../policy/index.ts";
import { evidenceReason, isExactContentKey, scoreEvidence, type EvidenceItem, type KeyMetrics } from "./evidence.ts";

export { isExactContentKey, isExactContentKind } from "./evidence.ts";
export type { EvidenceItem, KeyMetrics } from "./evidence.ts";

export type Verdict = "none" | "suspect" | "confirmed";

export const WRAPPER_KIND = "wrap";
export const SYSTEM_KIND = "system";
// As many as template bands: a campaign that wraps both ends has two, one that rotates a few variants a few more.
export const SIGNATURE_WRAPPERS = 4;

/**
 * What a campaign's own requests look like: its dominant template bands, the
 * wrapper keys its traffic concentrates on, the exact system prompt most of it
 * carries and any others it rotates (`systems`), and whether it elicits reasoning. `wrappers` and
 * `systems` are absent from signatures stored before they existed and from
 * those without any; absent and empty mean the same.
 */
export type Signature = { bands: string[]; eliciting: boolean; wrappers?: string[]; systems?: string[] };

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** Same bands and wrappers in the same order and the same elicitation flag (absent equals absent, and no wrappers). */
export function sameSignature(a: Signature | undefined, b: Signature | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.eliciting !== b.eliciting) return false;
  return sameList(a.bands, b.bands) && sameList(a.wrappers ?? [], b.wrappers ?? []) && sameList(a.systems ?? [], b.systems ?? []);
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/** A signature as stored (JSON text); a missing or damaged one reads as undefined. */
export function parseSignature(value: unknown): Signature | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  try {
    const parsed = JSON.parse(value) as { bands?: unknown; eliciting?: unknown; wrappers?: unknown; systems?: unknown };
    const signature: Signature = { bands: stringsOf(parsed.bands), eliciting: parsed.eliciting === true };
    // Only wrapper and system keys: anything else in the lists would make verdictApplies match on, say, an ASN.
    const wrappers = stringsOf(parsed.wrappers).filter((key) => keyKind(key) === WRAPPER_KIND);
    if (wrappers.length > 0) signature.wrappers = wrappers;
    const systems = stringsOf(parsed.systems).filter((key) => keyKind(key) === SYSTEM_KIND);
    if (systems.length > 0) signature.systems = systems;
    return signature;
  } catch {
    return undefined;
  }
}

/**
 * `signature` with the campaign's wrapper keys added: the key's dominant
 * wrappers when most of its requests carry one of them (`wrapperShare` or
 * `wrapperCoverage` at least `concentration`, the share that makes a key
 * templated), and a wrapper key's own (its requests are the ones its verdict
 * is about). Likewise the one exact system prompt that at least
 * `concentration` of its requests carry: a broad key (one client build, one
 * network) is often confirmed before the campaign's system prompt key is, and
 * without it the verdict would land on none of the campaign's requests in
 * between; with it the key's other common prompts (`topSystems`: a campaign
 * rotating its instruction's wording through the system prompt has one prompt
 * per wording, and its broad keys are confirmed before the smaller prompts'
 * own keys are). Without either the signature comes back unchanged, so stored
 * signatures keep their text.
 *
 * Called by whoever builds a verdict's signature (the cluster root, after
 * judgeKey or its evidence-score successor), which keeps the verdict score
 * itself out of this.
 */
export function withWrappers(key: string, signature: Signature, metrics: KeyMetrics, concentration: number): Signature {
  const own = keyKind(key) === WRAPPER_KIND ? [key] : [];
  const share = Math.max(metrics.wrapperShare ?? 0, metrics.wrapperCoverage ?? 0);
  const dominant = share >= concentration ? (metrics.topWrappers ?? []) : [];
  const wrappers = [...new Set([...own, ...dominant])].filter((w) => keyKind(w) === WRAPPER_KIND).slice(0, SIGNATURE_WRAPPERS);
  const system = metrics.topSystem;
  // The prompts beside the top one only once the top one is most of the traffic: two prompts that share a
  // key's traffic between them do not make it one campaign's.
  const carried = system !== undefined && (metrics.systemPromptShare ?? 0) >= concentration ? [system, ...(metrics.topSystems ?? [])] : [];
  const systems = [...new Set(carried)].filter((s) => keyKind(s) === SYSTEM_KIND).slice(0, SIGNATURE_WRAPPERS);
  if (wrappers.length === 0 && systems.length === 0) return signature;
  return { ...signature, ...(wrappers.length > 0 ? { wrappers } : {}), ...(systems.length > 0 ? { systems } : {}) };
}

export type VerdictResult = {
  verdict: Verdict;
  reasons: string[];
  /** What matching requests look like; see verdictApplies. */
  signature: Signature;
  /** Requests per window each member may make while the verdict stands (aggregate cap ÷ members); null = no cap. */
  capPerWindow: number | null;
  /** 0..1 evidence score; 0 when the key was not judged (allow-listed, too small or too slow). */
  score: number;
  /** Why: every kind of evidence with its observed value and points, largest first; empty when not judged. */
  evidence: EvidenceItem[];
};

// Of minRequestsPerWindow, what a pooled prompt key needs of its own: shares over five requests say nothing.
const POOLED_OWN_FLOOR = 0.2;

/**
 * Whether a key is big and busy enough to be judged: minAccounts members and minRequestsPerWindow
 * requests a window, its own; or, for an exact prompt key that is at most clusters.pooledShare of its
 * members' traffic, its members' requests (with a fifth of the gate its own). The score's rate evidence
 * is the key's own either way, so the members' traffic lets a key be judged without scoring it higher.
 */
export function bigEnough(key: string, metrics: KeyMetrics, policy: Policy): boolean {
  const rules = policy.clusters;
  if (metrics.accounts < rules.minAccounts) return false;
  if (metrics.requestsPerWindow >= rules.minRequestsPerWindow) return true;
  const share = metrics.memberShare;
  if (share === undefined || share <= 0 || share > rules.pooledShare || !isExactContentKey(key)) return false;
  return metrics.requestsPerWindow >= rules.minRequestsPerWindow * POOLED_OWN_FLOOR && metrics.requestsPerWindow / share >= rules.minRequestsPerWindow;
}

export function judgeKey(key: string, metrics: KeyMetrics, policy: Policy): VerdictResult {
  const rules = policy.clusters;
  const templated = metrics.templateShare >= rules.templateConcentration;
  const eliciting = metrics.elicitationShare >= rules.elicitationShare;
  const signature = { bands: templated ? (metrics.topBands ?? []).slice(0, 4) : [], eliciting };
  const unjudged = { capPerWindow: null, signature, score: 0, evidence: [] };
  if (rules.allowlist.includes(key)) return { verdict: "none", reasons: ["cluster.allowlisted"], ...unjudged };
  if (!bigEnough(key, metrics, policy)) return { verdict: "none", reasons: [], ...unjudged };
  const { score, evidence } = scoreEvidence(key, metrics, policy);
  // The score alone: the two-of-three behaviour rule that once sat under it as a floor confirmed a class
  // on a tutor prompt (templated, asking for steps) as readily as a hydra.
  const verdict: Verdict = score >= rules.verdict.confirmScore ? "confirmed" : score >= rules.verdict.suspectScore ? "suspect" : "none";
  if (verdict === "none") return { verdict, reasons: [], capPerWindow: null, signature, score, evidence };
  // Many accounts is what made the key a candidate: it leads every verdict's reasons, as it always has.
  const earned = new Set(evidence.flatMap((e) => (e.reason ? [e.reason] : [])));
  const reasons = [
    "cluster.many_accounts",
    ...VERDICT_EVIDENCE.filter((e) => e !== "accounts").map(evidenceReason).filter((r) => earned.has(r)),
  ];
  const capPerWindow = verdict === "confirmed" ? rules.aggregateCapPerWindow / Math.max(1, metrics.accounts) : null;
  return { verdict, reasons, capPerWindow, signature, score, evidence };
}

/** When a cached verdict was last stated by its cluster: what its time-to-live counts from. */
export function verdictFreshAt(v: { decidedAt: number; refreshedAt?: number }): number {
  return Math.max(v.decidedAt, v.refreshedAt ?? 0);
}

/** The kind of a fingerprint key: the part before the first ':' (e.g. "asn", "tls+sdk", "tpl"). */
export function keyKind(key: string): string {
  const i = key.indexOf(":");
  return i < 0 ? key : key.slice(0, i);
}

/**
 * Key kinds that many unrelated customers share: one SDK build, one TLS stack, one header set, one
 * network. A verdict on such a key says "a campaign is hiding in this crowd", not "everyone here is
 * the campaign", so it lands only on requests carrying the campaign's template.
 */
const BROAD_KINDS = new Set(["asn", "sdk", "tls", "headers", "tls+sdk"]);
export function isBroadKind(kind: string): boolean {
  return BROAD_KINDS.has(kind);
}


/**
 * Template bands a request must share with a campaign's signature to count as
 * carrying its template. One 16-bit band is not enough: honest prompts of a
 * common shape collide on single bands (in the full simulation 284 honest
 * accounts shared one band with a campaign signature, one shared two), while a
 * template's variants share several (64-100 % of campaign requests match two).
 */
export const SIGNATURE_BANDS_TO_MATCH = 2;

/**
 * Whether a cached verdict applies to this request: the request must carry the
 * key (components: the account is a member), and look like the campaign:
 * share at least SIGNATURE_BANDS_TO_MATCH of its dominant template bands (a
 * template band key's own band counts, so its requests need one more), or
 * carry one of its wrapper keys (64 bits over at least 8 words of the exact
 * instruction: unrelated prompts share one about as often as they share a
 * whole sentence, unlike a 16-bit band), or its exact system prompt, or,
 * unless the key is broad (ASN,
 * SDK, TLS, header set), elicit reasoning when the campaign does. On an exact
 * content key (isExactContentKind) carrying the key is the signature. Nothing
 * else that shares a key or a component with a campaign is treated as the
 * campaign; a verdict without a signature applies to nothing.
 */
export function verdictApplies(
  verdict: { cluster: string; signature?: Signature },
  request: { keys: readonly string[]; elicitation: number },
  elicitationThreshold: number,
): boolean {
  const component = verdict.cluster.startsWith("cc:");
  if (!component && !request.keys.includes(verdict.cluster)) return false;
  const signature = verdict.signature;
  if (!signature) return false;
  if (!component && isExactContentKey(verdict.cluster)) return true;
  let shared = 0;
  for (const band of signature.bands) if (request.keys.includes(band)) shared++;
  if (shared >= SIGNATURE_BANDS_TO_MATCH) return true;
  if (signature.wrappers?.some((wrapper) => request.keys.includes(wrapper))) return true;
  if (signature.systems?.some((system) => request.keys.includes(system))) return true;
  if (!component && BROAD_KINDS.has(keyKind(verdict.cluster))) return false;
  return signature.eliciting && request.elicitation >= elicitationThreshold;
}

/**
 * The elicitation score from which a verdict lands on a request by elicitation alone (the last rule of
 * verdictApplies). Landing adds cluster_verdict, a heavier step than the cot_elicitation signal, so it
 * waits for the signal's confidence: an honest prompt reaches the key's eliciting mark several times as
 * often. A request that is itself dodging a regional restriction (region_evasion: billed in one country,
 * connecting from another through a route that hides the client) is not an ordinary customer's, and
 * the key's own mark is enough; it still has to carry the key and look like the campaign's.
 */
export function elicitationLandingBar(policy: Policy, signals: readonly RiskSignal[]): number {
  const { elicitationThreshold, elicitationSignalThreshold } = policy.fingerprint;
  return signals.includes("region_evasion") ? elicitationThreshold : Math.max(elicitationThreshold, elicitationSignalThreshold);
}
