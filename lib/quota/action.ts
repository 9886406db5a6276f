/**
 * Action choice: every rule states what it would do ("findings"); the
 * strictest enforced finding is what happens, and a stricter finding whose rule
 * is in shadow mode is reported next to it, decided and logged but not acted on.
 *
 * A request is forwarded unless an enforced throttle or block stops it, and
 * only a forwarded request consumes capacity: in shadow mode the request
 * really reaches the origin, so it really counts.
 */
import { actionRank, type Action } from "../decision.ts";
import type { Policy, RuleName } from "../policy/index.ts";

/** "override" is an operator's explicit word: never in shadow mode. */
export type Rule = RuleName | "override";

export type Finding = {
  action: Action;
  rule: Rule;
  reasons: string[];
  /** For throttles: seconds until the request would fit again. */
  retryAfterSeconds: number;
  /** The client-facing reason a request can never be served as sent (see Oversized). */
  refusal?: string;
};

export type Decision = {
  action: Action;
  enforced: boolean;
  /** The rule behind the action; null for a plain allow. */
  rule: Rule | null;
  reasons: string[];
  retryAfterSeconds: number;
  /** Whether the request goes to the origin (and therefore counts). */
  forwarded: boolean;
  /** A stricter decision that was not enforced because its rule is in shadow mode. */
  shadowAction: Action | null;
  /** Set when the enforced decision is an oversized request's refusal: the message for the client's 400. */
  refusal: string | null;
};

export type QuotaCounter = "requests" | "input_tokens" | "output_tokens" | "exchanges_per_day";

/** A part of a request larger than the account's whole limit for it, and the message naming that limit. */
export type Oversized = { counter: QuotaCounter; message: string };

export type AdmissionFacts = {
  /** A hard deny decided before admission (region). */
  deny: { reason: string } | null;
  overrideBlock: { reason: string } | null;
  overrideAllow: boolean;
  inFlight: number;
  concurrencyLimit: number;
  /** Per counter: ms until this request fits (0 = fits now, Infinity = never under the current limit). */
  quota: Array<{ counter: QuotaCounter; msUntilFits: number; windowMs: number }>;
  /** What exceeds the account's whole standing limit: such a request is refused as sent (400 at the edge). */
  oversized?: Oversized[];
  /** The confirmed-cluster request cap, when one applies; `degrade`: what fits under it is degraded. */
  clusterCap: { msUntilFits: number; windowMs: number; degrade?: boolean } | null;
  risk: number;
  /** ms until risk decays below the throttle threshold (used as the risk throttle's retry-after, capped). */
  riskMsUntilBelowThrottle: number;
  thresholds: Policy["actions"];
  windowSeconds: number;
};

/** The mildest-first threshold ladder applied to a risk score. */
export function riskAction(risk: number, t: Policy["actions"]): Action {
  if (risk >= t.block) return "block";
  if (risk >= t.throttle) return "throttle";
  if (risk >= t.degrade) return "degrade";
  if (risk >= t.tag) return "tag";
  return "allow";
}

/** Retry-after in whole seconds (≥ 1); "never under the current limit" becomes one window. */
export function retrySeconds(ms: number, windowMs: number): number {
  const bounded = Number.isFinite(ms) ? ms : windowMs;
  return Math.max(1, Math.ceil(bounded / 1000));
}

