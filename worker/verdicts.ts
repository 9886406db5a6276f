/**
 * Cluster verdicts the isolate has seen, by fingerprint key. An account
 * object learns verdicts from its own cluster reports, which a fresh account
 * of a known campaign, or a member that sends rarely, has not made since the
 * confirmation; the isolate passes what it already knows for the request's
 * keys along with the admit call instead.
 *
 * It learns them from admit answers: the account's own confirmed verdicts,
 * and its collector's verdict feed (lib/cluster/collector.ts VerdictLog),
 * which every account that reports reads, honest or not. Per collector the
 * isolate remembers the newest feed version it has read and asks for what
 * came after it, so an answer carries feed entries only when there is news.
 * The end of a confirmed verdict travels the same way and is kept as a
 * "none" for as long as a copy of the confirmed one could still be live, so
 * an account object that holds the confirmed verdict drops it on its next
 * request. The verdicts come only from account objects' answers and the
 * collectors, never from a client.
 *
 * Relayed by account objects alone, a confirmation reached the edge only once
 * an account had reported after it and then sent again: seconds in which a
 * campaign's fresh accounts, each sending its first request, were served in
 * full. So the isolate also reads a collector's feed itself, in the
 * background, a few times per report interval: the collector of whichever
 * account it is serving, one read at a time. A campaign large enough to
 * matter reports to most collectors, so any one of them soon has its verdicts.
 */
import { BoundedMap } from "../lib/bounded-map.ts";
import { verdictFreshAt } from "../lib/cluster/verdict.ts";
import type { AdmitRequest, AdmitResult, CachedVerdict, VerdictFeed } from "../lib/decision.ts";
import { clusterCollectorName, collectorIndex } from "../lib/names.ts";
import type { Policy } from "../lib/policy/index.ts";
import { ExpiringLru } from "./lru.ts";

// Keys with a confirmed verdict are few (one campaign shares a handful); this bounds a pathological policy.
const MAX_KEYS = 4_096;
// One entry per collector: clusters.shards is at most 256.
const MAX_COLLECTORS = 256;
// Feed reads per report interval, per isolate: a confirmation waits a quarter of an interval, not the
// one or two intervals of a report and a relay, for one small call every few seconds.
const FEED_READS_PER_INTERVAL = 4;

const known = new ExpiringLru<string, CachedVerdict>(MAX_KEYS);
/** Collector name → the newest version of its feed this isolate has read. */
const feedVersions = new BoundedMap<string, number>(MAX_COLLECTORS);
/** When this isolate may next read a collector's feed itself, and whether a read is out. */
let nextFeedReadAt = 0;
let feedReading = false;

function collectorOf(accountId: string, policy: Policy): string {
  return clusterCollectorName(collectorIndex(accountId, policy.clusters.shards));
}

/** Keeps a verdict unless a later decision on its key is held; an end is kept as "none". */
function keep(v: CachedVerdict, now: number, ttlMs: number): void {
  const held = known.get(v.cluster, now);
  if (held && held.decidedAt > v.decidedAt) return;
  if (v.verdict === "confirmed") {
    const expiresAt = verdictFreshAt(v) + ttlMs;
    if (expiresAt > now) known.set(v.cluster, v, expiresAt);
    return;
  }
  // A suspect that ends a confirmed verdict is told as an end: the account objects hear of the suspect
  // from their own reports, and writing it into every account that shares the key would cost a row each.
  known.set(v.cluster, { cluster: v.cluster, verdict: "none", capPerWindow: null, reasons: [], decidedAt: v.decidedAt }, now + ttlMs);
}

/**
 * Puts on an admit request what the isolate knows: the verdicts (and ends of verdicts) on its keys, and
 * how far it has read the account's collector's feed. True when a confirmed verdict is among them.
 */
export function attachVerdicts(request: AdmitRequest, policy: Policy): boolean {
  const now = Date.now();
  const verdicts: CachedVerdict[] = [];
  for (const key of request.fingerprint.keys) {
    const v = known.get(key, now);
    if (v) verdicts.push(v);
  }
  if (verdicts.length > 0) request.verdicts = verdicts;
  request.feedSince = feedVersions.get(collectorOf(request.account.id, policy)) ?? 0;
  return verdicts.some((v) => v.verdict === "confirmed");
}

/** What an admit answer taught the isolate: the account's own confirmed verdicts, and its collector's feed. */
export function learnVerdicts(request: AdmitRequest, result: AdmitResult, policy: Policy): void {
  const now = Date.now();
  const ttlMs = policy.risk.verdictTtlSeconds * 1000;
  for (const v of result.verdicts ?? []) if (v.verdict === "confirmed") keep(v, now, ttlMs);
  if (result.feed) learnFeed(collectorOf(request.account.id, policy), result.feed, now, ttlMs);
}

function learnFeed(collector: string, feed: VerdictFeed, now: number, ttlMs: number): void {
  for (const v of feed.verdicts) keep(v, now, ttlMs);
  feedVersions.set(collector, Math.max(feedVersions.get(collector) ?? 0, feed.version));
}

/**
 * Reads the feed of the account's collector after the version this isolate has read, unless a read is
 * out or the last one was less than a FEED_READS_PER_INTERVAL-th of a report interval ago; null then.
 * For `waitUntil`: never on the request's path. A failed read is logged and waits for the next turn.
 */
export function readCollectorFeed(env: Env, accountId: string, policy: Policy): Promise<void> | null {
  const now = Date.now();
  if (feedReading || now < nextFeedReadAt) return null;
  feedReading = true;
  nextFeedReadAt = now + (policy.clusters.reportIntervalSeconds * 1000) / FEED_READS_PER_INTERVAL;
  const collector = collectorOf(accountId, policy);
  const read = async () => {
    try {
      const feed = await env.CLUSTER_COLLECTORS.getByName(collector).readFeed(feedVersions.get(collector) ?? 0);
      learnFeed(collector, feed, Date.now(), policy.risk.verdictTtlSeconds * 1000);
    } catch (err) {
      console.error(JSON.stringify({ msg: "verdict feed read failed", collector, error: String(err) }));
    } finally {
      feedReading = false;
    }
  };
  return read();
}

/** Whether this isolate's own read of a collector's feed is out (tests wait for it). */
export function feedReadOut(): boolean {
  return feedReading;
}

export function forgetVerdicts(): void {
  known.clear();
  feedVersions.clear();
  nextFeedReadAt = 0;
  feedReading = false;
}
