/**
 * The scenario generator: accounts (who they are, where they connect from,
 * which client they run), the schedule (who sends when, and whether it is
 * attack or legitimate traffic: the ground truth, decided here and never by
 * the gateway), and each request's headers, `request.cf` and body.
 *
 * Pure TypeScript with no Node imports: the CLI runs it on Node, the smoke test
 * runs it inside workerd. Deterministic from the scenario's seed.
 */
import { sha256Hex } from "../lib/hash.ts";
import { Rng, hashString } from "./rng.ts";
import {
  isAttack,
  type AttackPopulation,
  type HydraPopulation,
  type LegitPopulation,
  type Population,
  type PromptSpec,
  type RegionEvasionPopulation,
  type ResellerPopulation,
  type Scenario,
  type ServicePopulation,
  type TimingSpec,
} from "./scenario.ts";
import { wrappedPrompt } from "./content.ts";
import { AGENT_TOOLS, TOOL_SYSTEM_PROMPT, humanPrompt, templatedPrompt, type AttackTemplate } from "./prompts.ts";
import {
  CLOUD_ASNS,
  ISP_ASNS,
  PLACES,
  clientStack,
  ipIn,
  localRttMs,
  networkName,
  placesIn,
  type ClientStack,
  type Place,
  type SdkProfileName,
} from "./world.ts";

export type Network = { place: Place; asn: number; ip: string; rttMs: number };

export type SimAccount = {
  index: number;
  id: string;
  key: string;
  population: number;
  tier: string;
  verified: boolean;
  billingCountry: string | null;
  paymentFingerprint: string;
  stack: ClientStack;
  /** Where the account connects from (resellers and rotating evaders pick per request instead). */
  network: Network;
  style: "human" | "ci" | "campaign" | "service";
  usesTool: boolean;
  /** Whether the account's requests carry its population's own system prompt (`prompt.system`). */
  sendsSystem: boolean;
  /** Region evaders that hop exits on every request. */
  rotates: boolean;
  /**
   * Days since the account was opened at the provider, as the admin API is told (`createdAt`); 0: not
   * told, so the gateway dates it from its import, as it dates every account nobody gave an age.
   */
  ageDays?: number;
};

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

export type Generated = {
  scenario: Scenario;
  /** Makes ids and keys unique per run, so a long-running gateway never sees one account twice. */
  runTag: string;
  accounts: SimAccount[];
  schedule: Schedule;
  /** SHA-256 of the popular tool's system prompt, for the policy's allow list. */
  toolPromptSha256: string;
  /** SHA-256 of every tool prompt the scenario's honest populations have the operator allow-list. */
  allowlistedPromptSha256: string[];
};

export type SimRequest = {
  method: "POST";
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What `request.cf` should say (sent as MF-CF-Blob over HTTP, or as `cf` in-process). */
  cf: Record<string, unknown>;
  /** The client address (CF-Connecting-IP). */
  ip: string;
  maxTokens: number;
  /** Output tokens the demo origin answers with when nothing clamps max_tokens. */
  expectedOutputTokens: number;
  stream: boolean;
};

// Honest customers opened their accounts over years before the gateway went in front of them.
const HONEST_AGE_DAYS = { min: 30, max: 1_500 } as const;

/**
 * An account's age, drawn from its own stream (what else the population draws stays as it was). A
 * campaign's accounts are opened as it starts unless its population says otherwise (aged accounts
 * bought in bulk); honest accounts unless their population says otherwise (a class signing up).
 */
function accountAgeDays(pop: Scenario["populations"][number], i: number): number {
  const range = pop.accountAgeDays ?? (pop.kind === "legit" || pop.kind === "service" ? HONEST_AGE_DAYS : null);
  if (range === null) return 0;
  return range.min + new Rng(`age:${pop.name}:${i}`).next() * (range.max - range.min);
}

export async function generate(scenario: Scenario, runTag: string): Promise<Generated> {
  const root = new Rng(scenario.seed);
  const accounts: SimAccount[] = [];
  scenario.populations.forEach((pop, p) => {
    const made = makeAccounts(pop, p, root.fork(`accounts:${pop.name}`), runTag, accounts.length);
    made.forEach((account, i) => (account.ageDays = accountAgeDays(pop, i)));
    accounts.push(...made);
  });
  const schedule = makeSchedule(scenario, accounts, root.fork("schedule"));
  const allowlisted = new Set<string>();
  for (const pop of scenario.populations) {
    if (pop.kind === "legit" && pop.popularTool.share > 0 && pop.popularTool.allowlisted) allowlisted.add(toolPrompt(pop));
  }
  return {
    scenario,
    runTag,
    accounts,
    schedule,
    toolPromptSha256: await sha256Hex(TOOL_SYSTEM_PROMPT),
    allowlistedPromptSha256: await Promise.all([...allowlisted].map((text) => sha256Hex(text))),
  };
}

