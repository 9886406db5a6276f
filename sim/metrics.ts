/**
 * From what was sent (the schedule, with the simulator's own attack/legit
 * labels) and what came back (status, usage) to the report's numbers: leakage
 * over time, false positives, time to detect, accounts burned, DO load and
 * gateway overhead. Pure; the CLI and the smoke test share it.
 *
 * Definitions, stated once:
 * - reached the origin: status 200 (the gateway only answers 200 by forwarding);
 * - degraded: a 200 whose usage.output_tokens is below what the demo origin
 *   answers unclamped (min(max_tokens, 2 × x-demo-events)), i.e. max_tokens was clamped;
 * - denied: 429 or 403; blocked: 403;
 * - detected (per campaign population): its first attack request denied, and,
 *   where the admin API answers, the first poll showing a confirmed key it owns;
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
import type { Policy } from "../lib/policy/index.ts";
import type { Generated } from "./generate.ts";
import type { DoLoadModel } from "./model.ts";
import type { OverheadResult } from "./overhead.ts";
import type { ScaledField } from "./policy.ts";
import type { ReplayResults, TaskStats } from "./replay.ts";
import { buildRequest } from "./requests.ts";
import { isAttack, type Targets } from "./scenario.ts";

export type Outcome = { sent: number; ok: number; degraded: number; throttled: number; blocked: number; other: number; outputTokens: number };

export type GroupStats = Outcome & { population: string; kind: string; label: "attack" | "legit"; accounts: number; accountsDenied: number; accountsBlocked: number };

export type Bin = {
  /** Campaign seconds at the bin's start. */
  t: number;
  attackSent: number;
  attackOk: number;
  attackDegraded: number;
  attackTokens: number;
  legitSent: number;
  legitDenied: number;
  legitBlocked: number;
  legitDegraded: number;
};

export type Detection = {
  population: string;
  kind: string;
  accounts: number;
  /** Campaign seconds since the run started. */
  firstRequestS: number | null;
  firstDenialS: number | null;
  /** First denial minus first request. */
  timeToFirstDenialS: number | null;
  firstConfirmedS: number | null;
  timeToConfirmedS: number | null;
  confirmedKeys: string[];
  leakedBeforeDenial: { exchanges: number; tokens: number };
  leakedAfterDenial: { exchanges: number; tokens: number };
  /** Share of the population's attack requests answered 200, in the first and last third of its activity. */
  okShareFirstThird: number | null;
  okShareLastThird: number | null;
  accountsUsed: number;
  accountsBlocked: number;
  accountsBurned: number;
  exchangesObtained: number;
  burnedPerMillionExchanges: number | null;
};

/** One line of the gateway's decision log (self-contained mode captures every one). */
export type DecisionInfo = {
  action: string;
  enforced: boolean;
  reasons: string[];
  risk?: number | null;
  /** The verdicts that applied (cluster ids); absent from logs that do not say. */
  clusters?: string[];
  /** Admitted within the isolate's allowance, without the account object. */
  local?: boolean;
};

/** What the gateway decided for one population × label, from its own decision log. */
export type ActionStats = {
  population: string;
  label: "attack" | "legit";
  requests: number;
  /** Action → requests; shadow decisions are counted as "<action>;shadow". */
  byAction: Record<string, number>;
  topReasons: { reason: string; count: number }[];
};

/** One GET /admin/clusters poll: which keys were confirmed when. */
export type VerdictPoll = { atWallMs: number; confirmed: string[] };

export type RunInfo = {
  mode: "self-contained" | "gateway";
  gateway: string;
  startedAt: string;
  setupSeconds: number;
  accountsCreated: number;
  accountCreateSeconds: number;
  notes: string[];
};

/** One requirement of the scenario's targets, judged. */
export type TargetCheck = { name: string; target: string; actual: string; pass: boolean };

export type Verdict = { pass: boolean; checks: TargetCheck[] };

/** What would have reached the origin without the gateway. */
export type Baseline = { attackExchanges: number; attackOutputTokens: number };

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

