/**
 * What a cluster collector holds between two flushes, in memory: per key the
 * merged counts and the distinct accounts, the accounts' request-start
 * histograms, and the account↔key edges still to be written to D1.
 *
 * In memory because it is a statistical sample of a few seconds, like the
 * account objects' report buffers: an eviction loses at most one interval,
 * while keeping it in SQLite cost five row writes per key per report. Edges
 * are the exception worth remembering: each is written once and then at most
 * once per EDGE_REFRESH_MS, however often the account reports it.
 */
import { BoundedMap } from "../bounded-map.ts";
import { hash64 } from "../fasthash.ts";
import type { AccountReport, KeyCounts } from "./report.ts";
import { emptyCounts, mergeCounts, type KeyDelta } from "./rollup.ts";
import { synchrony, type StartHistogram } from "./synchrony.ts";

// Distinct account ids forwarded per key per flush; the root's HyperLogLog needs ids, and a
// 24,000-account hydra over 16 collectors is 1,500 per collector, so this loses nothing at that scale.
export const MAX_ACCOUNTS_PER_DELTA = 4_000;
// Accounts whose start histograms are kept per flush, for synchrony.
const MAX_HISTOGRAMS = 512;
// Keys held per flush: far more than the keys of the accounts one collector hears from in seconds.
const MAX_KEYS = 50_000;
// Single-account keys held for a second account (see drainDeltas): most keys of a collector's accounts
// are their own (a prompt, a band, an address), so this bounds what waiting for a second account costs.
export const MAX_HELD_SINGLES = 20_000;
// Edges waiting for D1; more are dropped until the next flush (they are re-sent by the next report).
const MAX_PENDING_EDGES = 100_000;
// Edges remembered as written: ~40 bytes each, so about 4 MB of an object's 128 MB.
const MAX_WRITTEN_EDGES = 100_000;
// An edge already in D1 is rewritten (to move last_seen) at most this often.
export const EDGE_REFRESH_MS = 3_600_000;

export type PendingEdge = { accountId: string; key: string; firstSeen: number; lastSeen: number };

/**
 * A key whose root has confirmed it is forwarded every this many report intervals, its deltas summed
 * in between: the campaign's dozens of keys from every collector every interval were most of all root
 * calls, for a verdict that stands. Other keys go every interval, so detection is not delayed.
 */
export const CONFIRMED_FORWARD_INTERVALS = 5;

/**
 * Whether a flush at `now` holds a key's delta back for a later one: its root has confirmed it and it
 * was forwarded less than CONFIRMED_FORWARD_INTERVALS report intervals ago. A key never forwarded
 * (`forwardedAt` undefined) is never held. Any unit of time will do, so the simulator counts intervals.
 */
export function holdsBack(confirmed: boolean, forwardedAt: number | undefined, now: number, reportIntervalMs: number): boolean {
  return confirmed && forwardedAt !== undefined && now - forwardedAt < CONFIRMED_FORWARD_INTERVALS * reportIntervalMs;
}

/** 53 bits of a 64-bit hash: a Map key that costs no string, and collisions are negligible at 10^5 entries. */
function edgeId(accountId: string, key: string): number {
  const [hi, lo] = hash64(`${accountId}\u0000${key}`);
  return (hi & 0x1fffff) * 0x100000000 + lo;
}

export class CollectorBuffer {
  private keys = new Map<string, { counts: KeyCounts; accounts: Set<string> }>();
  private histograms = new Map<string, StartHistogram>();
  private edges = new Map<number, PendingEdge>();
  /** Keys one account reported here alone, waiting for a second account: the oldest are forgotten first. */
  private readonly singles = new BoundedMap<string, { accountId: string; counts: KeyCounts; at: number }>(MAX_HELD_SINGLES);
  /** Edge id → when it was last written; the least recently written is the one to forget. */
  private readonly written = new BoundedMap<number, number>(MAX_WRITTEN_EDGES);

  get hasKeys(): boolean {
    return this.keys.size > 0;
  }

  get pendingEdges(): number {
    return this.edges.size;
  }

