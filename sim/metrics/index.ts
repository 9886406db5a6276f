/**
 * From what was sent (the schedule, with the simulator's own attack/legit
 * labels) and what came back (status, usage) to the report's numbers: leakage
 * over time, false positives, time to detect, accounts burned, DO load and
 * gateway overhead. Pure; the CLI and the smoke test share it. Each measure is
 * a module of this folder, fed by one pass over the requests (buildReport).
 *
 * Definitions, stated once:
 * - reached the origin: status 200 (the gateway only answers 200 by forwarding);
 * - degraded: a 200 whose usage.output_tokens is below what the demo origin
 *   answers unclamped (min(max_tokens, 2 × x-demo-events)), i.e. max_tokens was clamped;
 * - denied: 429 or 403; blocked: 403;
 * - enforced: an attack request denied, or degraded (by its answer, or by an enforced degrade
 *   in the decision log); a policy that only ever degrades a campaign, or refuses it by region,
 *   has still acted on it;
 * - detected (per campaign population): its first attack request enforced, or, where the admin
 *   API answers, the first poll showing a confirmed key it owns, whichever came first; the first
 *   denial is reported beside it;
 * - burned account: an attack account whose last request was denied, or that was ever blocked;
 * - leaked (the targets' leakage): an attack exchange answered in full (200, not degraded);
 * - honest touched: a legit or service population's request refused or degraded;
 * - flagged account: one the gateway enforced degrade, throttle or block on for a reason other
 *   than a plain limit (quota.*), from its decision log; without the log, one ever refused or
 *   degraded. An account is labelled attack when its population is a campaign (a reseller's
 *   pooled accounts included: they carry the distiller's traffic);
 * - baseline: without the gateway every attack request reaches the origin and is answered in
 *   full (the demo origin's unclamped answer).
 */
import type { Policy } from "../../lib/policy/index.ts";
import type { Generated } from "../generate.ts";
import type { DoLoadModel } from "../model.ts";
import type { OverheadResult } from "../overhead.ts";
import type { ScaledField } from "../policy.ts";
import type { ReplayResults, TaskStats } from "../replay.ts";
import type { Targets } from "../scenario.ts";
import { AccountTally, type AccountResults } from "./accounts.ts";
import { ActionTally, type ActionStats } from "./actions.ts";
import { CampaignTally, type Detection, type KeyOwners, type VerdictPoll } from "./campaigns.ts";
import type { EvidenceReport } from "./evidence.ts";
import { sentRequests, type DecisionInfo } from "./request.ts";
import { campaignRises, type Rise } from "./rises.ts";
import type { Figure } from "./spread.ts";
import { judgeTargets, type Verdict } from "./targets.ts";
import { binSecondsFor, honestTouched, TrafficTally, type GroupStats, type Timeline, type Totals } from "./traffic.ts";

export { isFlagging, summariseAccounts, type AccountOutcome, type AccountResults, type RiskHistogram } from "./accounts.ts";
export type { ActionStats } from "./actions.ts";
export type { Detection, VerdictPoll } from "./campaigns.ts";
export { attributeClusters, type ClusterDetail, type ClusterEvidence, type EvidenceReport, type IndicatorSample } from "./evidence.ts";
export type { DecisionInfo } from "./request.ts";
export { findRises, reasonShifts, type FoundRise, type Rise, type RiseWindow } from "./rises.ts";
export { spread, type Figure, type Spread } from "./spread.ts";
export { judgeTargets, type TargetCheck, type Verdict, type VerdictInput } from "./targets.ts";
export type { Bin, GroupStats, Outcome, Timeline, Totals } from "./traffic.ts";

export type RunInfo = {
  mode: "self-contained" | "gateway";
  gateway: string;
  startedAt: string;
  setupSeconds: number;
  accountsCreated: number;
  accountCreateSeconds: number;
  notes: string[];
};

/** What would have reached the origin without the gateway. */
export type Baseline = { attackExchanges: number; attackOutputTokens: number };

export type Report = {
  scenario: {
    name: string;
    description: string;
    seed: number;
    durationSeconds: number;
    timeCompression: number;
    concurrency: number;
    /** When the pivot's new model appears, in campaign seconds; null without a pivot. */
    pivotAtS: number | null;
    populations: { name: string; kind: string; accounts: number; requests: number }[];
  };
  run: RunInfo & { replayWallSeconds: number; maxLagSeconds: number; transportErrors: number; firstTransportError: string | null; tasks: Record<string, TaskStats> };
  targets: Targets;
  verdict: Verdict;
  baseline: Baseline;
  /** `document` is what the run wrote; `effective` the whole policy the gateway ran, defaults included. */
  policy: { scaled: ScaledField[]; document: Record<string, unknown>; effective: Policy };
  /** Status → requests, so "other" answers (5xx, transport failures as 0) are visible. */
  totals: Totals;
  groups: GroupStats[];
  timeline: Timeline;
  detection: Detection[];
  accounts: AccountResults;
  rises: Rise[];
  evidence: EvidenceReport;
  /** Null when the decision log was not available (a running gateway logs to its own terminal). */
  actions: ActionStats[] | null;
  doLoad: DoLoadModel;
  overhead: OverheadResult | null;
};