function toolPrompt(pop: LegitPopulation): string {
  return pop.popularTool.systemPrompt ?? TOOL_SYSTEM_PROMPT;
}

// ─────────────────────────────────── accounts ───────────────────────────────────

function accountKey(rng: Rng, runTag: string): string {
  return `sk-sim-${runTag}-${rng.hex(32)}`;
}

function makeAccounts(pop: Population, p: number, rng: Rng, runTag: string, offset: number): SimAccount[] {
  switch (pop.kind) {
    case "legit":
      return legitAccounts(pop, p, rng, runTag, offset);
    case "hydra":
      return hydraAccounts(pop, p, rng, runTag, offset);
    case "reseller":
      return resellerAccounts(pop, p, rng, runTag, offset);
    case "regionEvasion":
      return evasionAccounts(pop, p, rng, runTag, offset);
    case "service":
      return serviceAccounts(pop, p, rng, runTag, offset);
  }
}

function ispOf(country: string, rng: Rng): number {
  const list = ISP_ASNS[country];
  if (!list || list.length === 0) throw new Error(`no ISP for country ${country}; add one to sim/world.ts`);
  return rng.pick(list)[0];
}

function legitAccounts(pop: LegitPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const tiers = Object.entries(pop.tiers);
  const sdks = Object.entries(pop.sdkMix) as [SdkProfileName, number][];
  // Each office sits in one country on one ISP, all its people behind one address.
  const offices = Array.from({ length: pop.officeNat.offices }, (_, k) => {
    const r = base.fork(`office:${k}`);
    const country = r.pick(pop.countries);
    const place = r.pick(placesIn(country));
    const asn = ispOf(country, r);
    return { place, asn, ip: ipIn(asn, r), payment: `pm_${runTag}_${pop.name}_office${k}` };
  });
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    const ci = rng.chance(pop.ciShare);
    const inOffice = !ci && rng.chance(pop.officeNat.share);
    const office = inOffice ? offices[i % offices.length] : undefined;
    let network: Network;
    if (office) {
      network = { place: office.place, asn: office.asn, ip: office.ip, rttMs: localRttMs(rng, 0) };
    } else if (ci) {
      const [asn] = rng.pick(CLOUD_ASNS);
      const place = rng.pick(PLACES.filter((pl) => ["US", "DE", "GB", "NL", "JP", "SG"].includes(pl.country)));
      network = { place, asn, ip: ipIn(asn, rng), rttMs: rng.int(1, 6) };
    } else {
      const country = rng.pick(pop.countries);
      const place = rng.pick(placesIn(country));
      const asn = ispOf(country, rng);
      network = { place, asn, ip: ipIn(asn, rng), rttMs: localRttMs(rng) };
    }
    // CI jobs use an SDK; people use whatever they like.
    const sdk: SdkProfileName = ci ? rng.pick(["python-sdk", "ts-sdk"] as const) : rng.weighted(sdks);
    // Most people pay where they live; a few pay through a head office abroad (they trip region_mismatch honestly).
    const billingCountry = rng.chance(0.05) ? "US" : network.place.country;
    out.push({
      index: offset + i,
      id: `sim-${runTag}-${pop.name}-${i}`,
      key: accountKey(rng, runTag),
      population: p,
      tier: rng.weighted(tiers),
      verified: rng.chance(pop.verifiedShare),
      billingCountry,
      paymentFingerprint: office?.payment ?? `pm_${rng.hex(16)}`,
      stack: clientStack(sdk, rng),
      network,
      style: ci ? "ci" : "human",
      usesTool: !ci && rng.chance(pop.popularTool.share),
      sendsSystem: false,
      rotates: false,
    });
  }
  return out;
}

