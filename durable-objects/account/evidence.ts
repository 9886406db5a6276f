/**
 * What the account has shown: risk signals with their decay state, the fingerprint keys it used, and
 * the countries and network prefixes it came from within the day window. Every collection a client
 * can grow is a BoundedMap whose evictions delete the same rows.
 *
 * A known fingerprint key's count is written behind: a busy account's dozen keys would otherwise cost
 * a dozen row writes per request. Counts wait in memory for at most WRITE_BEHIND_DELAY_MS, then the
 * alarm writes every key counted meanwhile in one statement per 25 keys: each key's row at most twice a
 * minute, and every count stored well before an idle object can be evicted (after a minute or more).
 */
import { WRITE_BEHIND_DELAY_MS } from "../../lib/account-alarm.ts";
import { BoundedMap } from "../../lib/bounded-map.ts";
import type { AdmitFingerprint } from "../../lib/decision.ts";
import { RISK_SIGNALS, type Policy, type RiskSignal } from "../../lib/policy/index.ts";
import { decayedPoints, isSpent, riskScore, type SignalState } from "../../lib/quota/index.ts";
import { insertRows, num, str, type SqlValue } from "./rows.ts";

// 256 keys: far more than one honest client shows, small enough that a rotating proxy pool cannot grow storage.
const FINGERPRINT_CAP = 256;
// Keys looked at per request: fingerprinting emits a handful; a bound keeps a malformed list from costing writes.
// Far below FINGERPRINT_CAP, so a request's own new keys never evict each other before they are written.
const FINGERPRINT_KEYS_PER_REQUEST = 32;
// Places per kind per day: wander thresholds are single or double digits, so 256 distinct is already "everywhere".
const PLACE_CAP = 256;

export type Fingerprint = { key: string; firstSeen: number; lastSeen: number; count: number };
type PlaceKind = "country" | "prefix";
type Place = { lastSeen: number; expiresAt: number };

function isRiskSignal(value: string): value is RiskSignal {
  return (RISK_SIGNALS as readonly string[]).includes(value);
}

export class EvidenceStore {
  private signals = new Map<RiskSignal, SignalState>();
  /** Recency order: a key seen again becomes the newest, so the least recent is evicted. */
  private readonly fingerprints: BoundedMap<string, Fingerprint>;
  /** Keys whose stored row is behind their count in memory, and since when the oldest of them is. */
  private readonly unwritten = new Set<string>();
  private unwrittenSince: number | null = null;
  private readonly places: Record<PlaceKind, BoundedMap<string, Place>>;

  constructor(private readonly sql: SqlStorage) {
    this.fingerprints = new BoundedMap(FINGERPRINT_CAP, (key) => {
      this.unwritten.delete(key);
      this.sql.exec(`DELETE FROM fingerprints WHERE key = ?`, key);
    });
    const places = (kind: PlaceKind) =>
      new BoundedMap<string, Place>(PLACE_CAP, (value) => this.sql.exec(`DELETE FROM places WHERE kind = ? AND value = ?`, kind, value));
    this.places = { country: places("country"), prefix: places("prefix") };
  }

