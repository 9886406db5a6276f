/**
 * The schedule: who sends when, and whether it is attack or legitimate
 * traffic. This is the ground truth of a run, decided here and never by the
 * gateway. People work in sessions with reading time between requests, CI
 * in bursts, services and campaigns as fleets (synchronised rounds, jittered
 * rounds, a Poisson stream, business hours).
 *
 * Each population draws from its own stream; every entry gets a seed its
 * request is rebuilt from when it is sent (sim/requests.ts).
 */
import type { Rng } from "./rng.ts";
import type { SimAccount } from "./accounts.ts";
import type { LegitPopulation, Scenario, TimingSpec } from "./scenario.ts";

/** The schedule, one entry per request, sorted by time. Typed arrays: 100k+ entries stay small. */
export type Schedule = {
  count: number;
  /** Campaign milliseconds since the start. */
  at: Float64Array;
  account: Uint32Array;
  /** Ground truth: 1 = attack traffic, 0 = legitimate. */
  attack: Uint8Array;
  /** Per-request seed: the request's text and details are rebuilt from it when it is sent. */
  seed: Uint32Array;
};

type Entry = { at: number; account: number; attack: boolean; seed: number };

type Push = (at: number, account: number) => void;

export function makeSchedule(scenario: Scenario, accounts: SimAccount[], rng: Rng): Schedule {
  const durationMs = scenario.durationSeconds * 1000;
  const entries: Entry[] = [];
  scenario.populations.forEach((pop, p) => {
    const members = accounts.filter((a) => a.population === p).map((a) => a.index);
    const r = rng.fork(pop.name);
    const from = pop.active.from * durationMs;
    const to = pop.active.to * durationMs;
    const push = (at: number, account: number, attack: boolean) => {
      if (at >= from && at < to) entries.push({ at, account, attack, seed: (r.next() * 4294967296) >>> 0 });
    };
    if (pop.kind === "legit") {
      legitTiming(pop, members, accounts, r, from, to, (at, account) => push(at, account, false));
      return;
    }
    if (pop.kind === "service") {
      fleetTiming(pop.timing, members, pop.requests, r, from, to, (at, account) => push(at, account, false));
      return;
    }
    const attackRequests = pop.kind === "reseller" ? Math.round(pop.requests * pop.attackShare) : pop.requests;
    fleetTiming(pop.timing, members, attackRequests, r, from, to, (at, account) => push(at, account, true));
    if (pop.kind === "reseller") {
      // Ordinary customers of the reseller: human timing, each request on whichever pooled account the proxy picks.
      for (let k = 0; k < pop.requests - attackRequests; k++) {
        push(from + r.next() * (to - from), r.pick(members), false);
      }
    }
  });
  entries.sort((a, b) => a.at - b.at);
  const n = entries.length;
  const schedule: Schedule = {
    count: n,
    at: new Float64Array(n),
    account: new Uint32Array(n),
    attack: new Uint8Array(n),
    seed: new Uint32Array(n),
  };
  entries.forEach((e, i) => {
    schedule.at[i] = e.at;
    schedule.account[i] = e.account;
    schedule.attack[i] = e.attack ? 1 : 0;
    schedule.seed[i] = e.seed;
  });
  return schedule;
}

/** Splits `total` over `weights` exactly (largest remainder). */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  const raw = weights.map((w) => (w / sum) * total);
  const out = raw.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = raw.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    left--;
  }
  return out;
}

// A human needs a few seconds to read an answer and type: this keeps honest accounts far under request limits.
const MIN_HUMAN_GAP_MS = 4_000;