/** What each rule would do with this request. */
export function admissionFindings(f: AdmissionFacts): Finding[] {
  const findings: Finding[] = [];
  if (f.deny) findings.push({ action: "block", rule: "region", reasons: [f.deny.reason], retryAfterSeconds: 0 });
  if (f.overrideBlock) findings.push({ action: "block", rule: "override", reasons: ["override.block"], retryAfterSeconds: 0 });

  if (f.inFlight + 1 > f.concurrencyLimit) {
    // Leases come back at settle, normally within seconds: retry soon rather than after a window.
    findings.push({ action: "throttle", rule: "concurrency", reasons: ["quota.concurrency"], retryAfterSeconds: 1 });
  }

  // A block, not a throttle: waiting never makes it fit, and clients retry a 429 but not a refusal.
  // The account_quota rule's: in shadow mode the request goes through as it did before.
  const oversized = f.oversized ?? [];
  if (oversized.length > 0) {
    findings.push({
      action: "block",
      rule: "account_quota",
      reasons: oversized.map((o) => `quota.oversized.${o.counter}`),
      retryAfterSeconds: 0,
      refusal: oversized.map((o) => o.message).join("; "),
    });
  }

  const over = f.quota.filter((q) => q.msUntilFits > 0);
  if (over.length > 0) {
    findings.push({
      action: "throttle",
      rule: "account_quota",
      reasons: over.map((q) => `quota.${q.counter}`),
      retryAfterSeconds: Math.max(...over.map((q) => retrySeconds(q.msUntilFits, q.windowMs))),
    });
  }

  // An operator's allow silences the evidence-based rules (risk, cluster), not contractual quotas or region law.
  if (!f.overrideAllow) {
    if (f.clusterCap && f.clusterCap.msUntilFits > 0) {
      findings.push({
        action: "throttle",
        rule: "cluster",
        reasons: ["cluster.cap"],
        retryAfterSeconds: retrySeconds(f.clusterCap.msUntilFits, f.clusterCap.windowMs),
      });
    } else if (f.clusterCap?.degrade) {
      findings.push({ action: "degrade", rule: "cluster", reasons: ["cluster.degrade"], retryAfterSeconds: 0 });
    }
    const byRisk = riskAction(f.risk, f.thresholds);
    if (byRisk !== "allow") {
      const windowMs = f.windowSeconds * 1000;
      findings.push({
        action: byRisk,
        rule: "risk",
        reasons: [`risk.${byRisk}`],
        // Capped at one window: a precise "come back in 3 h" would tell the client how its risk decays.
        retryAfterSeconds: byRisk === "throttle" ? retrySeconds(Math.min(f.riskMsUntilBelowThrottle, windowMs), windowMs) : 0,
      });
    }
  }
  return findings;
}

function strictest(findings: readonly Finding[]): Finding | null {
  let best: Finding | null = null;
  for (const f of findings) if (!best || actionRank(f.action) > actionRank(best.action)) best = f;
  return best;
}

function stops(action: Action): boolean {
  return action === "throttle" || action === "block";
}

export function decide(findings: readonly Finding[], isShadow: (rule: RuleName) => boolean): Decision {
  const shadowed = (f: Finding) => f.rule !== "override" && isShadow(f.rule);
  const enforcedFindings = findings.filter((f) => !shadowed(f));
  const topEnforced = strictest(enforcedFindings);
  const topAll = strictest(findings);
  if (!topAll) {
    return { action: "allow", enforced: true, rule: null, reasons: [], retryAfterSeconds: 0, forwarded: true, shadowAction: null, refusal: null };
  }
  if (topEnforced) {
    const same = enforcedFindings.filter((f) => f.action === topEnforced.action);
    const stricterShadow = findings.filter((f) => shadowed(f) && actionRank(f.action) > actionRank(topEnforced.action));
    const shadowAction = stricterShadow.length > 0 ? topAll.action : null;
    return {
      action: topEnforced.action,
      enforced: true,
      rule: topEnforced.rule,
      // What was enforced, then (marked) what would have been, so the audit shows both.
      reasons: [...new Set([...same.flatMap((f) => f.reasons), ...stricterShadow.flatMap((f) => f.reasons.map((r) => `shadow.${r}`))])],
      retryAfterSeconds: topEnforced.action === "throttle" ? Math.max(...same.map((f) => f.retryAfterSeconds)) : 0,
      forwarded: !stops(topEnforced.action),
      shadowAction,
      refusal: topEnforced.refusal ?? null,
    };
  }
  const same = findings.filter((f) => f.action === topAll.action);
  return {
    action: topAll.action,
    enforced: false,
    rule: topAll.rule,
    reasons: [...new Set(same.flatMap((f) => f.reasons))],
    retryAfterSeconds: 0,
    forwarded: true,
    shadowAction: topAll.action,
    refusal: null,
  };
}
