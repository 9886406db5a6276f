/**
 * Cluster verdict rules. Sharing a fingerprint is not evidence by itself (a
 * popular SDK release, a corporate NAT, a cloud region are shared by many honest
 * accounts); what gives a campaign away is many accounts on one key that ALSO
 * behave as one: synchronized timing, one prompt template, elicitation of
 * reasoning traces. One such behaviour makes a key `suspect`, two `confirmed`.
 */
import type { Policy } from "../policy.ts";

export type Verdict = "none" | "suspect" | "confirmed";

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
  /** The model that took over this key's traffic recently, if any. */
  pivotModel: string | null;
};

export type VerdictResult = {
  verdict: Verdict;
  reasons: string[];
  /** What matching requests look like; see verdictApplies. */
  signature: { bands: string[]; eliciting: boolean };
  /** Requests per window each member may make while the verdict stands (aggregate cap ÷ members); null = no cap. */
  capPerWindow: number | null;
};

export function judgeKey(key: string, metrics: KeyMetrics, policy: Policy): VerdictResult {
  const rules = policy.clusters;
  const templated = metrics.templateShare >= rules.templateConcentration;
  const eliciting = metrics.elicitationShare >= rules.elicitationShare;
  const signature = { bands: templated ? (metrics.topBands ?? []).slice(0, 4) : [], eliciting };
  if (rules.allowlist.includes(key)) return { verdict: "none", reasons: ["cluster.allowlisted"], capPerWindow: null, signature };
  if (metrics.accounts < rules.minAccounts || metrics.requestsPerWindow < rules.minRequestsPerWindow) {
    return { verdict: "none", reasons: [], capPerWindow: null, signature };
  }
  const behaviours: string[] = [];
  if (metrics.synchrony >= rules.synchronyThreshold) behaviours.push("cluster.synchronized");
  if (templated) behaviours.push("cluster.templated");
  if (eliciting) behaviours.push("cluster.eliciting");
  const reasons = ["cluster.many_accounts", ...behaviours];
  if (metrics.pivotModel) reasons.push("cluster.model_pivot");
  if (behaviours.length >= 2) {
    return { verdict: "confirmed", reasons, capPerWindow: rules.aggregateCapPerWindow / Math.max(1, metrics.accounts), signature };
  }
  if (behaviours.length === 1) return { verdict: "suspect", reasons, capPerWindow: null, signature };
  return { verdict: "none", reasons: [], capPerWindow: null, signature };
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

/** Kinds that ARE the campaign's content: sharing them is matching them. */
const CONTENT_KINDS = new Set(["tpl", "system"]);

/**
 * Whether a cached verdict applies to this request. Components (cc:…) apply to
 * their members. A key verdict applies only when the request carries the key,
 * and then: content keys always; broad keys only when the request shares one of
 * the campaign's dominant template bands; other keys (prefix, payment,
 * combinations) also when the campaign elicits reasoning and so does the request.
 */
export function verdictApplies(
  verdict: { cluster: string; signature?: { bands: string[]; eliciting: boolean } },
  request: { keys: readonly string[]; elicitation: number },
  elicitationThreshold: number,
): boolean {
  if (verdict.cluster.startsWith("cc:")) return true;
  if (!request.keys.includes(verdict.cluster)) return false;
  const kind = keyKind(verdict.cluster);
  if (CONTENT_KINDS.has(kind)) return true;
  const signature = verdict.signature;
  if (!signature) return false;
  if (signature.bands.some((band) => request.keys.includes(band))) return true;
  if (BROAD_KINDS.has(kind)) return false;
  return signature.eliciting && request.elicitation >= elicitationThreshold;
}