function legitTiming(pop: LegitPopulation, members: number[], accounts: SimAccount[], rng: Rng, from: number, to: number, push: Push): void {
  // Heavy tail: a few busy accounts, many that send a handful; everyone sends at least one when there is enough to go round.
  const floor = pop.requests >= members.length ? 1 : 0;
  const counts = apportion(pop.requests - floor * members.length, members.map(() => rng.exponential(1) ** 2 + 0.05)).map((c) => c + floor);
  members.forEach((index, k) => {
    let left = counts[k] ?? 0;
    const ci = accounts[index]?.style === "ci";
    while (left > 0) {
      let t = from + rng.next() * (to - from);
      // CI: a pipeline run fires a burst of quick calls; people work in sessions with reading time between.
      const size = Math.min(left, ci ? rng.int(3, 10) : 1 + Math.floor(rng.exponential(3)));
      for (let j = 0; j < size; j++) {
        push(t, index);
        t += ci ? rng.int(1_500, 4_000) : MIN_HUMAN_GAP_MS + rng.exponential(40_000);
      }
      left -= size;
    }
  });
}

/** Requests of a fleet (a campaign or an honest service) over its members, in the timing's mode. */
function fleetTiming(timing: TimingSpec, members: number[], requests: number, rng: Rng, from: number, to: number, push: Push): void {
  if (requests <= 0 || members.length === 0) return;
  if (timing.mode === "rounds" || timing.mode === "jittered") {
    roundTiming(timing, members, requests, rng, from, to, push);
    return;
  }
  const order = shuffled(members, rng);
  if (timing.mode === "poisson") {
    // A constant-rate Poisson process with a given count: arrival times are uniform; the fleet is load-balanced.
    for (let k = 0; k < requests; k++) push(from + rng.next() * (to - from), order[k % order.length] ?? 0);
    return;
  }
  businessHoursTiming(timing, order, requests, rng, from, to, push);
}

/**
 * Business hours: nothing before nine or after five, a third of the pace over lunch, and each
 * account starting its day within the first twenty minutes after nine (or the first third of the window).
 */
function businessHoursTiming(timing: TimingSpec, order: number[], requests: number, rng: Rng, from: number, to: number, push: Push): void {
  const hourAt = (ms: number) => (timing.startHour + ms / 3_600_000) % 24;
  const pace = (ms: number) => {
    const h = hourAt(ms);
    if (h < 9 || h >= 17) return 0;
    return h >= 12 && h < 13 ? 1 / 3 : 1;
  };
  const working = timing.startHour >= 9 && timing.startHour < 17;
  const nine = Math.max(from, working ? 0 : ((9 - timing.startHour + 24) % 24) * 3_600_000);
  const stagger = Math.min(20 * 60_000, (to - from) / 3);
  const login = new Map(order.map((a) => [a, nine + rng.next() * stagger]));
  // Rejection sampling against the pace; a request with no working time left in the window is dropped.
  for (let k = 0; k < requests; k++) {
    const account = order[k % order.length] ?? 0;
    const start = login.get(account) ?? nine;
    if (start >= to) continue;
    for (let tries = 0; tries < 50; tries++) {
      const at = start + rng.next() * (to - start);
      if (rng.next() < pace(at)) {
        push(at, account);
        break;
      }
    }
  }
}

function shuffled(members: readonly number[], rng: Rng): number[] {
  const order = [...members];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  return order;
}

function roundTiming(timing: TimingSpec, members: number[], requests: number, rng: Rng, from: number, to: number, push: Push): void {
  const every = timing.everySeconds * 1000;
  const rounds = Math.max(1, Math.floor((to - from) / every));
  // Load-balanced: the scheduler cycles through a shuffled fleet, so every account does a small, equal share.
  const order = shuffled(members, rng);
  let cursor = 0;
  for (let round = 0; round < rounds; round++) {
    let quota = Math.floor(((round + 1) * requests) / rounds) - Math.floor((round * requests) / rounds);
    const t0 = from + round * every;
    while (quota > 0) {
      const account = order[cursor++ % order.length] ?? 0;
      // Synchronised: every member fires at the same offsets from the round's start, give or take the
      // jitter; a jittered fleet starts each member's burst anywhere in the first `spread` of the period.
      const start = timing.mode === "jittered" ? t0 + rng.next() * timing.spread * every : t0;
      for (let b = 0; b < timing.burst && quota > 0; b++, quota--) {
        push(start + b * timing.burstSpacingSeconds * 1000 + (rng.next() - 0.5) * timing.jitterMs, account);
      }
    }
  }
}