  load(): void {
    this.signals = new Map();
    for (const r of this.sql.exec(`SELECT * FROM risk_signals`)) {
      const signal = str(r.signal);
      if (!isRiskSignal(signal)) continue;
      this.signals.set(signal, { signal, points: num(r.points), updatedAt: num(r.updated_at), lastAt: num(r.last_at), count: num(r.count) });
    }
    this.fingerprints.clear();
    this.unwritten.clear();
    this.unwrittenSince = null;
    for (const r of this.sql.exec(`SELECT * FROM fingerprints ORDER BY last_seen`)) {
      const key = str(r.key);
      this.fingerprints.set(key, { key, firstSeen: num(r.first_seen), lastSeen: num(r.last_seen), count: num(r.count) });
    }
    for (const map of Object.values(this.places)) map.clear();
    for (const r of this.sql.exec(`SELECT * FROM places ORDER BY last_seen`)) {
      const kind = str(r.kind);
      if (kind !== "country" && kind !== "prefix") continue;
      this.places[kind].set(str(r.value), { lastSeen: num(r.last_seen), expiresAt: num(r.expires_at) });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Risk signals

  signalStates(): ReadonlyMap<RiskSignal, SignalState> {
    return this.signals;
  }

  writeSignals(changed: readonly SignalState[]): void {
    for (const s of changed) this.signals.set(s.signal, s);
    insertRows(
      this.sql,
      `INSERT INTO risk_signals (signal, points, updated_at, last_at, count)`,
      `ON CONFLICT (signal) DO UPDATE SET points = excluded.points, updated_at = excluded.updated_at,
         last_at = excluded.last_at, count = excluded.count`,
      changed.map((s) => [s.signal, s.points, s.updatedAt, s.lastAt, s.count]),
    );
  }

  /** The decayed score and each signal's share of it, for the operator's view. */
  risk(now: number, halfLifeMs: number): { score: number; reasons: Array<{ signal: RiskSignal; points: number; lastAt: number; count: number }> } {
    return {
      score: Math.round(riskScore(this.signals.values(), now, halfLifeMs) * 10) / 10,
      reasons: [...this.signals.values()]
        .map((s) => ({ signal: s.signal, points: Math.round(decayedPoints(s, now, halfLifeMs) * 10) / 10, lastAt: s.lastAt, count: s.count }))
        .sort((a, b) => b.points - a.points),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Fingerprint keys

  /** Counts this request's keys; a new key's row is written at once, a known key's by `writeFingerprints`. */
  trackFingerprints(keys: readonly string[], now: number): void {
    const fresh: SqlValue[][] = [];
    for (const key of new Set(keys.slice(0, FINGERPRINT_KEYS_PER_REQUEST))) {
      const prev = this.fingerprints.get(key);
      if (prev) {
        this.fingerprints.set(key, { ...prev, lastSeen: now, count: prev.count + 1 });
        this.unwritten.add(key);
        this.unwrittenSince ??= now;
      } else {
        this.fingerprints.set(key, { key, firstSeen: now, lastSeen: now, count: 1 });
        fresh.push([key, now, now, 1]);
      }
    }
    this.upsertFingerprints(fresh);
  }

  /** When the counts written behind are due in storage; null when every row is up to date. */
  fingerprintsDueAt(): number | null {
    return this.unwrittenSince === null ? null : this.unwrittenSince + WRITE_BEHIND_DELAY_MS;
  }

  /** Brings every stored fingerprint row up to its count in memory (the alarm, once what is written behind is due). */
  writeFingerprints(): void {
    if (this.unwrittenSince === null) return;
    this.unwrittenSince = null;
    const rows: SqlValue[][] = [];
    for (const key of this.unwritten) {
      const fp = this.fingerprints.get(key);
      if (fp) rows.push([fp.key, fp.firstSeen, fp.lastSeen, fp.count]);
    }
    this.unwritten.clear();
    this.upsertFingerprints(rows);
  }

  /** Most recent first. */
  fingerprintList(): Fingerprint[] {
    return [...this.fingerprints.values()].reverse();
  }

  private upsertFingerprints(rows: SqlValue[][]): void {
    insertRows(
      this.sql,
      `INSERT INTO fingerprints (key, first_seen, last_seen, count)`,
      `ON CONFLICT (key) DO UPDATE SET last_seen = excluded.last_seen, count = excluded.count`,
      rows,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Places

  /**
   * Records this request's country and network prefix; returns how many distinct ones the day window
   * holds. "Seen within the day" needs no finer time than one bucket (`refreshEveryMs`): a place's row
   * is rewritten at most once a bucket.
   */
  trackPlaces(fingerprint: AdmitFingerprint, now: number, dayMs: number, refreshEveryMs: number): { countries: number; prefixes: number } {
    const country = fingerprint.country;
    // XX (unknown) is the absence of a place, not a place; T1 (Tor) counts, as it is a way of hiding one.
    if (country && country !== "XX") this.touchPlace("country", country, now, dayMs, refreshEveryMs);
    if (fingerprint.prefix) this.touchPlace("prefix", fingerprint.prefix, now, dayMs, refreshEveryMs);
    const distinct = (kind: PlaceKind) => {
      let n = 0;
      for (const p of this.places[kind].values()) if (p.lastSeen > now - dayMs) n++;
      return n;
    };
    return { countries: distinct("country"), prefixes: distinct("prefix") };
  }

  private touchPlace(kind: PlaceKind, value: string, now: number, dayMs: number, refreshEveryMs: number): void {
    const prev = this.places[kind].get(value);
    if (prev && now - prev.lastSeen < refreshEveryMs && prev.expiresAt > now) {
      this.places[kind].set(value, prev);
      return;
    }
    const place = { lastSeen: now, expiresAt: now + dayMs };
    this.places[kind].set(value, place);
    this.sql.exec(
      `INSERT INTO places (kind, value, last_seen, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, value) DO UPDATE SET last_seen = excluded.last_seen, expires_at = excluded.expires_at`,
      kind, value, place.lastSeen, place.expiresAt,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Housekeeping

  /** Drops places that left the day; with the account's policy known, also signals that have decayed away. */
  prune(now: number, policy: Policy | null): void {
    for (const kind of ["country", "prefix"] as const) {
      const map = this.places[kind];
      let any = false;
      for (const [value, p] of [...map]) {
        if (p.expiresAt <= now) {
          map.delete(value);
          any = true;
        }
      }
      if (any) this.sql.exec(`DELETE FROM places WHERE kind = ? AND expires_at <= ?`, kind, now);
    }
    if (!policy) return;
    for (const s of [...this.signals.values()]) {
      if (isSpent(s, now, policy.risk)) {
        this.signals.delete(s.signal);
        this.sql.exec(`DELETE FROM risk_signals WHERE signal = ?`, s.signal);
      }
    }
  }

  /** When the last place leaves the day (-Infinity when there is none). */
  lastExpiry(): number {
    let last = Number.NEGATIVE_INFINITY;
    for (const map of Object.values(this.places)) for (const p of map.values()) last = Math.max(last, p.expiresAt);
    return last;
  }
}