  /**
   * `campaign`, when the collector holds a confirmed exact prompt key: those of them the reporting account
   * is a member of (campaignKeysOf). Each of the report's keys then counts its requests as checked, and as
   * a campaign member's when the account belongs to a confirmed key other than that one.
   */
  add(report: AccountReport, now: number, campaign?: ReadonlySet<string>): void {
    for (const [key, counts] of Object.entries(report.keys)) {
      let entry = this.keys.get(key);
      if (!entry) {
        if (this.keys.size >= MAX_KEYS) continue;
        entry = { counts: emptyCounts(), accounts: new Set() };
        this.keys.set(key, entry);
      }
      mergeCounts(entry.counts, counts);
      if (campaign) {
        entry.counts.campaignChecked = (entry.counts.campaignChecked ?? 0) + counts.requests;
        const member = campaign.size > (campaign.has(key) ? 1 : 0);
        entry.counts.campaignMembers = (entry.counts.campaignMembers ?? 0) + (member ? counts.requests : 0);
      }
      if (entry.accounts.size < MAX_ACCOUNTS_PER_DELTA) entry.accounts.add(report.accountId);
      this.noteEdge(report.accountId, key, report.from, report.to, now);
    }
    if (report.starts.length > 0 && (this.histograms.has(report.accountId) || this.histograms.size < MAX_HISTOGRAMS)) {
      this.histograms.set(report.accountId, report.starts);
    }
  }

  private noteEdge(accountId: string, key: string, from: number, to: number, now: number): void {
    const id = edgeId(accountId, key);
    const pending = this.edges.get(id);
    if (pending) {
      pending.lastSeen = Math.max(pending.lastSeen, to);
      return;
    }
    const writtenAt = this.written.get(id);
    if (writtenAt !== undefined && now - writtenAt < EDGE_REFRESH_MS) return;
    if (this.edges.size >= MAX_PENDING_EDGES) return;
    this.edges.set(id, { accountId, key, firstSeen: from, lastSeen: to });
  }

  /** The accounts that reported `key` since the last drain (not yet in any delta). */
  accountsOf(key: string): string[] {
    return [...(this.keys.get(key)?.accounts ?? [])];
  }

  /**
   * The deltas for the roots, and an empty key buffer behind them. A key one
   * account uses alone (`shared` says whether a root already knows it as
   * shared) costs no root call: it waits up to `pairWithinMs` for a second
   * account to report it here, and goes to the root with that account's, its
   * counts and account included; past that it is forgotten (0: dropped at
   * once, the former rule). A key `hold` names stays, counts and accounts, and
   * joins the next drain's delta.
   *
   * Why wait: a quiet fleet's accounts send once or twice a minute and spread
   * over every collector, so two of them seldom report one key to one
   * collector within one interval; their root saw a fraction of them (a
   * 44-account fleet's prompt reached its root from 29), and later than the
   * accounts' requests.
   */
  drainDeltas(now: number, shared: (key: string) => boolean, hold: (key: string) => boolean = () => false, pairWithinMs = 0): KeyDelta[] {
    const deltas: KeyDelta[] = [];
    const held = new Map<string, { counts: KeyCounts; accounts: Set<string> }>();
    for (const [key, entry] of this.keys) {
      const { counts, accounts } = entry;
      if (accounts.size < 2 && !shared(key) && !this.pairSingle(key, entry, now, pairWithinMs)) continue;
      if (hold(key)) {
        held.set(key, entry);
        continue;
      }
      const ids = [...accounts];
      const sampled = ids.map((a) => this.histograms.get(a)).filter((h): h is StartHistogram => h !== undefined);
      deltas.push({ key, accounts: ids, counts, synchrony: synchrony(sampled), at: now });
    }
    this.keys = held;
    this.histograms = new Map();
    return deltas;
  }