/** One stretch of a campaign's traffic around a rise in leakage, from the gateway's own decisions. */
export type RiseWindow = {
  fromS: number;
  toS: number;
  requests: number;
  ok: number;
  degraded: number;
  /** Action → requests ("allow" included; unenforced decisions as "<action>;shadow"); "unlogged" when no line joined. */
  actions: Record<string, number>;
  reasons: Record<string, number>;
  /** Mean of the decisions' risk; null when none carried one. */
  meanRisk: number | null;
  /** Share of the requests on the pivot's new model; null without a pivot. */
  newModelShare: number | null;
};

/** Leakage that rose again after falling, with the decisions before and after the rise. */
export type Rise = {
  population: string;
  /** The bins (campaign seconds at their start) where the fall, the trough and the rise were seen. */
  fallS: number;
  troughShare: number;
  riseS: number;
  riseShare: number;
  before: RiseWindow;
  after: RiseWindow;
};

/** A cluster the admin API reports, attributed to the campaign that owns its keys. */
export type ClusterEvidence = {
  id: string;
  type: "key" | "component";
  verdict: string;
  size: number;
  score: number | null;
  reasons: string[];
  evidence: { evidence: string; value: number | null; points: number; reason: string | null }[];
  /** For a component: its linking keys. */
  keys: string[];
  /** Share of the cluster's accounts the campaign holds (keys: from the simulator's own fingerprints). */
  ownerShare: number;
  /** A component's members by population (its detail lists them); empty for a key. */
  members: Record<string, number>;
};

export type IndicatorSample = { total: number; clusters: number; omitted: Record<string, number>; sample: { type: string; value: string; accounts: number; clusters: string[] }[] };

export type EvidenceReport = {
  byPopulation: { population: string; clusters: ClusterEvidence[] }[];
  indicators: IndicatorSample | null;
  /** Why evidence is missing, when it is. */
  note: string | null;
};

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
  totals: { requests: number; attack: Outcome; legit: Outcome; statuses: Record<string, number> };
  groups: GroupStats[];
  timeline: {
    binSeconds: number;
    bins: Bin[];
    attackOkByPopulation: Record<string, number[]>;
    /** Attack requests sent per bin, per campaign population: the denominator of its leakage share. */
    attackSentByPopulation: Record<string, number[]>;
  };
  detection: Detection[];
  accounts: AccountResults;
  rises: Rise[];
  evidence: EvidenceReport;
  /** Null when the decision log was not available (a running gateway logs to its own terminal). */
  actions: ActionStats[] | null;
  doLoad: DoLoadModel;
  overhead: OverheadResult | null;
};

// 30 bins: fine enough to see detection, coarse enough that a campaign's round clock does not alias into spikes.
const BINS = 30;

function emptyOutcome(): Outcome {
  return { sent: 0, ok: 0, degraded: 0, throttled: 0, blocked: 0, other: 0, outputTokens: 0 };
}

function count(o: Outcome, status: number, degraded: boolean, tokens: number): void {
  o.sent++;
  if (status === 200) {
    o.ok++;
    o.outputTokens += tokens;
    if (degraded) o.degraded++;
  } else if (status === 429) o.throttled++;
  else if (status === 403) o.blocked++;
  else o.other++;
}

export type ReportInput = {
  gen: Generated;
  results: ReplayResults;
  policy: Policy;
  scaled: ScaledField[];
  policyDocument: Record<string, unknown>;
  polls: VerdictPoll[];
  keyOwners: Map<string, { population: number; share: number; accounts: number }>;
  doLoad: DoLoadModel;
  overhead: OverheadResult | null;
  decisions: Map<string, DecisionInfo> | null;
  evidence?: EvidenceReport;
  run: RunInfo;
};

const TOP_REASONS = 8;