function campaignAccount(
  pop: AttackPopulation,
  p: number,
  i: number,
  rng: Rng,
  runTag: string,
  offset: number,
  network: Network,
): SimAccount {
  return {
    index: offset + i,
    id: `sim-${runTag}-${pop.name}-${i}`,
    key: accountKey(rng, runTag),
    population: p,
    tier: pop.tier,
    verified: pop.verified,
    billingCountry: rng.pick(pop.billingCountries),
    paymentFingerprint: `pm_${runTag}_${pop.name}_${i % pop.paymentFingerprints}`,
    stack: campaignStack(pop, i, rng),
    network,
    style: "campaign",
    usesTool: false,
    // Drawn from its own stream, so populations without a prompt of their own draw what they always drew.
    sendsSystem: pop.prompt !== undefined && new Rng(`system:${pop.name}:${i}`).chance(pop.prompt.systemAccounts),
    rotates: false,
  };
}

/**
 * One client build per variant for the whole fleet: the campaign ships a binary, not a population of installs.
 * The build depends on the scenario, not the run: two runs of one file must meet the same collisions with honest users.
 * A fleet that rotates libraries runs account i on the (i mod n)-th, each library in its own builds.
 */
function campaignStack(pop: AttackPopulation, i: number, rng: Rng): ClientStack {
  if (pop.sdks === undefined) return clientStack(pop.sdk, rng, `${pop.name}:build${i % pop.sdkVariants}`);
  const profile = pop.sdks[i % pop.sdks.length] ?? pop.sdk;
  return clientStack(profile, rng, `${pop.name}:${profile}:build${Math.floor(i / pop.sdks.length) % pop.sdkVariants}`);
}

function hydraAccounts(pop: HydraPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    if (pop.residentialShare > 0 && new Rng(`residential:${pop.name}:${i}`).chance(pop.residentialShare)) {
      out.push(campaignAccount(pop, p, i, rng, runTag, offset, residentialExit(pop, rng)));
      continue;
    }
    // Accounts are spread over a few /24s of a few hosting ASNs: shared, but not one address.
    const block = i % pop.prefixes;
    const asn = pop.asns[block % pop.asns.length] ?? 14061;
    const country = pop.exitCountries[block % pop.exitCountries.length] ?? "US";
    const places = placesIn(country);
    const place = places[block % places.length] ?? places[0] ?? PLACES[0];
    if (!place) throw new Error("no places");
    const network = { place, asn, ip: ipIn(asn, rng, (block * 37) % 256, Math.floor(block / 256)), rttMs: rng.int(1, 4) };
    out.push(campaignAccount(pop, p, i, rng, runTag, offset, network));
  }
  return out;
}

/** A residential proxy exit: a consumer ISP's address in one of the exit countries, on a random /24 of its block. */
function residentialExit(pop: HydraPopulation, rng: Rng): Network {
  const country = rng.pick(pop.exitCountries);
  const place = rng.pick(placesIn(country));
  const asn = ispOf(country, rng);
  return { place, asn, ip: ipIn(asn, rng), rttMs: localRttMs(rng) + rng.int(10, 40) };
}

/** An honest product's accounts: one backend (a cloud region) or one office NAT, one client build. */
function serviceAccounts(pop: ServicePopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const site = base.fork("site");
  const place = site.pick(placesIn(pop.country));
  const asn = pop.network === "cloud" ? site.pick(CLOUD_ASNS)[0] : ispOf(pop.country, site);
  const officeIp = ipIn(asn, site);
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    // A backend's instances leave from a few addresses of its region; an office from its one NAT address.
    const ip = pop.network === "cloud" ? ipIn(asn, rng, (hashString(`${pop.name}:${i % 3}`) >>> 8) & 0xff) : officeIp;
    out.push({
      index: offset + i,
      id: `sim-${runTag}-${pop.name}-${i}`,
      key: accountKey(rng, runTag),
      population: p,
      tier: pop.tier,
      verified: pop.verified,
      billingCountry: pop.billingCountry,
      paymentFingerprint: `pm_${runTag}_${pop.name}`,
      stack: clientStack(pop.sdk, rng, `${pop.name}:build`),
      network: { place, asn, ip, rttMs: pop.network === "cloud" ? rng.int(1, 6) : localRttMs(rng, 0) },
      style: "service",
      usesTool: false,
      sendsSystem: pop.prompt.system !== null && new Rng(`system:${pop.name}:${i}`).chance(pop.prompt.systemAccounts),
      rotates: false,
    });
  }
  return out;
}

