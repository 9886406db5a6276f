/** What was sent and what came back, by label, by population and over campaign time. */
import { isAttack, type Scenario } from "../scenario.ts";
import type { SentRequest } from "./request.ts";

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

export type Totals = { requests: number; attack: Outcome; legit: Outcome; statuses: Record<string, number> };

export type Timeline = {
  binSeconds: number;
  bins: Bin[];
  attackOkByPopulation: Record<string, number[]>;
  /** Attack requests sent per bin, per campaign population: the denominator of its leakage share. */
  attackSentByPopulation: Record<string, number[]>;
};

// 30 bins: fine enough to see detection, coarse enough that a campaign's round clock does not alias into spikes.
const BINS = 30;

/** Bin width for a run whose last request went out at campaign second lastS. */
export function binSecondsFor(lastS: number): number {
  return Math.max(1, Math.ceil(lastS / BINS));
}

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

/** Honest (legit and service populations, not a reseller's customers) requests, and those refused or degraded. */
export function honestTouched(groups: readonly GroupStats[]): { sent: number; touched: number } {
  const honest = groups.filter((g) => g.label === "legit" && (g.kind === "legit" || g.kind === "service"));
  return { sent: honest.reduce((sum, g) => sum + g.sent, 0), touched: honest.reduce((sum, g) => sum + g.throttled + g.blocked + g.degraded, 0) };
}

type Group = GroupStats & { acc: Set<number>; accDenied: Set<number>; accBlocked: Set<number> };

/** Totals, population × label groups and the timeline, one request at a time. */
export class TrafficTally {
  private readonly totals: Totals;
  // population × label
  private readonly groups = new Map<string, Group>();
  private readonly bins: Bin[];
  private readonly attackOkByPopulation: Record<string, number[]> = {};
  private readonly attackSentByPopulation: Record<string, number[]> = {};
  private baselineTokens = 0;

  constructor(
    scenario: Scenario,
    requests: number,
    private readonly binSeconds: number,
    lastS: number,
  ) {
    this.totals = { requests, attack: emptyOutcome(), legit: emptyOutcome(), statuses: {} };
    this.bins = Array.from({ length: Math.ceil(lastS / binSeconds) + 1 }, (_, b) => ({
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
    for (const p of scenario.populations) {
      if (!isAttack(p)) continue;
      this.attackOkByPopulation[p.name] = this.bins.map(() => 0);
      this.attackSentByPopulation[p.name] = this.bins.map(() => 0);
    }
  }

  /** `t`: the request's campaign second. */
  add(r: SentRequest, t: number): void {
    const { status, degraded, tokens, attack, pop } = r;
    const label = attack ? "attack" : "legit";
    count(attack ? this.totals.attack : this.totals.legit, status, degraded, tokens);
    this.totals.statuses[String(status)] = (this.totals.statuses[String(status)] ?? 0) + 1;

    const gk = `${r.population}:${label}`;
    let g = this.groups.get(gk);
    if (!g) {
      g = { ...emptyOutcome(), population: pop.name, kind: pop.kind, label, accounts: 0, accountsDenied: 0, accountsBlocked: 0, acc: new Set(), accDenied: new Set(), accBlocked: new Set() };
      this.groups.set(gk, g);
    }
    count(g, status, degraded, tokens);
    g.acc.add(r.account);
    if (status === 429 || status === 403) g.accDenied.add(r.account);
    if (status === 403) g.accBlocked.add(r.account);
    if (attack) this.baselineTokens += r.expected;

    const b = Math.min(this.bins.length - 1, Math.floor(t / this.binSeconds));
    const bin = this.bins[b];
    if (!bin) return;
    if (attack) {
      bin.attackSent++;
      const sentSeries = this.attackSentByPopulation[pop.name];
      if (sentSeries) sentSeries[b] = (sentSeries[b] ?? 0) + 1;
      if (status === 200) {
        bin.attackOk++;
        bin.attackTokens += tokens;
        if (degraded) bin.attackDegraded++;
        const series = this.attackOkByPopulation[pop.name];
        if (series) series[b] = (series[b] ?? 0) + 1;
      }
    } else {
      bin.legitSent++;
      if (status === 429 || status === 403) bin.legitDenied++;
      if (status === 403) bin.legitBlocked++;
      if (degraded) bin.legitDegraded++;
    }
  }

  /** `baselineTokens`: the output tokens every attack request would have had without the gateway. */
  finish(): { totals: Totals; groups: GroupStats[]; timeline: Timeline; baselineTokens: number } {
    const groups: GroupStats[] = [...this.groups.values()].map(({ acc, accDenied, accBlocked, ...g }) => ({
      ...g,
      accounts: acc.size,
      accountsDenied: accDenied.size,
      accountsBlocked: accBlocked.size,
    }));
    return {
      totals: this.totals,
      groups,
      timeline: { binSeconds: this.binSeconds, bins: this.bins, attackOkByPopulation: this.attackOkByPopulation, attackSentByPopulation: this.attackSentByPopulation },
      baselineTokens: this.baselineTokens,
    };
  }
}
