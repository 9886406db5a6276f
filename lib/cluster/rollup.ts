/**
 * Pure roll-up maths for one fingerprint key: merges collector deltas into
 * window buckets and turns them into the metrics the verdict rules read.
 */
import { countOf, MAX_PAYMENTS_PER_DELTA, setCount, type KeyCounts } from "./report.ts";
import type { KeyMetrics } from "./verdict.ts";

// System prompts a key's signature may name: as many as wrappers (SIGNATURE_WRAPPERS).
const TOP_SYSTEMS = 4;

/** One collector's contribution to a key since its last flush. */
export type KeyDelta = {
  key: string;
  /** Distinct accounts seen on the key in this delta (bounded by the collector). */
  accounts: string[];
  counts: KeyCounts;
  /** Timing synchrony among this delta's accounts, with the number of pairs it rests on. */
  synchrony: { value: number; pairs: number } | null;
  at: number;
};

export type Bucket = { start: number; requests: number; inputTokens: number; outputTokens: number; elicited: number };

export function bucketStart(at: number, windowMs: number): number {
  return Math.floor(at / windowMs) * windowMs;
}

/**
 * Sliding-window estimate from two fixed buckets: the current one plus the
 * previous one weighted by how much of it still overlaps the window.
 */
export function slidingValue(current: number, previous: number, now: number, windowMs: number): number {
  const elapsed = (now - bucketStart(now, windowMs)) / windowMs;
  return current + previous * (1 - elapsed);
}

export function mergeCounts(
  into: KeyCounts,
  from: KeyCounts,
  limits: { bands: number; models: number; profiles?: number; wrappers?: number; payments?: number } = { bands: 64, models: 16, profiles: 32 },
): void {
  into.requests += from.requests;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.elicited += from.elicited;
  mergeBounded(into.bands, from.bands, limits.bands);
  mergeBounded(into.models, from.models, limits.models);
  if (from.hosting !== undefined) into.hosting = (into.hosting ?? 0) + from.hosting;
  if (from.clients) mergeBounded((into.clients ??= {}), from.clients, limits.profiles ?? 32);
  if (from.systems) mergeBounded((into.systems ??= {}), from.systems, limits.profiles ?? 32);
  if (from.created) mergeBounded((into.created ??= {}), from.created, limits.profiles ?? 32);
  // Counts stored before wrapper keys existed have none, on either side.
  if (from.wrappers) mergeHeavy((into.wrappers ??= {}), from.wrappers, limits.wrappers ?? MAX_WRAPPERS);
  if (from.paid !== undefined) into.paid = (into.paid ?? 0) + from.paid;
  if (from.payments) mergeBounded((into.payments ??= {}), from.payments, limits.payments ?? MAX_PAYMENTS_PER_DELTA);
  if (from.tiers) mergeBounded((into.tiers ??= {}), from.tiers, limits.profiles ?? 32);
  if (from.members !== undefined) into.members = (into.members ?? 0) + from.members;
  if (from.membersKeyed !== undefined) into.membersKeyed = (into.membersKeyed ?? 0) + from.membersKeyed;
  if (from.campaignChecked !== undefined) into.campaignChecked = (into.campaignChecked ?? 0) + from.campaignChecked;
  if (from.campaignMembers !== undefined) into.campaignMembers = (into.campaignMembers ?? 0) + from.campaignMembers;
}

/** Whether a payments record is full: cards beyond it may have been dropped on the way (see MAX_PAYMENTS_PER_DELTA). */
export function paymentsSaturated(payments: Record<string, number> | undefined): boolean {
  return payments !== undefined && Object.keys(payments).length >= MAX_PAYMENTS_PER_DELTA;
}

// Wrapper names kept per key: a campaign's wrappers are a handful; the rest are honest prompts' own, one request each.
const MAX_WRAPPERS = 64;

/**
 * Adds `from` into `into` as a Misra-Gries summary of at most `max` names:
 * when the sum holds more, the (max+1)-th largest count is taken off every
 * name and those left at zero go. Unlike mergeBounded, a latecomer can win a
 * place: on a broad key (an ASN, a TLS stack) honest prompts bring a new
 * wrapper with nearly every request, and first-come slots would be full of
 * those before a campaign's wrapper, however frequent, arrived. Summaries
 * merged this way undercount any name by at most requests / (max + 1), so a
 * wrapper on more than 1/(max+1) of a key's requests is always kept.
 */
