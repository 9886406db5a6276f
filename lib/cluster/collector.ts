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

/** 53 bits of a 64-bit hash: a Map key that costs no string, and collisions are negligible at 10^5 entries. */
function edgeId(accountId: string, key: string): number {
  const [hi, lo] = hash64(`${accountId}\u0000${key}`);
  return (hi & 0x1fffff) * 0x100000000 + lo;
}

export class CollectorBuffer {
  private keys = new Map<string, { counts: KeyCounts; accounts: Set<string> }>();
  private histograms = new Map<string, StartHistogram>();
  private edges = new Map<number, PendingEdge>();
  /** Edge id → when it was last written; the edge written longest ago is the one to forget. */
  private readonly written = new BoundedMap<number, number>(MAX_WRITTEN_EDGES);

  get hasKeys(): boolean {
    return this.keys.size > 0;
  }

  get pendingEdges(): number {
    return this.edges.size;
  }

  add(report: AccountReport, now: number): void {
    for (const [key, counts] of Object.entries(report.keys)) {
      let entry = this.keys.get(key);
      if (!entry) {
        if (this.keys.size >= MAX_KEYS) continue;
        entry = { counts: emptyCounts(), accounts: new Set() };
        this.keys.set(key, entry);
      }
      mergeCounts(entry.counts, counts);
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

  /**
   * The deltas for the roots, and an empty key buffer behind them. A key one
   * account uses alone is dropped (`shared` says whether a root already knows
   * it as shared): only multi-account keys cost a root call. A key `hold`
   * names stays, counts and accounts, and joins the next drain's delta.
   */
  drainDeltas(now: number, shared: (key: string) => boolean, hold: (key: string) => boolean = () => false): KeyDelta[] {
    const deltas: KeyDelta[] = [];
    const held = new Map<string, { counts: KeyCounts; accounts: Set<string> }>();
    for (const [key, entry] of this.keys) {
      const { counts, accounts } = entry;
      if (accounts.size < 2 && !shared(key)) continue;
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
