/**
 * Durable Object load, computed from the traffic model (what was sent, when,
 * by whom, and what the gateway answered), not measured inside workerd:
 *
 *   AccountDO  account:<id>            1 admit per decided request + 1 settle per forwarded one
 *   collector  cluster:collector#n     1 report per account per report interval with traffic
 *   root       cluster:<key>#root      per interval, 1 rollup per collector that saw the key
 *                                      (only keys seen on 2+ accounts reach a root); once
 *                                      the key is confirmed, a collector holds its deltas and
 *                                      forwards them summed every CONFIRMED_FORWARD_INTERVALS
 *
 * These are the call patterns durable-objects/*.ts implement; the model
 * reports the hottest object of each kind and its share of all DO calls, and,
 * for contrast, what one object per fingerprint key called once per request
 * (the design DESIGN.md rules out) would carry.
 */
import { CONFIRMED_FORWARD_INTERVALS, holdsBack } from "../lib/cluster/collector.ts";
import { accountObjectName, clusterCollectorName, clusterRootName, collectorIndex } from "../lib/names.ts";
import type { Policy } from "../lib/policy/index.ts";
import type { Generated } from "./generate.ts";
import type { ReplayResults } from "./replay.ts";

/**
 * The intervals at which one collector rolls one key up to its root, given the intervals in which it
 * saw the key: the collector's own rule (holdsBack) applied at each flush, in report intervals. Held
 * data stays in the collector's buffer, whose alarm keeps flushing, so it goes out at the first flush
 * its wait is over, whether or not new data arrived.
 */
export function rollupIntervals(seen: readonly number[], confirmedFrom: number): number[] {
  const out: number[] = [];
  let forwardedAt: number | undefined;
  let holding = false;
  const flush = (t: number) => {
    holding = holdsBack(t >= confirmedFrom, forwardedAt, t, 1);
    if (holding) return;
    out.push(t);
    forwardedAt = t;
  };
  for (const t of [...seen].sort((a, b) => a - b)) {
    if (holding && forwardedAt !== undefined && forwardedAt + CONFIRMED_FORWARD_INTERVALS < t) {
      flush(forwardedAt + CONFIRMED_FORWARD_INTERVALS);
    }
    flush(t);
  }
  if (holding && forwardedAt !== undefined) flush(forwardedAt + CONFIRMED_FORWARD_INTERVALS);
  return out;
}

export type HotObject = { name: string; calls: number; share: number; peakPerSecond: number };

export type DoLoadModel = {
  source: "model";
  totalCalls: number;
  objects: { accounts: number; collectors: number; roots: number };
  calls: { admits: number; settles: number; reports: number; rollups: number };
  hottest: HotObject;
  hottestAccount: HotObject;
  hottestCollector: HotObject;
  hottestRoot: HotObject;
  /** The alternative the design rules out: every request one call to its key's single object. */
  unsharded: { key: string; callsOnHottest: number; share: number; peakPerSecond: number };
};

class Counter {
  readonly total = new Map<string, number>();
  readonly perSecond = new Map<string, Map<number, number>>();

  add(name: string, second: number, n = 1): void {
    this.total.set(name, (this.total.get(name) ?? 0) + n);
    let s = this.perSecond.get(name);
    if (!s) this.perSecond.set(name, (s = new Map()));
    s.set(second, (s.get(second) ?? 0) + n);
  }

  hottest(all: number): HotObject {
    let name = "-";
    let calls = 0;
    for (const [k, v] of this.total) if (v > calls) [name, calls] = [k, v];
    const peak = Math.max(0, ...(this.perSecond.get(name)?.values() ?? []));
    return { name, calls, share: all === 0 ? 0 : calls / all, peakPerSecond: peak };
  }

  sum(): number {
    let s = 0;
    for (const v of this.total.values()) s += v;
    return s;
  }
}

/**
 * `confirmedAt`: when each key was first seen confirmed (replay ms; the simulator's verdict polls,
 * so up to one poll late, which overstates roll-ups a little).
 */
