/**
 * Cluster verdicts. Sharing a fingerprint is not evidence by itself (a popular
 * SDK release, a corporate NAT, a cloud region are shared by many honest
 * accounts); what gives a campaign away is many accounts on one key that ALSO
 * behave as one. The verdict is a score over all of a key's evidence
 * (lib/cluster/evidence.ts): `suspect` and `confirmed` at the policy's two
 * thresholds, with the evidence and its points kept to explain it.
 */
import { VERDICT_EVIDENCE, type Policy } from "../policy.ts";
import { evidenceReason, scoreEvidence, type EvidenceItem, type KeyMetrics } from "./evidence.ts";

export type { EvidenceItem, KeyMetrics } from "./evidence.ts";

export type Verdict = "none" | "suspect" | "confirmed";

/** What a campaign's own requests look like: its dominant template bands, and whether it elicits reasoning. */
export type Signature = { bands: string[]; eliciting: boolean };

/** Same bands in the same order and the same elicitation flag (absent equals absent). */
export function sameSignature(a: Signature | undefined, b: Signature | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.eliciting !== b.eliciting || a.bands.length !== b.bands.length) return false;
  return a.bands.every((band, i) => band === b.bands[i]);
}

/** A signature as stored (JSON text); a missing or damaged one reads as undefined. */
export function parseSignature(value: unknown): Signature | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  try {
    const parsed = JSON.parse(value) as { bands?: unknown; eliciting?: unknown };
    const bands = Array.isArray(parsed.bands) ? parsed.bands.filter((b): b is string => typeof b === "string") : [];
    return { bands, eliciting: parsed.eliciting === true };
  } catch {
    return undefined;
  }
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

export function judgeKey(key: string, metrics: KeyMetrics, policy: Policy): VerdictResult {
  const rules = policy.clusters;
  const templated = metrics.templateShare >= rules.templateConcentration;
  const eliciting = metrics.elicitationShare >= rules.elicitationShare;
  const signature = { bands: templated ? (metrics.topBands ?? []).slice(0, 4) : [], eliciting };
  const unjudged = { capPerWindow: null, signature, score: 0, evidence: [] };
  if (rules.allowlist.includes(key)) return { verdict: "none", reasons: ["cluster.allowlisted"], ...unjudged };
  if (metrics.accounts < rules.minAccounts || metrics.requestsPerWindow < rules.minRequestsPerWindow) {
    return { verdict: "none", reasons: [], ...unjudged };
  }
  const { score, evidence } = scoreEvidence(key, metrics, policy);
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
 * template band key's own band counts, so its requests need one more), or,
 * unless the key is broad (ASN, SDK, TLS, header set), elicit reasoning when
 * the campaign does. Nothing else that shares a key or a component with a
 * campaign is treated as the campaign; a verdict without a signature applies
 * to nothing.
 */
export function verdictApplies(
  verdict: { cluster: string; signature?: { bands: string[]; eliciting: boolean } },
  request: { keys: readonly string[]; elicitation: number },
  elicitationThreshold: number,
): boolean {
  const component = verdict.cluster.startsWith("cc:");
  if (!component && !request.keys.includes(verdict.cluster)) return false;
  const signature = verdict.signature;
  if (!signature) return false;
  let shared = 0;
  for (const band of signature.bands) if (request.keys.includes(band)) shared++;
  if (shared >= SIGNATURE_BANDS_TO_MATCH) return true;
  if (!component && BROAD_KINDS.has(keyKind(verdict.cluster))) return false;
  return signature.eliciting && request.elicitation >= elicitationThreshold;
}