  /**
   * Whether a key one account reported this interval now has a second account: one that reported it
   * alone within `withinMs`, whose counts and id join `entry`. Otherwise the key waits for one, its
   * counts kept with any the same account reported before.
   */
  private pairSingle(key: string, entry: { counts: KeyCounts; accounts: Set<string> }, now: number, withinMs: number): boolean {
    if (withinMs <= 0) return false;
    const [accountId] = entry.accounts;
    if (accountId === undefined) return false;
    const waiting = this.singles.get(key);
    const fresh = waiting !== undefined && now - waiting.at <= withinMs;
    if (fresh && waiting.accountId !== accountId) {
      this.singles.delete(key);
      mergeCounts(entry.counts, waiting.counts);
      entry.accounts.add(waiting.accountId);
      return true;
    }
    if (fresh) mergeCounts(waiting.counts, entry.counts);
    else this.singles.set(key, { accountId, counts: entry.counts, at: now });
    return false;
  }

  /** Up to `limit` edges to write; hand them back with `written` or `failed`. */
  takeEdges(limit: number): PendingEdge[] {
    const out: PendingEdge[] = [];
    for (const [id, edge] of this.edges) {
      if (out.length >= limit) break;
      out.push(edge);
      this.edges.delete(id);
    }
    return out;
  }

  markWritten(edges: readonly PendingEdge[], now: number): void {
    for (const e of edges) this.written.set(edgeId(e.accountId, e.key), now);
  }

  /** Edges D1 did not take: queued again (they are idempotent upserts). */
  failed(edges: readonly PendingEdge[]): void {
    for (const e of edges) {
      const id = edgeId(e.accountId, e.key);
      if (!this.edges.has(id) && this.edges.size < MAX_PENDING_EDGES) this.edges.set(id, e);
    }
  }
}

/**
 * The accounts that reported each shared key to this collector lately, so that a confirmation reaches
 * every member's account object at once (durable-objects/cluster-collector.ts tellMembers), not at the
 * member's next report or when its isolate next reads a feed. A member that sends rarely has often not
 * reported in the interval that confirmed the key; it is still one of the key's accounts here.
 *
 * Fed from the deltas a flush forwards (keys shared by 2+ accounts, or known to be shared), so an
 * account's own single-account keys cost nothing. In memory: an eviction forgets the members, and the
 * feed and the members' own reports still carry the verdict as before.
 */
// Members remembered per key: a 24,000-account hydra over 16 collectors is 1,500 per collector.
export const MAX_MEMBERS_PER_KEY = MAX_ACCOUNTS_PER_DELTA;
// Memberships remembered in all: ~60 bytes each, so about 6 MB of an object's 128 MB.
const MAX_MEMBERSHIPS = 100_000;

export class MemberIndex {
  /** Key → account → when it last reported the key; both in order of last report (the oldest first). */
  private readonly keys = new Map<string, Map<string, number>>();
  private total = 0;

  get memberships(): number {
    return this.total;
  }

  /** `accounts` reported `key` in the interval flushed at `now`. */
  note(key: string, accounts: readonly string[], now: number): void {
    let members = this.keys.get(key);
    if (members) this.keys.delete(key);
    else members = new Map();
    this.keys.set(key, members);
    for (const account of accounts) {
      if (!members.delete(account)) this.total++;
      members.set(account, now);
    }
    for (const account of members.keys()) {
      if (members.size <= MAX_MEMBERS_PER_KEY) break;
      members.delete(account);
      this.total--;
    }
    // The keys no one has reported for longest go first, whole: a campaign's keys are reported every interval.
    for (const [oldest, dropped] of this.keys) {
      if (this.total <= MAX_MEMBERSHIPS || oldest === key) break;
      this.keys.delete(oldest);
      this.total -= dropped.size;
    }
  }

  /** Whether `account` reported `key` at or after `since`. */
  has(key: string, account: string, since: number): boolean {
    return (this.keys.get(key)?.get(account) ?? -Infinity) >= since;
  }

  /** The accounts that reported `key` at or after `since`. */
  members(key: string, since: number): string[] {
    const out: string[] = [];
    for (const [account, at] of this.keys.get(key) ?? []) if (at >= since) out.push(account);
    return out;
  }