function resellerEgress(pop: ResellerPopulation, k: number): Network {
  const r = new Rng(`egress:${pop.name}:${k}`);
  const country = pop.exitCountries[k % pop.exitCountries.length] ?? "US";
  const places = placesIn(country);
  const place = places[k % places.length] ?? places[0];
  if (!place) throw new Error("no places");
  return { place, asn: pop.egressAsn, ip: ipIn(pop.egressAsn, r, k % 4), rttMs: r.int(2, 12) };
}

function resellerAccounts(pop: ResellerPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    out.push(campaignAccount(pop, p, i, rng, runTag, offset, resellerEgress(pop, i % pop.egressIps)));
  }
  return out;
}

function evasionExit(pop: RegionEvasionPopulation, rng: Rng, tunnel: boolean): Network {
  const asns = [...pop.vpnAsns, ...pop.hostingAsns];
  const asn = rng.pick(asns.length > 0 ? asns : [9009]);
  const place = rng.pick(placesIn(rng.pick(pop.exitCountries)));
  // A layer-3 tunnel: the exit geolocates next to the colo, the TCP round trip runs to the real client far away.
  const rttMs = tunnel ? rng.int(190, 320) : rng.int(2, 15);
  return { place, asn, ip: ipIn(asn, rng), rttMs };
}

function evasionAccounts(pop: RegionEvasionPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    const account = campaignAccount(pop, p, i, rng, runTag, offset, evasionExit(pop, rng, rng.chance(pop.tunnelShare)));
    account.rotates = rng.chance(pop.rotateShare);
    out.push(account);
  }
  return out;
}

// ─────────────────────────────────── schedule ───────────────────────────────────

type Entry = { at: number; account: number; attack: boolean; seed: number };

function makeSchedule(scenario: Scenario, accounts: SimAccount[], rng: Rng): Schedule {
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
      legitTiming(pop, members, accounts, r, from, to, push);
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

function legitTiming(
  pop: LegitPopulation,
  members: number[],
  accounts: SimAccount[],
  rng: Rng,
  from: number,
  to: number,
  push: (at: number, account: number, attack: boolean) => void,
): void {
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
        push(t, index, false);
        t += ci ? rng.int(1_500, 4_000) : MIN_HUMAN_GAP_MS + rng.exponential(40_000);
      }
      left -= size;
    }
  });
}

