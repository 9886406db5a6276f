/**
 * How one evaluation run is judged (npm run eval:detection): from what was
 * sent (the generator's labels), what came back (status, the gateway's own
 * decision log) and the confirmed verdicts the admin API listed over time.
 * Pure; the targets are issue 17's.
 *
 * Definitions, stated once:
 * - campaign exchange: a request the generator labelled attack (a reseller's
 *   ordinary customers are not the campaign, and not "honest" either: they share
 *   the campaign's accounts and are reported apart);
 * - served undegraded: answered 200 without an enforced degrade decision that
 *   changed the request (a clamp to degrade.maxTokens bites only on a larger
 *   max_tokens or a thinking request): what a campaign can train on;
 * - honest touched: an honest family's request refused (429, 403) or under an
 *   enforced degrade decision, whether or not the clamp changed its answer;
 * - detected: the first verdict poll at which confirmed keys cover at least half
 *   of the campaign's accounts (an account is covered when one of the keys its
 *   requests present is confirmed, or links a confirmed component), in campaign
 *   seconds from the campaign's first request;
 * - stopped: the earliest moment from which at most 2 % of the campaign's
 *   remaining exchanges (at least 20 of them, and a tenth of all) were served
 *   undegraded; a campaign refused outright by policy (a denied billing
 *   country) is stopped at 0 s without any verdict.
 */
import { keyKind, verdictApplies, type Signature } from "../lib/cluster/verdict.ts";
import type { Generated } from "./generate.ts";
import type { DecisionInfo, VerdictPoll } from "./metrics/index.ts";
import type { ReplayResults } from "./replay.ts";
import type { Split } from "./families/phrasings.ts";

export const TARGETS = {
  /** Campaigns this large must be confirmed... */
  minAccounts: 20,
  /** ...within this many campaign seconds of their first request. */
  detectWithinS: 60,
  /** Share of campaign exchanges served undegraded after detection. */
  maxServedAfterDetect: 0.02,
  /** Share of honest requests degraded or refused. */
  maxHonestTouched: 0.001,
} as const;

/** Campaign seconds a request may leave late before the run no longer stands for its schedule: the poll period. */
export const LAG_TOLERANCE_S = 5;

/** Share of a campaign's accounts confirmed keys must cover for it to count as detected. */
const COVERAGE = 0.5;

export type FamilyResult = {
  family: string;
  split: Split;
  accounts: number;
  detectedWithinS: number | null;
  attackServedAfterDetect: number | null;
  honestTouched: number;
  stoppedWithinS: number | null;
  campaign: {
    exchanges: number;
    served: number;
    degraded: number;
    refused: number;
    errors: number;
    firstDenialS: number | null;
    servedOverall: number;
    /** The gateway's most frequent reasons on the campaign's refused or degraded exchanges. */
    reasons: Record<string, number>;
  };
  coverageAtEnd: number;
  /** Confirmed keys and components the admin API listed at the end, the campaign's or not. */
  confirmedAtEnd: number;
  /** Kinds of the confirmed keys that covered the campaign by the end (asn, tls, system, tpl, …). */
  confirmedKinds: string[];
  honest: { requests: number; refused: number; degraded: number; errors: number; reasons: Record<string, number> };
  resellerOrdinary: { requests: number; touched: number } | null;
  /**
   * onSchedule: no request left more than LAG_TOLERANCE_S campaign seconds late. A replay that fell
   * behind (a loaded machine) squeezed the campaign's timing and overstates or hides detection delays.
   */
  run: {
    wallSeconds: number;
    maxLagSeconds: number;
    onSchedule: boolean;
    timeCompression: number;
    /** The scenario's own seed (drawn from the run's seed and the family's name). */
    seed: number;
    /** The run's `--seed`; absent on lines written before runs took several seeds. */
    evalSeed?: number;
  };
  meets: { detected: boolean; served: boolean; honest: boolean };
};

export type JudgeInput = {
  gen: Generated;
  results: ReplayResults;
  polls: readonly VerdictPoll[];
  split: Split;
  family: string;
  campaign: readonly string[];
  honest: readonly string[];
  /** Keys each campaign account presented (account index → keys). */
  accountKeys: ReadonlyMap<number, readonly string[]>;
  /** The gateway's non-allow decisions by request id. */
  decisions: ReadonlyMap<string, DecisionInfo>;
  degradeMaxTokens: number;
  /** The run's `--seed`, kept on the line so that runs over several seeds can be told apart. */
  evalSeed?: number;
};

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