export function buildReport(input: ReportInput): Report {
  const { gen, results } = input;
  const { scenario, schedule, accounts } = gen;
  const factor = scenario.timeCompression;
  const campaignS = (wallMs: number) => (wallMs * factor) / 1000;
  const n = results.count;

  let lastS = scenario.durationSeconds;
  for (let i = 0; i < n; i++) lastS = Math.max(lastS, campaignS(results.sentAt[i] ?? 0));
  const binSeconds = Math.max(1, Math.ceil(lastS / BINS));
  const bins: Bin[] = Array.from({ length: Math.ceil(lastS / binSeconds) + 1 }, (_, b) => ({
    t: b * binSeconds,
    attackSent: 0,
    attackOk: 0,
    attackDegraded: 0,
    attackTokens: 0,
    legitSent: 0,
    legitDenied: 0,
    legitBlocked: 0,
    legitDegraded: 0,
  }));
  const attackOkByPopulation: Record<string, number[]> = {};
  const attackSentByPopulation: Record<string, number[]> = {};
  for (const p of scenario.populations) {
    if (!isAttack(p)) continue;
    attackOkByPopulation[p.name] = bins.map(() => 0);
    attackSentByPopulation[p.name] = bins.map(() => 0);
  }
  let baselineTokens = 0;
  const perAccount = new Map<number, AccountTrack>();

  const totals = { requests: n, attack: emptyOutcome(), legit: emptyOutcome(), statuses: {} as Record<string, number> };
  // population × label
  const groups = new Map<string, GroupStats & { acc: Set<number>; accDenied: Set<number>; accBlocked: Set<number> }>();
  const lastStatus = new Map<number, number>();
  type Track = { first: number; firstDenial: number; times: number[]; oks: number[] };
  const actions = new Map<string, ActionStats & { reasons: Map<string, number> }>();
  const tracks = new Map<number, Track>();

  for (let i = 0; i < n; i++) {
    const a = schedule.account[i] ?? 0;
    const account = accounts[a];
    if (!account) continue;
    const pop = scenario.populations[account.population];
    if (!pop) continue;
    const attack = schedule.attack[i] === 1;
    const status = results.status[i] ?? 0;
    const tokens = Math.max(0, results.outputTokens[i] ?? 0);
    const expected = results.expectedTokens[i] ?? 0;
    const degraded = status === 200 && (results.outputTokens[i] ?? -1) >= 0 && tokens < expected;
    const at = results.sentAt[i] ?? 0;
    const t = campaignS(at);
    const bin = bins[Math.min(bins.length - 1, Math.floor(t / binSeconds))];
    const label = attack ? "attack" : "legit";
    count(attack ? totals.attack : totals.legit, status, degraded, tokens);
    totals.statuses[String(status)] = (totals.statuses[String(status)] ?? 0) + 1;

    const gk = `${account.population}:${label}`;
    let g = groups.get(gk);
    if (!g) {
      g = { ...emptyOutcome(), population: pop.name, kind: pop.kind, label, accounts: 0, accountsDenied: 0, accountsBlocked: 0, acc: new Set(), accDenied: new Set(), accBlocked: new Set() };
      groups.set(gk, g);
    }
    count(g, status, degraded, tokens);
    g.acc.add(a);
    if (input.decisions) {
      let st = actions.get(gk);
      if (!st) actions.set(gk, (st = { population: pop.name, label, requests: 0, byAction: {}, topReasons: [], reasons: new Map() }));
      st.requests++;
      const id = results.requestIds[i];
      const d = id ? input.decisions.get(id) : undefined;
      // Allows are logged too (their risk feeds the account results), but this table is about acting.
      if (d && d.action !== "allow") {
        const name = d.enforced ? d.action : `${d.action};shadow`;
        st.byAction[name] = (st.byAction[name] ?? 0) + 1;
        for (const r of d.reasons) st.reasons.set(r, (st.reasons.get(r) ?? 0) + 1);
      }
    }
    if (status === 429 || status === 403) g.accDenied.add(a);
    if (status === 403) g.accBlocked.add(a);
    if (attack) baselineTokens += expected;
    let acc = perAccount.get(a);
    if (!acc) perAccount.set(a, (acc = { touched: false, flagged: false, peakRisk: null }));
    if (status === 429 || status === 403 || degraded) acc.touched = true;
    const requestId = results.requestIds[i];
    const decision = requestId ? input.decisions?.get(requestId) : undefined;
    if (decision) {
      if (typeof decision.risk === "number") acc.peakRisk = Math.max(acc.peakRisk ?? 0, decision.risk);
      if (isFlagging(decision)) acc.flagged = true;
    }

    if (bin) {
      if (attack) {
        bin.attackSent++;
        const sentSeries = attackSentByPopulation[pop.name];
        const b = Math.min(bins.length - 1, Math.floor(t / binSeconds));
        if (sentSeries) sentSeries[b] = (sentSeries[b] ?? 0) + 1;
        if (status === 200) {
          bin.attackOk++;
          bin.attackTokens += tokens;
          if (degraded) bin.attackDegraded++;
          const series = attackOkByPopulation[pop.name];
          if (series) series[b] = (series[b] ?? 0) + 1;
        }
      } else {
        bin.legitSent++;
        if (status === 429 || status === 403) bin.legitDenied++;
        if (status === 403) bin.legitBlocked++;
        if (degraded) bin.legitDegraded++;
      }
    }
    if (attack) {
      // Sent in schedule order, so the last write is the account's last request.
      lastStatus.set(a, status);
      let track = tracks.get(account.population);
      if (!track) tracks.set(account.population, (track = { first: Infinity, firstDenial: Infinity, times: [], oks: [] }));
      track.first = Math.min(track.first, at);
      if (status === 429 || status === 403) track.firstDenial = Math.min(track.firstDenial, at);
      track.times.push(at);
      track.oks.push(status === 200 ? tokens : -1);
    }
  }

  const groupList: GroupStats[] = [...groups.values()].map(({ acc, accDenied, accBlocked, ...g }) => ({
    ...g,
    accounts: acc.size,
    accountsDenied: accDenied.size,
    accountsBlocked: accBlocked.size,
  }));

  const detection: Detection[] = [];
  scenario.populations.forEach((pop, p) => {
    if (!isAttack(pop)) return;
    const track = tracks.get(p);
    const group = groups.get(`${p}:attack`);
    const firstRequestS = track && Number.isFinite(track.first) ? campaignS(track.first) : null;
    const firstDenialS = track && Number.isFinite(track.firstDenial) ? campaignS(track.firstDenial) : null;
    const owned = new Set([...input.keyOwners].filter(([, o]) => o.population === p && o.share >= 0.8 && o.accounts >= 2).map(([k]) => k));
    let firstConfirmedS: number | null = null;
    let confirmedKeys: string[] = [];
    for (const poll of input.polls) {
      const mine = poll.confirmed.filter((k) => owned.has(k));
      if (mine.length > 0) {
        firstConfirmedS ??= campaignS(poll.atWallMs);
        confirmedKeys = [...new Set([...confirmedKeys, ...mine])];
      }
    }
    const before = { exchanges: 0, tokens: 0 };
    const after = { exchanges: 0, tokens: 0 };
    // [requests, ok] in the first third of the population's activity, then in the last third.
    const thirds: [number, number, number, number] = [0, 0, 0, 0];
    if (track && track.times.length > 0) {
      const t0 = track.first;
      // A loop, not Math.max(...): 100k arguments overflow the stack.
      let t1 = t0;
      for (const at of track.times) if (at > t1) t1 = at;
      const span = Math.max(1, t1 - t0);
      track.times.forEach((at, k) => {
        const tokens = track.oks[k] ?? -1;
        if (tokens >= 0) {
          const side = at < track.firstDenial ? before : after;
          side.exchanges++;
          side.tokens += tokens;
        }
        const third = (at - t0) / span;
        if (third < 1 / 3) {
          thirds[0]++;
          if (tokens >= 0) thirds[1]++;
        } else if (third >= 2 / 3) {
          thirds[2]++;
          if (tokens >= 0) thirds[3]++;
        }
      });
    }
    let used = 0;
    let burned = 0;
    const blocked = group?.accBlocked ?? new Set<number>();
    for (const [a, status] of lastStatus) {
      if (accounts[a]?.population !== p) continue;
      used++;
      if (status === 429 || status === 403 || blocked.has(a)) burned++;
    }
    const obtained = group?.ok ?? 0;
    detection.push({
      population: pop.name,
      kind: pop.kind,
      accounts: pop.accounts,
      firstRequestS,
      firstDenialS,
      timeToFirstDenialS: firstRequestS !== null && firstDenialS !== null ? firstDenialS - firstRequestS : null,
      firstConfirmedS,
      timeToConfirmedS: firstRequestS !== null && firstConfirmedS !== null ? Math.max(0, firstConfirmedS - firstRequestS) : null,
      confirmedKeys,
      leakedBeforeDenial: before,
      leakedAfterDenial: after,
      okShareFirstThird: thirds[0] > 0 ? thirds[1] / thirds[0] : null,
      okShareLastThird: thirds[2] > 0 ? thirds[3] / thirds[2] : null,
      accountsUsed: used,
      accountsBlocked: blocked.size,
      accountsBurned: burned,
      exchangesObtained: obtained,
      burnedPerMillionExchanges: obtained > 0 ? (burned / obtained) * 1_000_000 : null,
    });
  });

  const policy = input.policy;
  const accountResults = summariseAccounts(
    [...perAccount].map(([a, track]) => {
      const pop = scenario.populations[accounts[a]?.population ?? -1];
      return { population: pop?.name ?? "?", label: pop && isAttack(pop) ? ("attack" as const) : ("legit" as const), ...track };
    }),
    input.decisions ? "decision log" : "responses",
    policy.actions,
  );
  const rises: Rise[] = [];
  for (const [name, sent] of Object.entries(attackSentByPopulation)) {
    const p = scenario.populations.findIndex((x) => x.name === name);
    for (const found of findRises(sent, attackOkByPopulation[name] ?? [])) {
      const window = (from: number, to: number) => riseWindow(gen, results, input.decisions, p, from * binSeconds, (to + 1) * binSeconds);
      rises.push({
        population: name,
        fallS: found.fallBin * binSeconds,
        troughShare: found.troughShare,
        riseS: found.riseBin * binSeconds,
        riseShare: found.riseShare,
        before: window(found.fallBin, found.riseBin - 1),
        after: window(found.riseBin, found.riseEnd),
      });
    }
  }
  const pureLegit = groupList.filter((g) => g.label === "legit" && (g.kind === "legit" || g.kind === "service"));
  const honestSent = pureLegit.reduce((sum, g) => sum + g.sent, 0);
  const honestTouched = pureLegit.reduce((sum, g) => sum + g.throttled + g.blocked + g.degraded, 0);

  return {
    targets: scenario.targets,
    verdict: judgeTargets(scenario.targets, {
      honestSent,
      honestTouched,
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
    groups: groupList,
    timeline: { binSeconds, bins, attackOkByPopulation, attackSentByPopulation },
    detection,
    accounts: accountResults,
    rises,
    evidence: input.evidence ?? { byPopulation: [], indicators: null, note: "not collected in this run" },
    actions: input.decisions
      ? [...actions.values()].map(({ reasons, ...st }) => ({
          ...st,
          topReasons: [...reasons].sort((x, y) => y[1] - x[1]).slice(0, TOP_REASONS).map(([reason, count]) => ({ reason, count })),
        }))
      : null,
    doLoad: input.doLoad,
    overhead: input.overhead,
  };
}

// ───────────────────────────── per-account results ─────────────────────────────

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

// ──────────────────────────── leakage that rises again ────────────────────────────

// A bin with fewer attack requests than this says nothing about a share.
const MIN_BIN_REQUESTS = 3;
// Leakage has fallen once its share is this far below the campaign's peak so far…
const FALL = 0.5;
// …and rises again once it is this far above the lowest share since; the rise lasts while it stays half that far above.
const RISE = 0.2;
const MAX_RISES = 3;

export type FoundRise = { fallBin: number; troughBin: number; troughShare: number; riseBin: number; riseShare: number; riseEnd: number };

/**
 * Where a campaign's share of requests answered 200 fell and then climbed back, per bin: the
 * stretches a reader of the chart asks "why?" about. Each rise ends where the share drops back
 * near the trough; the search then starts over from there.
 */
export function findRises(sent: readonly number[], ok: readonly number[]): FoundRise[] {
  const out: FoundRise[] = [];
  let peak = -1;
  let fall: { bin: number; trough: number; troughBin: number } | null = null;
  for (let b = 0; b < sent.length && out.length < MAX_RISES; b++) {
    const n = sent[b] ?? 0;
    if (n < MIN_BIN_REQUESTS) continue;
    const share = (ok[b] ?? 0) / n;
    if (fall === null) {
      peak = Math.max(peak, share);
      if (peak - share >= FALL) fall = { bin: b, trough: share, troughBin: b };
      continue;
    }
    if (share < fall.trough) {
      fall.trough = share;
      fall.troughBin = b;
      continue;
    }
    if (share - fall.trough < RISE) continue;
    let end = b;
    let top = share;
    for (let k = b + 1; k < sent.length; k++) {
      const m = sent[k] ?? 0;
      if (m < MIN_BIN_REQUESTS) break;
      const s = (ok[k] ?? 0) / m;
      if (s - fall.trough < RISE / 2) break;
      end = k;
      top = Math.max(top, s);
    }
    out.push({ fallBin: fall.bin, troughBin: fall.troughBin, troughShare: fall.trough, riseBin: b, riseShare: top, riseEnd: end });
    // The next fall is measured from what this rise reached.
    peak = top;
    fall = null;
    b = end;
  }
  return out;
}

/** The decisions on one campaign's attack requests sent in [fromS, toS) of campaign time. */
function riseWindow(gen: Generated, results: ReplayResults, decisions: Map<string, DecisionInfo> | null, population: number, fromS: number, toS: number): RiseWindow {
  const factor = gen.scenario.timeCompression;
  const pivotModel = gen.scenario.pivot?.model ?? null;
  const w: RiseWindow = { fromS, toS, requests: 0, ok: 0, degraded: 0, actions: {}, reasons: {}, meanRisk: null, newModelShare: null };
  let riskSum = 0;
  let riskN = 0;
  let onNewModel = 0;
  for (let i = 0; i < results.count; i++) {
    if (gen.schedule.attack[i] !== 1) continue;
    if (gen.accounts[gen.schedule.account[i] ?? 0]?.population !== population) continue;
    const t = ((results.sentAt[i] ?? 0) * factor) / 1000;
    if (t < fromS || t >= toS) continue;
    w.requests++;
    const status = results.status[i] ?? 0;
    if (status === 200) {
      w.ok++;
      if ((results.outputTokens[i] ?? -1) >= 0 && (results.outputTokens[i] ?? 0) < (results.expectedTokens[i] ?? 0)) w.degraded++;
    }
    const id = results.requestIds[i];
    const d = decisions && id ? decisions.get(id) : undefined;
    const action = d ? (d.enforced ? d.action : `${d.action};shadow`) : "unlogged";
    w.actions[action] = (w.actions[action] ?? 0) + 1;
    for (const r of d?.reasons ?? []) w.reasons[r] = (w.reasons[r] ?? 0) + 1;
    if (typeof d?.risk === "number") {
      riskSum += d.risk;
      riskN++;
    }
    if (pivotModel !== null) {
      // Only the few requests of the two windows are rebuilt: the schedule does not keep the model.
      const body = JSON.parse(buildRequest(gen, i).body) as { model?: unknown };
      if (body.model === pivotModel) onNewModel++;
    }
  }
  w.meanRisk = riskN > 0 ? riskSum / riskN : null;
  w.newModelShare = pivotModel !== null && w.requests > 0 ? onNewModel / w.requests : null;
  return w;
}

/** Reasons whose share of the window's requests moved most between before and after, largest move first. */
export function reasonShifts(before: RiseWindow, after: RiseWindow, limit = 6): { reason: string; before: number; after: number }[] {
  const names = new Set([...Object.keys(before.reasons), ...Object.keys(after.reasons)]);
  const share = (w: RiseWindow, r: string) => (w.requests > 0 ? (w.reasons[r] ?? 0) / w.requests : 0);
  return [...names]
    .map((reason) => ({ reason, before: share(before, reason), after: share(after, reason) }))
    .filter((x) => Math.abs(x.after - x.before) >= 0.05)
    .sort((x, y) => Math.abs(y.after - y.before) - Math.abs(x.after - x.before) || x.reason.localeCompare(y.reason))
    .slice(0, limit);
}

// ─────────────────────────────────── targets ───────────────────────────────────

export type VerdictInput = {
  honestSent: number;
  honestTouched: number;
  attackSent: number;
  attackServedInFull: number;
  detection: readonly Pick<Detection, "population" | "accounts" | "timeToFirstDenialS" | "timeToConfirmedS">[];
  recall: number | null;
};

const percent = (v: number) => `${(100 * v).toFixed(v > 0 && v < 0.001 ? 3 : 1)}%`;

/** The run against the scenario's targets: every check, and pass only when each passes. */
export function judgeTargets(targets: Targets, m: VerdictInput): Verdict {
  const checks: TargetCheck[] = [];
  const honest = m.honestSent > 0 ? m.honestTouched / m.honestSent : 0;
  checks.push({ name: "honest requests touched", target: `≤ ${percent(targets.honestTouchedMax)}`, actual: `${percent(honest)} (${m.honestTouched} of ${m.honestSent})`, pass: honest <= targets.honestTouchedMax });
  const leaked = m.attackSent > 0 ? m.attackServedInFull / m.attackSent : 0;
  checks.push({ name: "attack exchanges served in full", target: `≤ ${percent(targets.leakageMax)}`, actual: `${percent(leaked)} (${m.attackServedInFull} of ${m.attackSent})`, pass: leaked <= targets.leakageMax });
  const within = targets.detectWithinSeconds;
  if (within !== null) {
    for (const d of m.detection) {
      const times = [d.timeToFirstDenialS, d.timeToConfirmedS].filter((x): x is number => x !== null);
      const first = times.length > 0 ? Math.min(...times) : null;
      checks.push({
        name: `${d.population} detected (first denial or confirmed verdict)`,
        target: `≤ ${within} s`,
        actual: first === null ? "never" : `${first.toFixed(0)} s`,
        pass: first !== null && first <= within,
      });
    }
  }
  if (targets.accountRecallMin !== null) {
    checks.push({
      name: "attack accounts flagged (recall)",
      target: `≥ ${percent(targets.accountRecallMin)}`,
      actual: m.recall === null ? "no attack accounts" : percent(m.recall),
      pass: m.recall === null || m.recall >= targets.accountRecallMin,
    });
  }
  return { pass: checks.every((c) => c.pass), checks };
}

// ─────────────────────────────── run-to-run spread ───────────────────────────────

export type Figure = { name: string; unit: "share" | "count" | "seconds"; value: number | null };

/** The figures compared across repeated runs: the headline, as numbers. */
export function headlineFigures(report: Report): Figure[] {
  const { attack } = report.totals;
  const legit = report.groups.filter((g) => g.label === "legit" && (g.kind === "legit" || g.kind === "service"));
  const honestSent = legit.reduce((s, g) => s + g.sent, 0);
  const honestTouched = legit.reduce((s, g) => s + g.throttled + g.blocked + g.degraded, 0);
  const figures: Figure[] = [
    { name: "attack exchanges reaching the origin", unit: "share", value: attack.sent > 0 ? attack.ok / attack.sent : null },
    { name: "attack exchanges served in full", unit: "share", value: attack.sent > 0 ? (attack.ok - attack.degraded) / attack.sent : null },
    { name: "attack output tokens leaked", unit: "count", value: attack.outputTokens },
    { name: "honest requests touched", unit: "share", value: honestSent > 0 ? honestTouched / honestSent : null },
    { name: "account precision", unit: "share", value: report.accounts.precision },
    { name: "account recall", unit: "share", value: report.accounts.recall },
  ];
  for (const d of report.detection) {
    figures.push({ name: `${d.population}: time to first denial`, unit: "seconds", value: d.timeToFirstDenialS });
    figures.push({ name: `${d.population}: time to confirmed verdict`, unit: "seconds", value: d.timeToConfirmedS });
  }
  return figures;
}

export type Spread = { name: string; unit: Figure["unit"]; runs: number; missing: number; min: number | null; median: number | null; max: number | null };

/** Min, median and max of each figure over runs; a run without the figure (never detected) counts as missing. */
export function spread(runs: readonly Figure[][]): Spread[] {
  const names: { name: string; unit: Figure["unit"] }[] = [];
  for (const run of runs) for (const f of run) if (!names.some((n) => n.name === f.name)) names.push({ name: f.name, unit: f.unit });
  return names.map(({ name, unit }) => {
    const values = runs.map((run) => run.find((f) => f.name === name)?.value ?? null);
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
    const mid = known.length / 2;
    const median = known.length === 0 ? null : known.length % 2 === 1 ? (known[Math.floor(mid)] ?? null) : ((known[mid - 1] ?? 0) + (known[mid] ?? 0)) / 2;
    return { name, unit, runs: runs.length, missing: values.length - known.length, min: known[0] ?? null, median, max: known[known.length - 1] ?? null };
  });
}

// ───────────────────────────────── evidence ─────────────────────────────────

/** A cluster as GET /admin/clusters/{id} answers it (the fields the report reads). */
export type ClusterDetail = {
  id: string;
  type: "key" | "component";
  verdict: string;
  size: number;
  score?: number | null;
  reasons?: string[];
  evidence?: { evidence: string; value: number | null; points: number; reason: string | null }[];
  sharedKeys?: string[];
  /** A component's members by population index, when its detail was read. */
  members?: Map<number, number>;
};

/**
 * Each campaign's clusters: a key goes to the population holding most of its accounts (at least
 * `minShare` of them, as for confirmed keys); a component to the population most of its members
 * belong to (whatever the share: a component mixing honest and attack accounts is worth seeing),
 * or, without its members, to the owner of most of its keys.
 */
export function attributeClusters(
  clusters: readonly ClusterDetail[],
  owners: Map<string, { population: number; share: number; accounts: number }>,
  populations: readonly string[],
  minShare = 0.8,
): EvidenceReport["byPopulation"] {
  const out = new Map<number, ClusterEvidence[]>();
  for (const c of clusters) {
    let population: number | null = null;
    let ownerShare = 0;
    if (c.type === "key") {
      const o = owners.get(c.id);
      if (o && o.share >= minShare) [population, ownerShare] = [o.population, o.share];
    } else if (c.members && c.members.size > 0) {
      let total = 0;
      for (const n of c.members.values()) total += n;
      for (const [p, n] of c.members) if (n / total > ownerShare) [population, ownerShare] = [p, n / total];
    } else {
      const votes = new Map<number, number>();
      const keys = c.sharedKeys ?? [];
      for (const k of keys) {
        const o = owners.get(k);
        if (o && o.share >= minShare) votes.set(o.population, (votes.get(o.population) ?? 0) + 1);
      }
      for (const [p, n] of votes) if (n / Math.max(1, keys.length) > ownerShare) [population, ownerShare] = [p, n / keys.length];
    }
    if (population === null) continue;
    const list = out.get(population) ?? [];
    list.push({
      id: c.id,
      type: c.type,
      verdict: c.verdict,
      size: c.size,
      score: c.score ?? null,
      reasons: c.reasons ?? [],
      evidence: c.evidence ?? [],
      keys: c.sharedKeys ?? [],
      ownerShare,
      members: Object.fromEntries([...(c.members ?? [])].map(([p, n]) => [populations[p] ?? `population ${p}`, n])),
    });
    out.set(population, list);
  }
  return [...out]
    .sort(([a], [b]) => a - b)
    .map(([p, list]) => ({ population: populations[p] ?? `population ${p}`, clusters: list.sort((x, y) => y.size - x.size) }));
}