function mergeHeavy(into: Record<string, number>, from: Record<string, number>, max: number): void {
  let size = Object.keys(into).length;
  for (const name in from) {
    const held = into[name];
    if (held === undefined) size++;
    into[name] = (held ?? 0) + (from[name] ?? 0);
  }
  if (size <= max) return;
  const cut = Object.values(into).sort((a, b) => b - a)[max] ?? 0;
  for (const name of Object.keys(into)) {
    const left = (into[name] ?? 0) - cut;
    if (left > 0) into[name] = left;
    else delete into[name];
  }
}

/** Adds `from` into `into`; names `into` does not hold yet join only while it holds fewer than `max`. */
function mergeBounded(into: Record<string, number>, from: Record<string, number>, max: number): void {
  let size = Object.keys(into).length;
  for (const name of Object.keys(from)) {
    const n = countOf(from, name) ?? 0;
    const held = countOf(into, name);
    if (held !== undefined) setCount(into, name, held + n);
    else if (size < max) {
      setCount(into, name, n);
      size++;
    }
  }
}

export function emptyCounts(): KeyCounts {
  return { requests: 0, inputTokens: 0, outputTokens: 0, elicited: 0, bands: {}, models: {}, wrappers: {} };
}

/** Exponentially weighted synchrony, weighted by how many pairs each observation rests on. */
export function blendSynchrony(
  previous: { value: number; weight: number },
  observed: { value: number; pairs: number } | null,
  // 0.9: a few intervals of evidence dominate, one odd interval does not flip the verdict.
  decay = 0.9,
): { value: number; weight: number } {
  if (!observed) return previous;
  const weight = previous.weight * decay + observed.pairs;
  const value = weight === 0 ? 0 : (previous.value * previous.weight * decay + observed.value * observed.pairs) / weight;
  return { value, weight };
}

/**
 * What an honest account of the key's tiers sends per window. If every member sends r times its tier's
 * honest pace, tier t's n_t requests come from n_t / (r·b_t) accounts, so r = Σ n_t/b_t ÷ accounts: the
 * baseline is the request-weighted harmonic mean of the tiers' (requests of no known tier: the flat one).
 * A key of free accounts is then held to what honest free accounts send, not to a mix with paid products.
 */
export function honestBaseline(counts: KeyCounts, flat: number, perTier: Readonly<Record<string, number>> = {}): number {
  if (!counts.tiers || counts.requests <= 0) return flat;
  let weighted = 0;
  let tiered = 0;
  for (const [tier, n] of Object.entries(counts.tiers)) {
    const base = countOf(perTier, tier) ?? flat;
    weighted += n / base;
    tiered += n;
  }
  const rest = Math.max(0, counts.requests - tiered);
  weighted += rest / flat;
  return weighted > 0 ? counts.requests / weighted : flat;
}

// Share of a key's requests that must carry a card before its payment evidence counts.
const PAID_SHARE = 0.9;