function round(x: number | null, digits = 4): number | null {
  return x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;
}

export function judge(input: JudgeInput): FamilyResult {
  return judgeWithLeaks(input).result;
}

/**
 * The family's result, and the campaign requests served undegraded after detection: schedule index, and
 * whether it was its account's first campaign request after detection.
 */
export function judgeWithLeaks(input: JudgeInput): { result: FamilyResult; leaked: { i: number; first: boolean }[] } {
  const { gen, results, decisions } = input;
  const { scenario, schedule } = gen;
  const factor = scenario.timeCompression;
  const campaignS = (wallMs: number) => (wallMs * factor) / 1000;
  const index = (names: readonly string[]) => new Set(names.map((n) => scenario.populations.findIndex((p) => p.name === n)));
  const campaignPops = index(input.campaign);
  const honestPops = index(input.honest);
  // A degrade decision changes what a campaign gets only where its request asked for more than the clamp.
  const clampBites = new Map<number, boolean>();
  for (const p of campaignPops) {
    const pop = scenario.populations[p];
    if (pop && pop.kind !== "legit" && pop.kind !== "service") clampBites.set(p, pop.maxTokens > input.degradeMaxTokens || pop.thinking);
  }

  const camp = { exchanges: 0, served: 0, degraded: 0, refused: 0, errors: 0 };
  const honest = { requests: 0, refused: 0, degraded: 0, errors: 0 };
  const campReasons = new Map<string, number>();
  const honestReasons = new Map<string, number>();
  const countReasons = (into: Map<string, number>, d: DecisionInfo | undefined) => {
    for (const r of d?.reasons ?? []) into.set(r, (into.get(r) ?? 0) + 1);
  };
  const ordinary = { requests: 0, touched: 0 };
  let firstAttackMs = Number.POSITIVE_INFINITY;
  let firstDenialMs = Number.POSITIVE_INFINITY;
  const attack: { at: number; served: boolean; i: number; account: number }[] = [];
  // The campaign's accounts that sent campaign traffic: coverage is counted over these.
  const campaignAccounts = new Set<number>();

  for (let i = 0; i < results.count; i++) {
    const a = schedule.account[i] ?? 0;
    const p = gen.accounts[a]?.population ?? -1;
    const status = results.status[i] ?? 0;
    const id = results.requestIds[i];
    const decision = id ? decisions.get(id) : undefined;
    const degradeDecided = status === 200 && decision !== undefined && decision.enforced && decision.action === "degrade";
    const refused = status === 429 || status === 403;
    const error = !refused && status !== 200;
    const at = results.sentAt[i] ?? 0;
    if (campaignPops.has(p) && schedule.attack[i] === 1) {
      campaignAccounts.add(a);
      camp.exchanges++;
      const degraded = degradeDecided && (clampBites.get(p) ?? true);
      const served = status === 200 && !degraded;
      if (served) camp.served++;
      if (degraded) camp.degraded++;
      if (refused) camp.refused++;
      if (error) camp.errors++;
      if (refused || degraded) countReasons(campReasons, decision);
      firstAttackMs = Math.min(firstAttackMs, at);
      if (refused) firstDenialMs = Math.min(firstDenialMs, at);
      attack.push({ at, served, i, account: a });
    } else if (campaignPops.has(p)) {
      ordinary.requests++;
      if (refused || degradeDecided) ordinary.touched++;
    } else if (honestPops.has(p)) {
      honest.requests++;
      if (refused) honest.refused++;
      if (degradeDecided) honest.degraded++;
      if (error) honest.errors++;
      if (refused || degradeDecided) countReasons(honestReasons, decision);
    }
  }

  const firstS = Number.isFinite(firstAttackMs) ? campaignS(firstAttackMs) : null;
  const { detectMs, coverageAtEnd, kinds, confirmedAtEnd } = detection(input.polls, campaignAccounts, input.accountKeys);
  const detectedWithinS = detectMs === null || firstS === null ? null : Math.max(0, campaignS(detectMs) - firstS);
  attack.sort((x, y) => x.at - y.at);
  let servedAfter: number | null = null;
  const leaked: { i: number; first: boolean }[] = [];
  if (detectMs !== null) {
    const after = attack.filter((r) => r.at >= detectMs);
    const seen = new Set<number>();
    for (const r of after) {
      const first = !seen.has(r.account);
      seen.add(r.account);
      if (r.served) leaked.push({ i: r.i, first });
    }
    servedAfter = share(leaked.length, after.length);
  }
  const stopMs = stoppedAt(attack);
  const stoppedWithinS = stopMs === null || firstS === null ? null : Math.max(0, campaignS(stopMs) - firstS);

  // The family's size (what the 20-account floor reads), not only the accounts that got to send.
  const accounts = gen.accounts.filter((a) => campaignPops.has(a.population)).length;
  const honestTouched = share(honest.refused + honest.degraded, honest.requests);
  const inTime = (s: number | null) => s !== null && s <= TARGETS.detectWithinS;
  const detected = accounts < TARGETS.minAccounts || inTime(detectedWithinS) || inTime(stoppedWithinS);
  // Served after the verdict, or, for a campaign stopped without one (refused by policy), after the stop.
  const servedShare = servedAfter ?? (stopMs === null ? null : share(attack.filter((r) => r.at >= stopMs && r.served).length, attack.filter((r) => r.at >= stopMs).length));
  const result: FamilyResult = {
    family: input.family,
    split: input.split,
    accounts,
    detectedWithinS: round(detectedWithinS, 1),
    attackServedAfterDetect: round(servedAfter),
    honestTouched: round(honestTouched, 5) ?? 0,
    stoppedWithinS: round(stoppedWithinS, 1),
    campaign: {
      ...camp,
      firstDenialS: firstS === null || !Number.isFinite(firstDenialMs) ? null : round(campaignS(firstDenialMs) - firstS, 1),
      servedOverall: round(share(camp.served, camp.exchanges)) ?? 0,
      reasons: top(campReasons),
    },
    coverageAtEnd: round(coverageAtEnd, 3) ?? 0,
    confirmedAtEnd,
    confirmedKinds: kinds,
    honest: { ...honest, reasons: top(honestReasons) },
    resellerOrdinary: ordinary.requests > 0 ? ordinary : null,
    run: {
      wallSeconds: round(results.wallMs / 1000, 1) ?? 0,
      maxLagSeconds: round(results.maxLagMs / 1000, 2) ?? 0,
      onSchedule: campaignS(results.maxLagMs) <= LAG_TOLERANCE_S,
      timeCompression: factor,
      seed: scenario.seed,
      ...(input.evalSeed === undefined ? {} : { evalSeed: input.evalSeed }),
    },
    meets: {
      detected,
      served: accounts < TARGETS.minAccounts || (servedShare !== null && servedShare <= TARGETS.maxServedAfterDetect),
      honest: honestTouched <= TARGETS.maxHonestTouched,
    },
  };
  return { result, leaked };
}

