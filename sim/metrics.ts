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
 * - burned account: an attack account whose last request was denied, or that was ever blocked.
 */
import type { Policy } from "../lib/policy.ts";
import type { Generated } from "./generate.ts";
import type { DoLoadModel } from "./model.ts";
import type { OverheadResult } from "./overhead.ts";
import type { ScaledField } from "./policy.ts";
import type { ReplayResults, TaskStats } from "./replay.ts";
import { isAttack } from "./scenario.ts";

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

/** One line of the gateway's decision log (self-contained mode captures the non-allow ones). */
export type DecisionInfo = { action: string; enforced: boolean; reasons: string[] };

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
  policy: { scaled: ScaledField[]; document: Record<string, unknown> };
  /** Status → requests, so "other" answers (5xx, transport failures as 0) are visible. */
  totals: { requests: number; attack: Outcome; legit: Outcome; statuses: Record<string, number> };
  groups: GroupStats[];
  timeline: { binSeconds: number; bins: Bin[]; attackOkByPopulation: Record<string, number[]> };
  detection: Detection[];
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
  for (const p of scenario.populations) if (isAttack(p)) attackOkByPopulation[p.name] = bins.map(() => 0);

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
      if (d) {
        const name = d.enforced ? d.action : `${d.action};shadow`;
        st.byAction[name] = (st.byAction[name] ?? 0) + 1;
        for (const r of d.reasons) st.reasons.set(r, (st.reasons.get(r) ?? 0) + 1);
      }
    }
    if (status === 429 || status === 403) g.accDenied.add(a);
    if (status === 403) g.accBlocked.add(a);

    if (bin) {
      if (attack) {
        bin.attackSent++;
        if (status === 200) {
          bin.attackOk++;
          bin.attackTokens += tokens;
          if (degraded) bin.attackDegraded++;
          const series = attackOkByPopulation[pop.name];
          const b = Math.min(bins.length - 1, Math.floor(t / binSeconds));
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

  return {
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
    policy: { scaled: input.scaled, document: input.policyDocument },
    totals,
    groups: groupList,
    timeline: { binSeconds, bins, attackOkByPopulation },
    detection,
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