  forget(key: string): void {
    const members = this.keys.get(key);
    if (!members) return;
    this.total -= members.size;
    this.keys.delete(key);
  }
}

/**
 * The confirmed exact prompt keys (`confirmed`) that an account belongs to: those among its report's own
 * keys, and those the member index saw it report since `since`. Holding one means having sent the
 * campaign's exact content, so the account's other keys are partly the campaign's (the campaign_members
 * evidence). `confirmed` is a handful of keys, so this costs a few map lookups per report.
 */
export function campaignKeysOf(
  accountId: string,
  reportKeys: Readonly<Record<string, unknown>>,
  confirmed: ReadonlySet<string>,
  members: MemberIndex,
  since: number,
): Set<string> {
  const out = new Set<string>();
  for (const key of confirmed) if (Object.hasOwn(reportKeys, key) || members.has(key, accountId, since)) out.add(key);
  return out;
}

/**
 * Which members a collector has told of a confirmation lately, and of which keys. A campaign's keys
 * (its TLS and SDK keys, system prompt, wrapper, a new model's keys) are confirmed one by one, at
 * different roll-ups, often at different collectors; telling every member of each one was one call per
 * member per key — a 24,000-account hydra's dozens of keys made the push the objects' largest cost. A
 * member that holds a confirmed verdict is already enforced (the verdict lands on every request of its
 * that matches the signature), so it is told again only once that verdict no longer stands or the
 * window (half a verdict's time-to-live) has passed; the campaign's later keys reach it through the
 * feed, at its next report, as before the push. A campaign's other exact prompt (a second wording) is
 * the exception: the verdicts a member holds land on those requests only if a signature names the
 * prompt, so a member told of none that does is told again — a few calls per member per campaign,
 * one per wording. In memory, bounded like MemberIndex.
 */
export class ToldMembers {
  /** Account → when it was last told and of which keys; in order of telling (the oldest first). */
  private readonly told = new Map<string, { at: number; keys: readonly string[] }>();

  get size(): number {
    return this.told.size;
  }

  /**
   * Whether `account` needs telling now: not told since `since`, or none of what it was told still
   * `stands`, or, given `covers` (for a key whose requests only its own verdict or a signature naming it
   * lands on: a campaign's other wording), none of what it was told `covers` the key.
   */
  needs(account: string, since: number, stands: (key: string) => boolean, covers?: (told: string) => boolean): boolean {
    const last = this.told.get(account);
    if (last === undefined || last.at < since || !last.keys.some(stands)) return true;
    return covers !== undefined && !last.keys.some(covers);
  }

  /** `account` was told of `keys` at `now`; entries told before `since` are forgotten. */
  record(account: string, keys: readonly string[], now: number, since: number): void {
    this.told.delete(account);
    this.told.set(account, { at: now, keys });
    for (const [oldest, { at }] of this.told) {
      if (at >= since && this.told.size <= MAX_MEMBERSHIPS) break;
      this.told.delete(oldest);
    }
  }
}

/**
 * A collector's verdict feed: the keys whose verdict became confirmed, stopped being confirmed, or
 * changed while confirmed (decision time, signature), each stamped with a version that only grows.
 * Every report is answered with the changes after the version the reporter last saw, so any account
 * that reports (honest ones report constantly) carries a campaign's verdict to its account object and
 * from there to the edge's verdict cache, not only the campaign's own members; a member that sends
 * rarely, or a brand-new one, is then enforced on its next request without a report of its own.
 *
 * Versions are epoch ms, made strictly increasing: the collector stores each key's with its verdict
 * row, so they survive a restart and a reporter's version from before it stays comparable. Only
 * changes travel: a reporter that is up to date costs one comparison.
 */

// Changes per report answer, oldest first; a reporter further behind catches up over its next reports.
export const FEED_CHANGES_PER_ANSWER = 64;
// Changes remembered in order; a reporter whose version is older than the oldest kept is answered as one that has seen nothing.
const FEED_LOG = 1_024;

