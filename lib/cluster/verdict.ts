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
  /** Requests per window each member may make while the verdict stands (aggregate cap ÷ members); null = no cap. */
  capPerWindow: number | null;
};

export function judgeKey(key: string, metrics: KeyMetrics, policy: Policy): VerdictResult {
  const rules = policy.clusters;
  if (rules.allowlist.includes(key)) return { verdict: "none", reasons: ["cluster.allowlisted"], capPerWindow: null };
  if (metrics.accounts < rules.minAccounts || metrics.requestsPerWindow < rules.minRequestsPerWindow) {
    return { verdict: "none", reasons: [], capPerWindow: null };
  }
  const behaviours: string[] = [];
  if (metrics.synchrony >= rules.synchronyThreshold) behaviours.push("cluster.synchronized");
  if (metrics.templateShare >= rules.templateConcentration) behaviours.push("cluster.templated");
  if (metrics.elicitationShare >= rules.elicitationShare) behaviours.push("cluster.eliciting");
  const reasons = ["cluster.many_accounts", ...behaviours];
  if (metrics.pivotModel) reasons.push("cluster.model_pivot");
  if (behaviours.length >= 2) {
    return { verdict: "confirmed", reasons, capPerWindow: rules.aggregateCapPerWindow / Math.max(1, metrics.accounts) };
  }
  if (behaviours.length === 1) return { verdict: "suspect", reasons, capPerWindow: null };
  return { verdict: "none", reasons: [], capPerWindow: null };
}

/** The kind of a fingerprint key: the part before the first ':' (e.g. "asn", "tls+sdk", "tpl"). */
export function keyKind(key: string): string {
  const i = key.indexOf(":");
  return i < 0 ? key : key.slice(0, i);
}