export function doLoadModel(
  gen: Generated,
  results: ReplayResults,
  policy: Policy,
  keys: Map<number, string[]>,
  confirmedAt: ReadonlyMap<string, number> = new Map(),
): DoLoadModel {
  const shards = policy.clusters.shards;
  const intervalMs = policy.clusters.reportIntervalSeconds * 1000;
  const accounts = new Counter();
  const collectors = new Counter();
  const roots = new Counter();
  const naive = new Counter();
  let admits = 0;
  let settles = 0;

  // Which accounts share each key at all: singletons never reach a root.
  const keyAccounts = new Map<string, number>();
  for (const list of keys.values()) for (const k of list) keyAccounts.set(k, (keyAccounts.get(k) ?? 0) + 1);

  const reported = new Set<string>();
  // key → collector → the intervals in which it saw the key
  const seen = new Map<string, Map<number, Set<number>>>();
  for (let i = 0; i < results.count; i++) {
    const status = results.status[i] ?? 0;
    // 0 = never reached the gateway; 401 = no account, so no account object.
    if (status === 0 || status === 401) continue;
    const a = gen.schedule.account[i] ?? 0;
    const account = gen.accounts[a];
    if (!account) continue;
    const at = results.sentAt[i] ?? 0;
    const second = Math.floor(at / 1000);
    const name = accountObjectName(account.id);
    accounts.add(name, second);
    admits++;
    if (status === 200) {
      accounts.add(name, second);
      settles++;
    }
    const list = keys.get(a) ?? [];
    for (const k of list) naive.add(k, second);
    const interval = Math.floor(at / intervalMs);
    const tag = `${a}:${interval}`;
    if (reported.has(tag)) continue;
    reported.add(tag);
    const collector = collectorIndex(account.id, shards);
    collectors.add(clusterCollectorName(collector), second);
    for (const k of list) {
      if ((keyAccounts.get(k) ?? 0) < 2) continue;
      let byCollector = seen.get(k);
      if (!byCollector) seen.set(k, (byCollector = new Map()));
      let intervals = byCollector.get(collector);
      if (!intervals) byCollector.set(collector, (intervals = new Set()));
      intervals.add(interval);
    }
  }
  for (const [k, byCollector] of seen) {
    const confirmed = confirmedAt.get(k);
    const confirmedFrom = confirmed === undefined ? Number.POSITIVE_INFINITY : Math.ceil(confirmed / intervalMs);
    for (const intervals of byCollector.values()) {
      for (const interval of rollupIntervals([...intervals], confirmedFrom)) {
        // A collector flushes one interval after the reports: the rollup lands then.
        roots.add(clusterRootName(k), Math.floor(((interval + 1) * intervalMs) / 1000));
      }
    }
  }
  const reports = collectors.sum();
  const rollupCalls = roots.sum();
  const total = admits + settles + reports + rollupCalls;
  const hot = [accounts.hottest(total), collectors.hottest(total), roots.hottest(total)].sort((x, y) => y.calls - x.calls);
  const naiveTotal = naive.sum();
  const naiveHot = naive.hottest(naiveTotal);
  // One call per request on the key's object: the hottest key's object gets one call per request carrying it.
  const requestsDecided = admits;
  return {
    source: "model",
    totalCalls: total,
    objects: { accounts: accounts.total.size, collectors: collectors.total.size, roots: roots.total.size },
    calls: { admits, settles, reports, rollups: rollupCalls },
    hottest: hot[0] ?? { name: "-", calls: 0, share: 0, peakPerSecond: 0 },
    hottestAccount: accounts.hottest(total),
    hottestCollector: collectors.hottest(total),
    hottestRoot: roots.hottest(total),
    unsharded: {
      key: naiveHot.name,
      callsOnHottest: naiveHot.calls,
      share: requestsDecided === 0 ? 0 : naiveHot.calls / requestsDecided,
      peakPerSecond: naiveHot.peakPerSecond,
    },
  };
}