const TOP_REASONS = 6;

function top(counts: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort((x, y) => y[1] - x[1]).slice(0, TOP_REASONS));
}

/** The first poll at which confirmed keys cover enough of the campaign's accounts; coverage at the last poll. */
function detection(polls: readonly VerdictPoll[], accounts: ReadonlySet<number>, keys: ReadonlyMap<number, readonly string[]>) {
  let detectMs: number | null = null;
  let coverageAtEnd = 0;
  let kinds: string[] = [];
  let confirmedAtEnd = 0;
  for (const poll of [...polls].sort((x, y) => x.atWallMs - y.atWallMs)) {
    const confirmed = new Set(poll.confirmed);
    confirmedAtEnd = confirmed.size;
    let covered = 0;
    const used = new Set<string>();
    for (const a of accounts) {
      let hit = false;
      for (const k of keys.get(a) ?? []) {
        if (confirmed.has(k)) {
          hit = true;
          used.add(k.slice(0, k.indexOf(":")));
        }
      }
      if (hit) covered++;
    }
    coverageAtEnd = share(covered, accounts.size);
    kinds = [...used].sort();
    if (detectMs === null && accounts.size > 0 && coverageAtEnd >= COVERAGE) detectMs = poll.atWallMs;
  }
  return { detectMs, coverageAtEnd, kinds, confirmedAtEnd };
}

