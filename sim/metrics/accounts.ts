/** Per account: which the gateway flagged, against the simulator's labels, and how high their risk went. */
import type { Generated } from "../generate.ts";
import { isAttack } from "../scenario.ts";
import type { DecisionInfo, SentRequest } from "./request.ts";

/** Accounts per peak-risk bucket (risk 0–100 in RISK_BUCKETS buckets), honest and attack apart. */
export type RiskHistogram = { bucketWidth: number; honest: number[]; attack: number[]; unknown: { honest: number; attack: number } };

export type AccountResults = {
  /** Where "flagged" and risk come from. */
  source: "decision log" | "responses";
  labelledAttack: number;
  labelledHonest: number;
  flaggedAttack: number;
  flaggedHonest: number;
  /** flaggedAttack / all flagged; null when nothing was flagged. */
  precision: number | null;
  /** flaggedAttack / labelledAttack; null without attack accounts. */
  recall: number | null;
  /** Per attack population: accounts used and flagged. */
  byPopulation: { population: string; label: "attack" | "legit"; accounts: number; flagged: number }[];
  /** Null without the decision log (no risk figures from responses alone). */
  risk: RiskHistogram | null;
  thresholds: { tag: number; degrade: number; throttle: number; block: number };
};

type AccountTrack = { touched: boolean; flagged: boolean; peakRisk: number | null };

const RISK_BUCKETS = 10;

/** An enforced degrade, throttle or block for a reason beyond a plain limit: the gateway suspected the account. */
export function isFlagging(d: DecisionInfo): boolean {
  if (!d.enforced || (d.action !== "degrade" && d.action !== "throttle" && d.action !== "block")) return false;
  return d.reasons.some((r) => !r.startsWith("quota."));
}

export type AccountOutcome = { population: string; label: "attack" | "legit"; touched: boolean; flagged: boolean; peakRisk: number | null };

/**
 * Precision and recall of the accounts the gateway flagged against the simulator's labels. Without
 * the decision log, "flagged" falls back to "ever refused or degraded", which a plain quota also does.
 */
export function summariseAccounts(list: readonly AccountOutcome[], source: AccountResults["source"], thresholds: AccountResults["thresholds"]): AccountResults {
  const flaggedOf = (a: AccountOutcome) => (source === "decision log" ? a.flagged : a.touched);
  const risk: RiskHistogram = { bucketWidth: 100 / RISK_BUCKETS, honest: new Array<number>(RISK_BUCKETS).fill(0), attack: new Array<number>(RISK_BUCKETS).fill(0), unknown: { honest: 0, attack: 0 } };
  const byPopulation = new Map<string, AccountResults["byPopulation"][number]>();
  let labelledAttack = 0;
  let labelledHonest = 0;
  let flaggedAttack = 0;
  let flaggedHonest = 0;
  for (const a of list) {
    const attack = a.label === "attack";
    const flagged = flaggedOf(a);
    if (attack) {
      labelledAttack++;
      if (flagged) flaggedAttack++;
    } else {
      labelledHonest++;
      if (flagged) flaggedHonest++;
    }
    const key = `${a.population}:${a.label}`;
    const row = byPopulation.get(key) ?? { population: a.population, label: a.label, accounts: 0, flagged: 0 };
    row.accounts++;
    if (flagged) row.flagged++;
    byPopulation.set(key, row);
    const side = attack ? risk.attack : risk.honest;
    if (a.peakRisk === null) risk.unknown[attack ? "attack" : "honest"]++;
    else {
      // Risk 100 goes in the top bucket with 90–99.
      const b = Math.min(RISK_BUCKETS - 1, Math.max(0, Math.floor(a.peakRisk / risk.bucketWidth)));
      side[b] = (side[b] ?? 0) + 1;
    }
  }
  const flagged = flaggedAttack + flaggedHonest;
  return {
    source,
    labelledAttack,
    labelledHonest,
    flaggedAttack,
    flaggedHonest,
    precision: flagged > 0 ? flaggedAttack / flagged : null,
    recall: labelledAttack > 0 ? flaggedAttack / labelledAttack : null,
    byPopulation: [...byPopulation.values()],
    risk: source === "decision log" ? risk : null,
    thresholds: { tag: thresholds.tag, degrade: thresholds.degrade, throttle: thresholds.throttle, block: thresholds.block },
  };
}

/** Every account that sent a request: refused or degraded, flagged, its peak risk. */
export class AccountTally {
  private readonly perAccount = new Map<number, AccountTrack>();

  add(r: SentRequest): void {
    let acc = this.perAccount.get(r.account);
    if (!acc) this.perAccount.set(r.account, (acc = { touched: false, flagged: false, peakRisk: null }));
    if (r.status === 429 || r.status === 403 || r.degraded) acc.touched = true;
    const decision = r.decision;
    if (decision) {
      if (typeof decision.risk === "number") acc.peakRisk = Math.max(acc.peakRisk ?? 0, decision.risk);
      if (isFlagging(decision)) acc.flagged = true;
    }
  }

  finish(gen: Generated, source: AccountResults["source"], thresholds: AccountResults["thresholds"]): AccountResults {
    return summariseAccounts(
      [...this.perAccount].map(([a, track]) => {
        const pop = gen.scenario.populations[gen.accounts[a]?.population ?? -1];
        return { population: pop?.name ?? "?", label: pop && isAttack(pop) ? ("attack" as const) : ("legit" as const), ...track };
      }),
      source,
      thresholds,
    );
  }
}
