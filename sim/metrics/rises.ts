/** Leakage that fell and then rose again, per campaign, with the gateway's decisions before and after the rise. */
import type { Generated } from "../generate.ts";
import type { ReplayResults } from "../replay.ts";
import { buildRequest } from "../requests.ts";
import type { DecisionInfo } from "./request.ts";

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

/** Every campaign's rises in the timeline, each with the decisions in the bins before it and during it. */
export function campaignRises(
  gen: Generated,
  results: ReplayResults,
  decisions: Map<string, DecisionInfo> | null,
  timeline: { binSeconds: number; attackOkByPopulation: Record<string, number[]>; attackSentByPopulation: Record<string, number[]> },
): Rise[] {
  const { binSeconds, attackOkByPopulation, attackSentByPopulation } = timeline;
  const rises: Rise[] = [];
  for (const [name, sent] of Object.entries(attackSentByPopulation)) {
    const p = gen.scenario.populations.findIndex((x) => x.name === name);
    for (const found of findRises(sent, attackOkByPopulation[name] ?? [])) {
      const window = (from: number, to: number) => riseWindow(gen, results, decisions, p, from * binSeconds, (to + 1) * binSeconds);
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
  return rises;
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