/**
 * Whether a root's new answer is news for the feed. A standing confirmed verdict is announced again once
 * `reannounceMs` after its last announcement (half the verdict time-to-live), so an edge that learned it
 * from the feed keeps it while it stands; a restatement in between moves nothing.
 */
export function feedChange(
  before: { verdict: string; decidedAt: number; signature: string | null; changedAt: number | null } | undefined,
  after: { verdict: string; decidedAt: number; signature: string | null },
  now: number,
  reannounceMs: number,
): boolean {
  const was = before?.verdict === "confirmed";
  const is = after.verdict === "confirmed";
  if (was !== is) return true;
  if (!is || !before) return false;
  return before.decidedAt !== after.decidedAt || before.signature !== after.signature || now - (before.changedAt ?? 0) >= reannounceMs;
}

export class VerdictLog {
  /** Changes in version order; an entry a later change of the same key superseded is skipped when read. */
  private log: Array<{ version: number; key: string }> = [];
  /** Each key's latest change: one per verdict row, so it is as bounded as the rows are. */
  private readonly latest = new Map<string, number>();
  /** Versions at or below this may be missing from `log` (trimmed); a reporter behind it starts over. */
  private floor = 0;
  private top = 0;
  /** The answer to a reporter that has seen nothing, for the version it was built at. */
  private fresh: { version: number; limit: number; keys: string[] } | null = null;

  get version(): number {
    return this.top;
  }

  /** The stored keys' versions, after a restart. */
  restore(rows: Iterable<{ key: string; version: number }>): void {
    for (const { key, version } of rows) {
      this.latest.set(key, version);
      this.log.push({ version, key });
      this.top = Math.max(this.top, version);
    }
    this.log.sort((a, b) => a.version - b.version);
    this.fresh = null;
  }

  /** A change of `key` at `now`; returns its version. */
  record(key: string, now: number): number {
    const version = Math.max(now, this.top + 1);
    this.top = version;
    this.latest.set(key, version);
    this.log.push({ version, key });
    if (this.log.length > 2 * FEED_LOG) {
      const current = this.log.filter((e) => this.latest.get(e.key) === e.version);
      const dropped = current.length - FEED_LOG;
      if (dropped > 0) this.floor = current[dropped - 1]?.version ?? this.floor;
      this.log = dropped > 0 ? current.slice(dropped) : current;
    }
    return version;
  }

  /** The key's row is gone: nothing more to announce about it. */
  forget(key: string): void {
    this.latest.delete(key);
    this.fresh = null;
  }

  /**
   * The keys changed after version `since`, oldest first, at most `limit`, and the version the
   * reporter has then seen (the last one sent when more remain, else the newest). A reporter that has
   * seen nothing (0), or is further behind than the log kept, gets the `limit` latest changes and the
   * newest version: what it must know first is what was confirmed last; an older change past the
   * limit reaches it only through the answers on its own keys.
   */
  since(since: number, limit: number = FEED_CHANGES_PER_ANSWER): { version: number; keys: string[] } {
    if (since >= this.top) return { version: this.top, keys: [] };
    if (since <= 0 || since < this.floor) {
      // Every new account object asks this once; the answer changes only with the feed.
      if (this.fresh?.version !== this.top || this.fresh.limit !== limit) {
        const latest = [...this.latest].sort((a, b) => a[1] - b[1]).slice(-limit);
        this.fresh = { version: this.top, limit, keys: latest.map(([key]) => key) };
      }
      return { version: this.top, keys: [...this.fresh.keys] };
    }
    const entries = this.log.slice(firstAfter(this.log, since)).filter((e) => this.latest.get(e.key) === e.version);
    const taken = entries.slice(0, limit);
    const last = taken.at(-1);
    return { version: taken.length < entries.length && last ? last.version : this.top, keys: taken.map((e) => e.key) };
  }
}

/** Index of the first entry whose version is above `version` (entries ascending). */
function firstAfter(entries: ReadonlyArray<{ version: number }>, version: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((entries[mid]?.version ?? Number.POSITIVE_INFINITY) <= version) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