export type ReportInput = {
  gen: Generated;
  results: ReplayResults;
  policy: Policy;
  scaled: ScaledField[];
  policyDocument: Record<string, unknown>;
  polls: VerdictPoll[];
  keyOwners: KeyOwners;
  doLoad: DoLoadModel;
  overhead: OverheadResult | null;
  decisions: Map<string, DecisionInfo> | null;
  evidence?: EvidenceReport;
  run: RunInfo;
};

/** One pass over the replayed requests feeds every measure; each then sums up its own part of the report. */
export function buildReport(input: ReportInput): Report {
  const { gen, results } = input;
  const { scenario } = gen;
  const factor = scenario.timeCompression;
  const campaignS = (wallMs: number) => (wallMs * factor) / 1000;

  let lastS = scenario.durationSeconds;
  for (let i = 0; i < results.count; i++) lastS = Math.max(lastS, campaignS(results.sentAt[i] ?? 0));
  const traffic = new TrafficTally(scenario, results.count, binSecondsFor(lastS), lastS);
  const campaigns = new CampaignTally();
  const accounts = new AccountTally();
  const actions = input.decisions ? new ActionTally() : null;
  for (const r of sentRequests(gen, results, input.decisions)) {
    traffic.add(r, campaignS(r.at));
    campaigns.add(r);
    accounts.add(r);
    actions?.add(r);
  }

  const { totals, groups, timeline, baselineTokens } = traffic.finish();
  const detection = campaigns.finish(gen, input.keyOwners, input.polls, campaignS);
  const policy = input.policy;
  const accountResults = accounts.finish(gen, input.decisions ? "decision log" : "responses", policy.actions);
  const honest = honestTouched(groups);

  return {
    targets: scenario.targets,
    verdict: judgeTargets(scenario.targets, {
      honestSent: honest.sent,
      honestTouched: honest.touched,
      attackSent: totals.attack.sent,
      attackServedInFull: totals.attack.ok - totals.attack.degraded,
      detection,
      recall: accountResults.recall,
    }),
    baseline: { attackExchanges: totals.attack.sent, attackOutputTokens: baselineTokens },
    scenario: {
      name: scenario.name,
      description: scenario.description,
      seed: scenario.seed,
      durationSeconds: scenario.durationSeconds,
      timeCompression: factor,
      concurrency: scenario.concurrency,
      pivotAtS: scenario.pivot ? scenario.pivot.at * scenario.durationSeconds : null,
      populations: scenario.populations.map((p) => ({ name: p.name, kind: p.kind, accounts: p.accounts, requests: p.requests })),
    },
    run: {
      ...input.run,
      replayWallSeconds: results.wallMs / 1000,
      maxLagSeconds: results.maxLagMs / 1000,
      transportErrors: results.transportErrors,
      firstTransportError: results.firstTransportError,
      tasks: results.tasks,
    },
    policy: { scaled: input.scaled, document: input.policyDocument, effective: policy },
    totals,
    groups,
    timeline,
    detection,
    accounts: accountResults,
    rises: campaignRises(gen, results, input.decisions, timeline),
    evidence: input.evidence ?? { byPopulation: [], indicators: null, note: "not collected in this run" },
    actions: actions ? actions.finish() : null,
    doLoad: input.doLoad,
    overhead: input.overhead,
  };
}

/** The figures compared across repeated runs: the headline, as numbers. */
export function headlineFigures(report: Report): Figure[] {
  const { attack } = report.totals;
  const honest = honestTouched(report.groups);
  const figures: Figure[] = [
    { name: "attack exchanges reaching the origin", unit: "share", value: attack.sent > 0 ? attack.ok / attack.sent : null },
    { name: "attack exchanges served in full", unit: "share", value: attack.sent > 0 ? (attack.ok - attack.degraded) / attack.sent : null },
    { name: "attack output tokens leaked", unit: "count", value: attack.outputTokens },
    { name: "honest requests touched", unit: "share", value: honest.sent > 0 ? honest.touched / honest.sent : null },
    { name: "account precision", unit: "share", value: report.accounts.precision },
    { name: "account recall", unit: "share", value: report.accounts.recall },
  ];
  for (const d of report.detection) {
    figures.push({ name: `${d.population}: time to first enforcement`, unit: "seconds", value: d.timeToFirstEnforcementS });
    figures.push({ name: `${d.population}: time to first denial`, unit: "seconds", value: d.timeToFirstDenialS });
    figures.push({ name: `${d.population}: time to confirmed verdict`, unit: "seconds", value: d.timeToConfirmedS });
  }
  return figures;
}
