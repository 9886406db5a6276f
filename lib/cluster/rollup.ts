/**
 * Pure roll-up maths for one fingerprint key: merges collector deltas into
 * window buckets and turns them into the metrics the verdict rules read.
 */
import type { KeyCounts } from "./report.ts";
import type { KeyMetrics } from "./verdict.ts";

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

export function mergeCounts(into: KeyCounts, from: KeyCounts, limits = { bands: 64, models: 16 }): void {
  into.requests += from.requests;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.elicited += from.elicited;
  mergeBounded(into.bands, from.bands, limits.bands);
  mergeBounded(into.models, from.models, limits.models);
}

/** Adds `from` into `into`; names `into` does not hold yet join only while it holds fewer than `max`. */
function mergeBounded(into: Record<string, number>, from: Record<string, number>, max: number): void {
  let size = Object.keys(into).length;
  for (const name in from) {
    const n = from[name] ?? 0;
    const held = into[name];
    if (held !== undefined) into[name] = held + n;
    else if (size < max) {
      into[name] = n;
      size++;
    }
  }
}

export function emptyCounts(): KeyCounts {
  return { requests: 0, inputTokens: 0, outputTokens: 0, elicited: 0, bands: {}, models: {} };
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

export function metricsFrom(input: {
  /** The key these metrics are for: a template band key's own band is in every one of its requests. */
  key: string;
  accounts: number;
  requestsPerWindow: number;
  windowCounts: KeyCounts;
  synchrony: number;
  pivotModel: string | null;
}): KeyMetrics {
  const requests = Math.max(1, input.windowCounts.requests);
  const ranked = Object.entries(input.windowCounts.bands).sort((a, b) => b[1] - a[1]);
  const topBand = ranked[0]?.[1] ?? 0;
  // Concentration counts the bands a key's requests share BESIDES the key itself: every request on
  // tpl:1:abcd carries tpl:1:abcd, so only what else they share says whether they are one template.
  // Honest prompts of a common shape collide on one 16-bit band; a template's variants share several.
  const topOther = ranked.find(([band]) => band !== input.key)?.[1] ?? 0;
  return {
    // Bands carried by at least half as many requests as the top one: a template's bands, not noise.
    topBands: ranked.filter(([, n]) => n * 2 >= topBand && n > 0).slice(0, 8).map(([band]) => band),
    accounts: input.accounts,
    requestsPerWindow: input.requestsPerWindow,
    synchrony: input.synchrony,
    templateShare: Math.min(1, topOther / requests),
    elicitationShare: Math.min(1, input.windowCounts.elicited / requests),
    pivotModel: input.pivotModel,
  };
}

/**
 * A pivot: a model first seen on this key within `recentMs` that now carries at
 * least half its traffic, while the key had traffic before that model appeared.
 */
export function detectPivot(
  models: Record<string, number>,
  firstSeen: { get(model: string): number | undefined },
  keyFirstSeen: number,
  now: number,
  recentMs: number,
): string | null {
  const total = Object.values(models).reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  for (const [model, n] of Object.entries(models)) {
    const seen = firstSeen.get(model);
    if (seen === undefined || now - seen > recentMs || seen <= keyFirstSeen) continue;
    if (n / total >= 0.5) return model;
  }
  return null;
}