export function metricsFrom(input: {
  /** The key these metrics are for: a template band key's own band is in every one of its requests. */
  key: string;
  accounts: number;
  requestsPerWindow: number;
  windowCounts: KeyCounts;
  synchrony: number;
  /** The model the key's traffic moved to (lib/launch-guard.ts detectPivot), and its share of the window. */
  pivotModel: string | null;
  pivotShare?: number;
  /** Distinct payment fingerprints among the key's accounts (the root's payment sketch), if kept. */
  distinctPayments?: number;
  /**
   * For the volume ratio: accounts active on the key in the window (the HyperLogLog counts every
   * account ever seen), and what an honest account of their tier requests per window.
   */
  volume?: { activeAccounts: number; honestRequestsPerAccount: number; perTier?: Readonly<Record<string, number>> };
}): KeyMetrics {
  const requests = Math.max(1, input.windowCounts.requests);
  const ranked = Object.entries(input.windowCounts.bands).sort((a, b) => b[1] - a[1]);
  const topBand = ranked[0]?.[1] ?? 0;
  // Concentration counts the bands a key's requests share BESIDES the key itself: every request on
  // tpl:1:abcd carries tpl:1:abcd, so only what else they share says whether they are one template.
  // Honest prompts of a common shape collide on one 16-bit band; a template's variants share several.
  const topOther = ranked.find(([band]) => band !== input.key)?.[1] ?? 0;
  const c = input.windowCounts;
  const topShare = (record: Record<string, number> | undefined) => {
    if (!record) return undefined;
    const top = Math.max(0, ...Object.values(record));
    return Math.min(1, top / requests);
  };
  const evidence: Partial<KeyMetrics> = {};
  if (c.hosting !== undefined) evidence.hostingShare = Math.min(1, c.hosting / requests);
  const clients = topShare(c.clients);
  if (clients !== undefined) evidence.clientHomogeneity = clients;
  const systems = topShare(c.systems);
  if (systems !== undefined) evidence.systemPromptShare = systems;
  const rankedSystems = Object.entries(c.systems ?? {}).sort((a, b) => b[1] - a[1]);
  const topSystem = rankedSystems[0];
  if (topSystem !== undefined) {
    evidence.topSystem = topSystem[0];
    // A campaign that puts two or three instruction wordings into its system prompt has as many prompts,
    // none of them the top one's size: a third of it (not half, as for bands) keeps the second of a
    // 60/30 split, and leaves out a small tool's prompt on a crowded key.
    evidence.topSystems = rankedSystems.filter(([, n]) => n * 3 >= topSystem[1] && n > 0).slice(0, TOP_SYSTEMS).map(([system]) => system);
  }
  // The key's requests in the reports that measured their members' (an account's first report on a key does not).
  if (c.members !== undefined && c.membersKeyed !== undefined && c.members > 0) evidence.memberShare = Math.min(1, c.membersKeyed / c.members);
  // Over the requests counted while a collector held a confirmed campaign, not the whole window: a campaign's
  // second wording is judged on its members from the first roll-up after the first wording's confirmation.
  if (c.campaignChecked !== undefined && c.campaignChecked > 0) evidence.campaignMemberShare = Math.min(1, (c.campaignMembers ?? 0) / c.campaignChecked);
  const created = topShare(c.created);
  if (created !== undefined) evidence.newAccountBurst = created;
  // Accounts without a card on file would read as many accounts on few cards: only a key whose traffic
  // nearly all carries a card says anything about how many cards its accounts share.
  const paidShare = (c.paid ?? 0) / requests;
  if (input.distinctPayments !== undefined && input.accounts > 0 && paidShare >= PAID_SHARE) {
    evidence.paymentsPerAccount = Math.min(1, Math.max(1, input.distinctPayments) / input.accounts);
  }
  const volume = input.volume;
  if (volume && volume.activeAccounts > 0 && volume.honestRequestsPerAccount > 0) {
    // The members' traffic, not the key's: a prompt that is a tenth of its accounts' requests does not make
    // them light users (a pooled reseller's campaign prompt would earn honest-pace relief on its own key).
    const memberRate = input.requestsPerWindow / (evidence.memberShare ?? 1);
    evidence.volumeRatio = memberRate / volume.activeAccounts / honestBaseline(c, volume.honestRequestsPerAccount, volume.perTier);
  }
  const wrappers = Object.entries(input.windowCounts.wrappers ?? {}).sort((a, b) => b[1] - a[1]);
  const topWrapper = wrappers[0]?.[1] ?? 0;
  // As with bands: a wrapper key's own wrapper is on all its requests, so concentration is what else they share.
  const topOtherWrapper = wrappers.find(([wrapper]) => wrapper !== input.key)?.[1] ?? 0;
  // Wrappers carried by at least half as many requests as the top one, as for bands.
  const topWrappers = wrappers.filter(([, n]) => n * 2 >= topWrapper && n > 0).slice(0, 8);
  // A request carries at most one wrapper key per end, so the counts at one end add up without overlap.
  const byEnd = { p: 0, s: 0 };
  for (const [wrapper, n] of topWrappers) {
    if (wrapper === input.key) continue;
    if (wrapper.startsWith("wrap:p:")) byEnd.p += n;
    else if (wrapper.startsWith("wrap:s:")) byEnd.s += n;
  }
  return {
    ...evidence,
    // Bands carried by at least half as many requests as the top one: a template's bands, not noise.
    topBands: ranked.filter(([, n]) => n * 2 >= topBand && n > 0).slice(0, 8).map(([band]) => band),
    accounts: input.accounts,
    requestsPerWindow: input.requestsPerWindow,
    synchrony: input.synchrony,
    templateShare: Math.min(1, topOther / requests),
    elicitationShare: Math.min(1, input.windowCounts.elicited / requests),
    pivotModel: input.pivotModel,
    ...(input.pivotModel !== null && input.pivotShare !== undefined ? { pivotShare: input.pivotShare } : {}),
    topWrappers: topWrappers.map(([wrapper]) => wrapper),
    wrapperShare: Math.min(1, topOtherWrapper / requests),
    wrapperCoverage: Math.min(1, Math.max(byEnd.p, byEnd.s) / requests),
  };
}