/** Earliest send time from which at most 2 % of the remaining exchanges were served (null: never). */
function stoppedAt(attack: readonly { at: number; served: boolean }[]): number | null {
  const minTail = Math.max(20, Math.ceil(attack.length / 10));
  let served = 0;
  let best: number | null = null;
  for (let k = attack.length - 1; k >= 0; k--) {
    const r = attack[k];
    if (!r) continue;
    if (r.served) served++;
    const tail = attack.length - k;
    if (tail >= minTail && served <= TARGETS.maxServedAfterDetect * tail) best = r.at;
  }
  return best;
}

export type SplitSummary = {
  families: number;
  campaigns20: number;
  detectedInTime: number;
  servedAfterDetectMax: number | null;
  honestRequests: number;
  honestTouched: number;
  /** Families whose replay kept to its schedule (run.onSchedule); the others' times are not to be trusted. */
  onSchedule: number;
  pass: { detected: boolean; served: boolean; honest: boolean; all: boolean };
};

export function summarise(results: readonly FamilyResult[]): Record<Split, SplitSummary> {
  const one = (split: Split): SplitSummary => {
    const list = results.filter((r) => r.split === split);
    const big = list.filter((r) => r.accounts >= TARGETS.minAccounts);
    const honestRequests = list.reduce((s, r) => s + r.honest.requests, 0);
    const touched = list.reduce((s, r) => s + r.honest.refused + r.honest.degraded, 0);
    const served = list.map((r) => r.attackServedAfterDetect).filter((x): x is number => x !== null);
    const pass = {
      detected: big.every((r) => r.meets.detected),
      served: big.every((r) => r.meets.served),
      honest: share(touched, honestRequests) <= TARGETS.maxHonestTouched,
    };
    return {
      families: list.length,
      campaigns20: big.length,
      detectedInTime: big.filter((r) => r.meets.detected).length,
      servedAfterDetectMax: served.length > 0 ? Math.max(...served) : null,
      honestRequests,
      honestTouched: round(share(touched, honestRequests), 5) ?? 0,
      onSchedule: list.filter((r) => r.run.onSchedule).length,
      pass: { ...pass, all: list.length > 0 && pass.detected && pass.served && pass.honest },
    };
  };
  return { tune: one("tune"), heldout: one("heldout") };
}

/** One figure of a family over several runs: the worst run, the median run, and each run's value in seed order. */
export type SeedSpread = { worst: number | null; median: number | null; values: (number | null)[] };

/** One family over the runs of several seeds: what a single good draw would hide. */
export type FamilyAcrossSeeds = {
  family: string;
  split: Split;
  /** The runs' seeds, in the order of `values` (a seed run twice counts twice). */
  seeds: number[];
  accounts: { min: number; max: number };
  /** Never detected counts as the worst (null); the median is null when half the runs never detected it. */
  detectedWithinS: SeedSpread;
  /** Over the runs that detected the campaign (the others have no "after"). */
  attackServedAfterDetect: SeedSpread;
  honestTouched: SeedSpread;
  /** Whether every run met each target. */
  meetsEverySeed: { detected: boolean; served: boolean; honest: boolean };
  /** Seeds whose run of this family fell behind its schedule. */
  offScheduleSeeds: number[];
};

export type SplitAcrossSeeds = {
  seeds: number[];
  families: number;
  /** Per seed the split passes or not (summarise); `everySeed` only when all of them do. */
  pass: { everySeed: boolean; seeds: number };
  servedAfterDetectMax: SeedSpread;
  honestTouched: SeedSpread;
  detectedInTime: SeedSpread;
};

function evalSeedOf(line: FamilyResult): number {
  return line.run.evalSeed ?? line.run.seed;
}

function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  const m = sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return Number.isFinite(m) ? m : null;
}

/**
 * `values` as worst, median and themselves. `missing` says what a null is: "worst" (never detected
 * sorts after every time) or "skip" (no value to judge); higher is worse either way, or lower when
 * `lowerIsWorse`.
 */
function spread(values: readonly (number | null)[], missing: "worst" | "skip", lowerIsWorse = false): SeedSpread {
  const sign = lowerIsWorse ? -1 : 1;
  const judged = values.flatMap((v) => (v === null ? (missing === "worst" ? [Number.POSITIVE_INFINITY] : []) : [sign * v])).sort((a, b) => a - b);
  const worst = judged.at(-1);
  const mid = median(judged);
  const back = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : round(sign * x, 5));
  return { worst: back(worst), median: back(mid), values: [...values] };
}