/** Requests of a fleet (a campaign or an honest service) over its members, in the timing's mode. */
function fleetTiming(
  timing: TimingSpec,
  members: number[],
  requests: number,
  rng: Rng,
  from: number,
  to: number,
  push: (at: number, account: number) => void,
): void {
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
  // Business hours: nothing before nine or after five, a third of the pace over lunch, and each
  // account starting its day within the first twenty minutes after nine (or the first third of the window).
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

function roundTiming(
  timing: TimingSpec,
  members: number[],
  requests: number,
  rng: Rng,
  from: number,
  to: number,
  push: (at: number, account: number) => void,
): void {
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

// ─────────────────────────────────── requests ───────────────────────────────────

/** A request of a population with a prompt shape of its own: one of its instructions, at a share drawn in its range. */
function ownPrompt(spec: PromptSpec, account: SimAccount, rng: Rng) {
  const instruction = rng.weighted(spec.instructions.map((t, i) => [t, 1 / (i + 1)] as const));
  const variedShare = spec.variedShare.min + rng.next() * (spec.variedShare.max - spec.variedShare.min);
  const system = account.sendsSystem ? spec.system : null;
  return wrappedPrompt({ system, instruction, placement: spec.placement, content: spec.content, variedShare }, rng);
}

function attackTemplate(pop: AttackPopulation, rng: Rng): AttackTemplate {
  // The first template carries most of the campaign, the rest less and less.
  return rng.weighted(pop.templates.map((t, i) => [t, 1 / (i + 1)] as const));
}

function modelFor(gen: Generated, pop: Population, atMs: number, attack: boolean, rng: Rng): string {
  const pivot = gen.scenario.pivot;
  if (!pivot || atMs < pivot.at * gen.scenario.durationSeconds * 1000) return "demo-model-1";
  if (!attack) return rng.chance(pivot.legitShare) ? pivot.model : "demo-model-1";
  const pivots = pivot.populations === undefined ? isAttack(pop) : pivot.populations.includes(pop.name);
  return pivots && rng.chance(pivot.share) ? pivot.model : "demo-model-1";
}

function networkFor(account: SimAccount, pop: Population, rng: Rng): Network {
  if (pop.kind === "reseller") return resellerEgress(pop, rng.int(0, pop.egressIps - 1));
  if (pop.kind === "regionEvasion" && account.rotates) return evasionExit(pop, rng, account.network.rttMs > 100);
  return account.network;
}

/** `request.cf` as the edge would fill it for this client (strings where Cloudflare sends strings). */
export function cfFor(network: Network, stack: ClientStack): Record<string, unknown> {
  const { place } = network;
  return {
    country: place.country,
    asn: network.asn,
    asOrganization: networkName(network.asn),
    colo: place.colo,
    city: place.city,
    region: place.region,
    latitude: place.latitude.toFixed(4),
    longitude: place.longitude.toFixed(4),
    clientTcpRtt: network.rttMs,
    clientAcceptEncoding: stack.headers["accept-encoding"] ?? "",
    ...stack.tls,
  };
}

/** The request for schedule entry `i`, rebuilt from its seed (nothing per request is kept in memory). */
export function buildRequest(gen: Generated, i: number): SimRequest {
  const { schedule, scenario } = gen;
  const account = gen.accounts[schedule.account[i] ?? 0];
  if (!account) throw new Error(`schedule entry ${i} names no account`);
  const pop = scenario.populations[account.population];
  if (!pop) throw new Error(`account ${account.id} names no population`);
  const rng = new Rng(schedule.seed[i] ?? 0);
  const attack = schedule.attack[i] === 1;
  const model = modelFor(gen, pop, schedule.at[i] ?? 0, attack, rng);
  const body: Record<string, unknown> = { model };
  let stream = false;
  if (attack && isAttack(pop)) {
    const prompt = pop.prompt === undefined ? templatedPrompt(attackTemplate(pop, rng), rng) : { ...ownPrompt(pop.prompt, account, rng), tools: pop.prompt.tools };
    body.max_tokens = pop.maxTokens;
    if (prompt.system !== null) body.system = prompt.system;
    body.messages = [{ role: "user", content: prompt.user }];
    if (prompt.tools) body.tools = AGENT_TOOLS;
    if (pop.thinking) body.thinking = { type: "enabled", budget_tokens: Math.min(1_024, Math.max(1, pop.maxTokens - 1)) };
  } else if (pop.kind === "service") {
    const prompt = ownPrompt(pop.prompt, account, rng);
    body.max_tokens = pop.maxTokens;
    if (prompt.system !== null) body.system = prompt.system;
    body.messages = [{ role: "user", content: prompt.user }];
    if (pop.prompt.tools) body.tools = AGENT_TOOLS;
    stream = rng.chance(pop.streamShare);
    if (stream) body.stream = true;
  } else {
    const legit = pop.kind === "legit" ? pop : null;
    const range = legit?.maxTokens ?? { min: 256, max: 2_048 };
    body.max_tokens = rng.int(range.min, Math.max(range.min, range.max));
    if (account.usesTool) body.system = legit ? toolPrompt(legit) : TOOL_SYSTEM_PROMPT;
    const steps = rng.chance(legit?.stepByStepShare ?? 0.04);
    // Only populations with phrasings of their own draw one, so older scenarios replay the same bodies.
    const phrase = steps && legit?.stepByStepPhrasings ? rng.pick(legit.stepByStepPhrasings) : undefined;
    body.messages = [{ role: "user", content: humanPrompt(rng, steps, phrase) }];
    stream = rng.chance(legit?.streamShare ?? 0.2);
    if (stream) body.stream = true;
  }
  const network = networkFor(account, pop, rng);
  const headers: Record<string, string> = {
    ...account.stack.headers,
    "content-type": "application/json",
    "x-demo-events": String(scenario.outputEvents),
  };
  if (account.stack.auth === "bearer") headers.authorization = `Bearer ${account.key}`;
  else headers["x-api-key"] = account.key;
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 0;
  return {
    method: "POST",
    path: "/v1/messages",
    headers,
    body: JSON.stringify(body),
    cf: cfFor(network, account.stack),
    ip: network.ip,
    maxTokens,
    expectedOutputTokens: Math.min(maxTokens, scenario.outputEvents * 2),
    stream,
  };
}

/** A short run tag: base36 time plus a little randomness, or a fixed one for reproducible tests. */
export function runTagFrom(nowMs: number, salt: string): string {
  return `${Math.floor(nowMs / 1000).toString(36)}${(hashString(salt) % 1296).toString(36).padStart(2, "0")}`;
}