/**
 * Family lines of runs over several seeds (`--seeds`, or `--merge` of runs made one seed at a time)
 * judged together: per family the worst and the median run, and per split whether every seed's run
 * passes. One run of a family moves its served share by ~10 points, so a fix is read off the worst
 * and the median, never off one draw.
 */
export function acrossSeeds(lines: readonly FamilyResult[]): { families: FamilyAcrossSeeds[]; tune: SplitAcrossSeeds; heldout: SplitAcrossSeeds } {
  const byFamily = new Map<string, FamilyResult[]>();
  for (const line of lines) {
    const runs = byFamily.get(line.family) ?? [];
    runs.push(line);
    byFamily.set(line.family, runs);
  }
  const families: FamilyAcrossSeeds[] = [];
  for (const [family, unsorted] of byFamily) {
    const runs = [...unsorted].sort((a, b) => evalSeedOf(a) - evalSeedOf(b));
    families.push({
      family,
      split: runs[0]?.split ?? "tune",
      seeds: runs.map(evalSeedOf),
      accounts: { min: Math.min(...runs.map((r) => r.accounts)), max: Math.max(...runs.map((r) => r.accounts)) },
      detectedWithinS: spread(runs.map((r) => r.detectedWithinS), "worst"),
      attackServedAfterDetect: spread(runs.map((r) => r.attackServedAfterDetect), "skip"),
      honestTouched: spread(runs.map((r) => r.honestTouched), "skip"),
      meetsEverySeed: {
        detected: runs.every((r) => r.meets.detected),
        served: runs.every((r) => r.meets.served),
        honest: runs.every((r) => r.meets.honest),
      },
      offScheduleSeeds: runs.filter((r) => !r.run.onSchedule).map(evalSeedOf),
    });
  }
  const seeds = [...new Set(lines.map(evalSeedOf))].sort((a, b) => a - b);
  const perSeed = seeds.map((seed) => summarise(lines.filter((l) => evalSeedOf(l) === seed)));
  const one = (split: Split): SplitAcrossSeeds => {
    const runs = perSeed.map((s) => s[split]).filter((s) => s.families > 0);
    const present = seeds.filter((_, n) => (perSeed[n]?.[split].families ?? 0) > 0);
    return {
      seeds: present,
      families: families.filter((f) => f.split === split).length,
      pass: { everySeed: runs.length > 0 && runs.every((s) => s.pass.all), seeds: runs.filter((s) => s.pass.all).length },
      servedAfterDetectMax: spread(runs.map((s) => s.servedAfterDetectMax), "skip"),
      honestTouched: spread(runs.map((s) => s.honestTouched), "skip"),
      detectedInTime: spread(runs.map((s) => s.detectedInTime), "skip", true),
    };
  };
  return { families, tune: one("tune"), heldout: one("heldout") };
}

/** One campaign request served undegraded after detection, as the gateway saw it. */
export type LeakSample = {
  at: number;
  account: number;
  keys: readonly string[];
  elicitation: number;
  decision: DecisionInfo | undefined;
  /** Whether the account had sent any request before this one. */
  sentBefore: boolean;
};

/**
 * Why a campaign request was served undegraded after detection (tuning diagnostic only):
 * - `landed.<action>`: a confirmed verdict applied and its action let the request through (a degrade
 *   whose clamp does not bite the request counts here);
 * - `unconfirmed.later`: none of the request's keys was confirmed when it was sent, one was by the end
 *   (coverage still growing); `unconfirmed.never`: none of them ever was;
 * - `edge.allowance`: it carried a confirmed key and was admitted within the isolate's allowance;
 * - `landing.no_signature`: it carried a confirmed key, but looks like none of those keys' signatures
 *   (verdictApplies, at the end-of-run signatures) — the landing rule kept the verdict off it;
 * - `edge.not_heard`: it carried a confirmed key whose signature it matches, yet no verdict applied:
 *   the account object had not heard of the verdict (collector → feed → isolate latency).
 * "Confirmed when sent" is as of the latest verdict poll before the request.
 */
export type LeakCauses = {
  served: number;
  accounts: number;
  /** Leaked requests that were their account's first campaign request after detection. */
  firstAfterDetect: number;
  causes: Record<string, number>;
  /** Per cause: the kinds of the confirmed keys involved (carried, or confirmed later), by requests. */
  kinds: Record<string, Record<string, number>>;
  /** edge.not_heard: campaign seconds from the carried key's first confirmed poll to the request (median, max). */
  notHeardLagS: { median: number; max: number } | null;
  /** Per cause: leaked requests whose account had sent nothing before (a brand-new account). */
  newAccounts: Record<string, number>;
  /** edge.not_heard: requests whose matching key had already landed on another request before them (the edge knew). */
  notHeardKnownElsewhere: number;
  /** landing.no_signature: kinds of the request's keys confirmed only after it was sent. */
  noSignatureLaterKinds: Record<string, number>;
  /** Keys carried by leaked requests that left the confirmed list at a poll after being on it (a verdict that flapped). */
  flappedKeys: number;
  /**
   * unconfirmed.*: requests whose account had presented, on its other requests, a key confirmed when
   * this one was sent (a proven member sending a variant the verdict does not reach), by the kinds of
   * those keys; `eliciting` of them scored at least the landing bar.
   */
  unconfirmedMembers: { requests: number; eliciting: number; kinds: Record<string, number> };
  /**
   * The campaign's keys (those its accounts presented) in the order they were first confirmed, in campaign
   * seconds after the first of them (`afterS`, 0 for the first), and when a verdict on each first landed
   * on a request, in campaign seconds after its own confirmation (`landedS`; null: never). How long a
   * campaign's second and third keys took is what its other wordings were served in full meanwhile.
   * Up to KEY_TIMELINE keys; absent without the accounts' keys.
   */
  keyTimeline?: { kind: string; afterS: number; landedS: number | null }[];
};

// Keys in the timeline: a campaign confirms dozens (every client, network and prompt key), and the first few say when it was enforced.
const KEY_TIMELINE = 10;

/** The campaign keys' confirmation order (LeakCauses.keyTimeline). */
export function keyTimeline(
  polls: readonly VerdictPoll[],
  campaignKeys: ReadonlySet<string>,
  firstLanded: ReadonlyMap<string, number>,
  timeCompression: number,
): { kind: string; afterS: number; landedS: number | null }[] {
  const first = new Map<string, number>();
  for (const p of [...polls].sort((x, y) => x.atWallMs - y.atWallMs)) {
    for (const k of p.confirmed) if (campaignKeys.has(k) && !first.has(k)) first.set(k, p.atWallMs);
  }
  const order = [...first].sort((x, y) => x[1] - y[1]);
  const start = order[0]?.[1] ?? 0;
  const seconds = (ms: number) => Math.round((ms * timeCompression) / 100) / 10;
  return order.slice(0, KEY_TIMELINE).map(([key, at]) => {
    const landed = firstLanded.get(key);
    return { kind: keyKind(key), afterS: seconds(at - start), landedS: landed === undefined ? null : seconds(Math.max(0, landed - at)) };
  });
}

export function leakCauses(input: {
  samples: readonly LeakSample[];
  polls: readonly VerdictPoll[];
  signatures: ReadonlyMap<string, Signature>;
  /** The elicitation score from which a verdict lands for eliciting (as the account object judges it). */
  landsAt: number;
  /** Campaign seconds per wall second. */
  timeCompression: number;
  /** Indices into `samples` that were their account's first campaign request after detection. */
  firstAfterDetect: ReadonlySet<number>;
  /** Per key: when a verdict on it first applied to any request (wall ms), from the decision log. */
  firstLanded: ReadonlyMap<string, number>;
  /** Keys each campaign account presented over a few of its requests (account index → keys). */
  accountKeys?: ReadonlyMap<number, readonly string[]>;
}): LeakCauses {
  const polls = [...input.polls].sort((x, y) => x.atWallMs - y.atWallMs);
  const sets = polls.map((p) => new Set(p.confirmed));
  const firstConfirmed = new Map<string, number>();
  polls.forEach((p, n) => {
    for (const k of sets[n] ?? []) if (!firstConfirmed.has(k)) firstConfirmed.set(k, p.atWallMs);
  });
  const atEnd = sets.at(-1) ?? new Set<string>();
  const confirmedAt = (at: number): ReadonlySet<string> => {
    let lo = 0;
    let hi = polls.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((polls[mid]?.atWallMs ?? Number.POSITIVE_INFINITY) <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? new Set() : (sets[lo - 1] ?? new Set());
  };
  const causes = new Map<string, number>();
  const kinds = new Map<string, Map<string, number>>();
  const lags: number[] = [];
  const fresh = new Map<string, number>();
  const laterKinds = new Map<string, number>();
  let knownElsewhere = 0;
  const members = { requests: 0, eliciting: 0, kinds: new Map<string, number>() };
  let current: LeakSample | undefined;
  const count = (cause: string, keys: readonly string[]) => {
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
    if (current && !current.sentBefore) fresh.set(cause, (fresh.get(cause) ?? 0) + 1);
    let byKind = kinds.get(cause);
    if (!byKind) kinds.set(cause, (byKind = new Map()));
    for (const kind of new Set(keys.map(keyKind))) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  };
  let first = 0;
  input.samples.forEach((sample, n) => {
    if (input.firstAfterDetect.has(n)) first++;
    current = sample;
    const d = sample.decision;
    if (d?.reasons.includes("cluster.confirmed")) {
      count(`landed.${d.action}`, d.clusters ?? []);
      return;
    }
    const now = confirmedAt(sample.at);
    const carried = sample.keys.filter((k) => now.has(k));
    if (carried.length === 0) {
      const later = sample.keys.filter((k) => atEnd.has(k));
      count(later.length > 0 ? "unconfirmed.later" : "unconfirmed.never", later);
      const memberOf = (input.accountKeys?.get(sample.account) ?? []).filter((k) => now.has(k));
      if (memberOf.length > 0) {
        members.requests++;
        if (sample.elicitation >= input.landsAt) members.eliciting++;
        for (const kind of new Set(memberOf.map(keyKind))) members.kinds.set(kind, (members.kinds.get(kind) ?? 0) + 1);
      }
      return;
    }
    if (d?.local === true) {
      count("edge.allowance", carried);
      return;
    }
    const request = { keys: sample.keys, elicitation: sample.elicitation };
    const matching = carried.filter((k) => {
      const signature = input.signatures.get(k);
      return signature !== undefined && verdictApplies({ cluster: k, signature }, request, input.landsAt);
    });
    if (matching.length === 0) {
      count("landing.no_signature", carried);
      for (const kind of new Set(sample.keys.filter((k) => atEnd.has(k) && !now.has(k)).map(keyKind))) laterKinds.set(kind, (laterKinds.get(kind) ?? 0) + 1);
      return;
    }
    count("edge.not_heard", matching);
    if (matching.some((k) => (input.firstLanded.get(k) ?? Number.POSITIVE_INFINITY) < sample.at)) knownElsewhere++;
    const since = Math.min(...matching.map((k) => firstConfirmed.get(k) ?? sample.at));
    lags.push(((sample.at - since) * input.timeCompression) / 1000);
  });
  lags.sort((x, y) => x - y);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    served: input.samples.length,
    accounts: new Set(input.samples.map((s) => s.account)).size,
    firstAfterDetect: first,
    causes: Object.fromEntries([...causes].sort((x, y) => y[1] - x[1])),
    kinds: Object.fromEntries([...kinds].map(([cause, byKind]) => [cause, Object.fromEntries([...byKind].sort((x, y) => y[1] - x[1]))])),
    notHeardLagS: lags.length === 0 ? null : { median: round1(lags[Math.floor(lags.length / 2)] ?? 0), max: round1(lags.at(-1) ?? 0) },
    newAccounts: Object.fromEntries(fresh),
    notHeardKnownElsewhere: knownElsewhere,
    noSignatureLaterKinds: Object.fromEntries(laterKinds),
    flappedKeys: flapped(sets, new Set(input.samples.flatMap((s) => s.keys))),
    unconfirmedMembers: { requests: members.requests, eliciting: members.eliciting, kinds: Object.fromEntries(members.kinds) },
    ...(input.accountKeys
      ? { keyTimeline: keyTimeline(polls, new Set([...input.accountKeys.values()].flat()), input.firstLanded, input.timeCompression) }
      : {}),
  };
}

/** How many of `keys` were on a poll's confirmed list, then off it at a later poll. */
function flapped(sets: readonly ReadonlySet<string>[], keys: ReadonlySet<string>): number {
  let n = 0;
  for (const key of keys) {
    let seen = false;
    for (const set of sets) {
      if (set.has(key)) seen = true;
      else if (seen) {
        n++;
        break;
      }
    }
  }
  return n;
}
