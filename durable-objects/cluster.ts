/**
 * ClusterDO — the per-cluster counters, in two roles so no object is hot:
 *
 *   collector  `cluster:collector#n` (n = hash(account) mod shards). Account
 *              objects report to ONE collector per report interval, whatever
 *              the number of keys; the collector merges per key and, on its own
 *              alarm, forwards one delta per multi-account key to the key's root
 *              and writes the account↔fingerprint edges, and the audit rows and
 *              decision counts the accounts handed over, to D1 in batches.
 *   root       `cluster:<key>#root`. Receives at most one call per collector per
 *              interval (≤ shards calls), however many accounts share the key;
 *              holds the HyperLogLog, window rates, synchrony, template and model
 *              counts, and the verdict. Snapshots go to D1 for operators.
 *
 * Verdicts flow back the same way: root → collector (the rollup answer) →
 * account (the report answer). Staleness is bounded by two report intervals.
 */
import { DurableObject } from "cloudflare:workers";
import { HyperLogLog } from "../lib/cluster/hll.ts";
import { CollectorBuffer, CONFIRMED_FORWARD_INTERVALS } from "../lib/cluster/collector.ts";
import type { AccountReport, AuditHandoff } from "../lib/cluster/report.ts";
import {
  blendSynchrony,
  bucketStart,
  detectPivot,
  emptyCounts,
  mergeCounts,
  metricsFrom,
  slidingValue,
  type KeyDelta,
} from "../lib/cluster/rollup.ts";
import { judgeKey, keyKind, parseSignature, type KeyMetrics, type Verdict } from "../lib/cluster/verdict.ts";
import type { CachedVerdict } from "../lib/decision.ts";
import { insertRows } from "../lib/d1-rows.ts";
import { clusterRootName } from "../lib/names.ts";
import { PolicyFromText, policyText, type Policy } from "../lib/policy.ts";

const SCHEMA_VERSION = 4;
// Roots called in parallel by one collector flush: bounded fan-out.
const ROLLUP_PARALLELISM = 16;
// A root's counters (roll-up count, HyperLogLog, synchrony, window buckets) reach storage at most this
// often, or when its verdict changes; an alarm writes what a burst of roll-ups left behind.
const ROOT_PERSIST_MS = 5_000;
// A root writes its snapshot to D1 at most this often unless the verdict changes.
const SNAPSHOT_INTERVAL_MS = 60_000;
// A key the root has seen on 2+ accounts stays "tracked" this long, so single-account deltas still reach it.
const TRACK_MS = 6 * 3_600_000;
// Audit rows per D1 batch, and batches per flush (the rest wait one interval).
const AUDIT_BATCH = 500;
const AUDIT_ROUNDS_PER_FLUSH = 10;
// A collector rewrites a verdict row whose answer only restated it (fresher answered_at and tracked_until)
// at most this often: every root answers every interval, and the row is only read back after a restart.
const VERDICT_ROW_REWRITE_MS = 60_000;
// Fingerprint edges per collector flush (one D1 statement per 500 of them); the rest wait one interval.
const EDGES_PER_FLUSH = 5_000;

export type RootAnswer = {
  verdict: Verdict;
  reasons: string[];
  capPerWindow: number | null;
  signature: { bands: string[]; eliciting: boolean };
  decidedAt: number;
  /** When the root gave this answer: a standing verdict stays fresh as long as the root keeps restating it. */
  answeredAt: number;
  accounts: number;
};

export type RootState = {
  key: string | null;
  accounts: number;
  metrics: KeyMetrics | null;
  verdict: Verdict;
  reasons: string[];
  decidedAt: number;
  rollups: number;
};

type SqlValue = string | number | null | ArrayBuffer;

type VerdictRow = {
  fp_key: string;
  verdict: Verdict;
  cap: number | null;
  reasons: string;
  decided_at: number;
  tracked_until: number;
  signature: string | null;
  /** Null in rows written before version 4: then decided_at stands in. */
  answered_at: number | null;
};

export class ClusterDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private hll: HyperLogLog | null = null;
  /**
   * Storage read once per instance and written through: a root answers every collector every
   * interval, and re-reading its meta and buckets for each answer cost more than the answer.
   */
  private metaCache: Map<string, SqlValue> | null = null;
  private bucketCache: Map<number, KeyDelta["counts"]> | null = null;
  private modelsCache: Map<string, number> | null = null;
  /**
   * Written behind: the 16 collectors' roll-ups of one interval arrive together, and writing the
   * 4 KB HyperLogLog and the bucket for each of them cost more than the rest of the roll-up.
   */
  private readonly unwritten = { meta: new Set<string>(), buckets: new Set<number>(), expiredBefore: null as number | null };
  private rootWrittenAt = 0;
  private rootAlarmSet = false;
  // Collector role: the interval's sample lives in memory (see lib/cluster/collector.ts).
  private readonly buffer = new CollectorBuffer();
  private verdictCache: Map<string, VerdictRow> | null = null;
  /** When each verdict row was last written (this instance): a restatement waits VERDICT_ROW_REWRITE_MS. */
  private readonly verdictWrittenAt = new Map<string, number>();
  /** When each key's delta last went to its root (this instance). */
  private readonly forwardedAt = new Map<string, number>();
  private policyText: string | null = null;
  private readonly policies = new PolicyFromText();
  /** An alarm is set (as far as this instance knows): a report then costs no storage call. */
  private flushScheduled = false;
  /** Audit rows or counts wait for D1; null until read from storage. */
  private auditPending: boolean | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    let initError: unknown = null;
    void ctx.blockConcurrencyWhile(async () => {
      try {
        this.migrate();
      } catch (err) {
        initError = err;
      }
    });
    if (initError) throw initError;
  }

  private migrate(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`);
    const row = this.sql.exec<{ version: number }>(`SELECT version FROM schema_version LIMIT 1`).toArray()[0];
    const version = row?.version ?? 0;
    if (version >= SCHEMA_VERSION) return;
    if (version < 1) {
      this.sql.exec(`
        CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v);
        -- collector role: verdicts its keys' roots answered
        CREATE TABLE IF NOT EXISTS verdicts (fp_key TEXT PRIMARY KEY, verdict TEXT NOT NULL, cap REAL, reasons TEXT NOT NULL,
          decided_at INTEGER NOT NULL, tracked_until INTEGER NOT NULL, signature TEXT);
        -- root role
        CREATE TABLE IF NOT EXISTS buckets (start INTEGER PRIMARY KEY, counts TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS models_first_seen (model TEXT PRIMARY KEY, first_seen INTEGER NOT NULL);
      `);
    }
    if (version < 3) {
      // Audit rows and decision counts handed over by account objects, until D1 has them.
      this.sql.exec(`
        CREATE TABLE IF NOT EXISTS audit_pending (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,
          request_id TEXT, account_id TEXT NOT NULL, action TEXT, enforced INTEGER, reasons TEXT, risk REAL, country TEXT,
          cluster TEXT, detail TEXT);
        CREATE TABLE IF NOT EXISTS counts_pending (minute INTEGER NOT NULL, action TEXT NOT NULL, enforced INTEGER NOT NULL,
          count INTEGER NOT NULL, PRIMARY KEY (minute, action, enforced));
      `);
    }
    if (version < 4) {
      // When a root last restated a verdict: a standing verdict must not age out while the root keeps confirming it.
      this.sql.exec(`ALTER TABLE verdicts ADD COLUMN answered_at INTEGER`);
    }
    if (version === 1) {
      // Version 1 kept the collector's interval sample in tables; it now lives in memory.
      this.sql.exec(`
        DROP TABLE IF EXISTS pending_keys;
        DROP TABLE IF EXISTS pending_accounts;
        DROP TABLE IF EXISTS pending_histograms;
        DROP TABLE IF EXISTS pending_edges;
      `);
    }
    this.sql.exec(`DELETE FROM schema_version`);
    this.sql.exec(`INSERT INTO schema_version (version) VALUES (?)`, SCHEMA_VERSION);
  }

  private meta(): Map<string, SqlValue> {
    this.metaCache ??= new Map(this.sql.exec<{ k: string; v: SqlValue }>(`SELECT k, v FROM meta`).toArray().map((r) => [r.k, r.v]));
    return this.metaCache;
  }

  private getMeta<T extends SqlValue>(k: string): T | null {
    return (this.meta().get(k) as T | undefined) ?? null;
  }

  /** Writes only a changed value (a blob always counts as changed). */
  private setMeta(k: string, v: SqlValue): void {
    const meta = this.meta();
    if (meta.has(k) && meta.get(k) === v && !(v instanceof ArrayBuffer)) return;
    meta.set(k, v);
    this.storeMeta(k, v);
  }

  private storeMeta(k: string, v: SqlValue): void {
    this.sql.exec(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v);
  }

  /** The root's window buckets, by start. */
  private buckets(): Map<number, KeyDelta["counts"]> {
    this.bucketCache ??= new Map(
      this.sql
        .exec<{ start: number; counts: string }>(`SELECT start, counts FROM buckets`)
        .toArray()
        .map((r) => [r.start, JSON.parse(r.counts) as KeyDelta["counts"]]),
    );
    return this.bucketCache;
  }

  /** When each model was first seen on this key. */
  private modelsFirstSeen(): Map<string, number> {
    this.modelsCache ??= new Map(
      this.sql.exec<{ model: string; first_seen: number }>(`SELECT model, first_seen FROM models_first_seen`).toArray().map((r) => [r.model, r.first_seen]),
    );
    return this.modelsCache;
  }

  private async scheduleFlush(delayMs: number): Promise<void> {
    if (this.flushScheduled) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null) await this.ctx.storage.setAlarm(Date.now() + delayMs);
    this.flushScheduled = true;
  }

  // ───────────────────────────── collector role ─────────────────────────────

  /** The verdict rows, read once per instance and written through. */
  private verdictRows(): Map<string, VerdictRow> {
    if (!this.verdictCache) {
      this.verdictCache = new Map(
        this.sql
          .exec<VerdictRow>(`SELECT fp_key, verdict, cap, reasons, decided_at, tracked_until, signature, answered_at FROM verdicts`)
          .toArray()
          .map((r) => [r.fp_key, { ...r }]),
      );
    }
    return this.verdictCache;
  }

  /** The policy the latest report brought; kept in storage only when it changes, for the alarm after a restart. */
  private rememberPolicy(text: string): void {
    if (text === this.policyText) return;
    this.policyText = text;
    this.setMeta("policy", text);
  }

  private currentPolicy(): Policy | null {
    this.policyText ??= this.getMeta<string>("policy");
    return this.policyText ? this.policies.read(this.policyText) : null;
  }

  /**
   * One account's batch since its last report. Answers with the verdicts this
   * collector holds for the account's keys (as fresh as the last flush).
   */
  async report(report: AccountReport | null, policyJson: string, audit?: AuditHandoff): Promise<CachedVerdict[]> {
    const now = Date.now();
    const policy = this.policies.read(policyJson);
    this.rememberPolicy(policyJson);
    if (report) this.buffer.add(report, now);
    if (audit) this.storeAudit(audit);
    await this.scheduleFlush(policy.clusters.reportIntervalSeconds * 1000);
    return report ? this.cachedVerdicts(Object.keys(report.keys), now) : [];
  }

  /** Stored before the call returns: the account object deletes its copy once this answers. */
  private storeAudit(audit: AuditHandoff): void {
    if (audit.rows.length > 0) {
      this.sql.exec(
        `INSERT INTO audit_pending (at, kind, request_id, account_id, action, enforced, reasons, risk, country, cluster, detail)
         SELECT r.value ->> 'at', r.value ->> 'kind', r.value ->> 'requestId', ?, r.value ->> 'action', r.value ->> 'enforced',
           r.value ->> 'reasons', r.value ->> 'risk', r.value ->> 'country', r.value ->> 'cluster', r.value ->> 'detail'
         FROM json_each(?) r`,
        audit.accountId, JSON.stringify(audit.rows),
      );
    }
    for (const c of audit.counts) {
      this.sql.exec(
        `INSERT INTO counts_pending (minute, action, enforced, count) VALUES (?, ?, ?, ?)
         ON CONFLICT (minute, action, enforced) DO UPDATE SET count = count + excluded.count`,
        c.minute, c.action, c.enforced, c.count,
      );
    }
    this.auditPending = true;
  }

  private auditWaiting(): boolean {
    return this.sql.exec<{ n: number }>(`SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM counts_pending) AS n`).one().n > 0;
  }

  /** Audit rows and counts of every account this collector hears from, to D1 in batches of AUDIT_BATCH. */
  private async flushAudit(): Promise<void> {
    for (let round = 0; round < AUDIT_ROUNDS_PER_FLUSH; round++) {
      const rows = this.sql
        .exec<{ id: number; at: number; kind: string; request_id: string | null; account_id: string; action: string | null; enforced: number | null;
          reasons: string | null; risk: number | null; country: string | null; cluster: string | null; detail: string | null }>(
          `SELECT * FROM audit_pending ORDER BY id LIMIT ?`, AUDIT_BATCH,
        )
        .toArray();
      const counts = this.sql.exec<{ minute: number; action: string; enforced: number; count: number }>(`SELECT * FROM counts_pending`).toArray();
      if (rows.length === 0 && counts.length === 0) {
        this.auditPending = false;
        return;
      }
      const addCount = this.env.DB.prepare(
        `INSERT INTO decision_counts (minute, action, enforced, count) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (minute, action, enforced) DO UPDATE SET count = count + excluded.count`,
      );
      const statements = [
        ...insertRows(
          this.env.DB,
          "audit_log",
          ["at", "kind", "request_id", "account_id", "action", "enforced", "reasons", "risk", "country", "cluster", "detail"],
          rows.map((r) => [new Date(r.at).toISOString(), r.kind, r.request_id, r.account_id, r.action, r.enforced, r.reasons, r.risk, r.country, r.cluster, r.detail]),
        ),
        ...counts.map((c) => addCount.bind(c.minute, c.action, c.enforced, c.count)),
      ];
      try {
        await this.env.DB.batch(statements);
      } catch (err) {
        // Kept for the next flush: nothing is deleted until D1 has it.
        console.error(JSON.stringify({ msg: "audit batch failed; will retry", rows: rows.length, error: String(err) }));
        return;
      }
      // Rows and counts that arrived while the batch was in flight stay for the next round.
      const lastId = rows.at(-1)?.id;
      if (lastId !== undefined) this.sql.exec(`DELETE FROM audit_pending WHERE id <= ?`, lastId);
      for (const c of counts) {
        this.sql.exec(`UPDATE counts_pending SET count = count - ? WHERE minute = ? AND action = ? AND enforced = ?`, c.count, c.minute, c.action, c.enforced);
      }
      this.sql.exec(`DELETE FROM counts_pending WHERE count <= 0`);
      if (rows.length < AUDIT_BATCH) {
        this.auditPending = this.auditWaiting();
        return;
      }
    }
  }

  private cachedVerdicts(keys: string[], now: number): CachedVerdict[] {
    const rows = this.verdictRows();
    const out: CachedVerdict[] = [];
    for (const key of keys) {
      const row = rows.get(key);
      const answeredAt = row?.answered_at ?? row?.decided_at ?? 0;
      if (row && row.verdict !== "none" && now - answeredAt < TRACK_MS) {
        out.push({
          cluster: key,
          verdict: row.verdict,
          capPerWindow: row.cap,
          reasons: row.reasons.split(",").filter(Boolean),
          decidedAt: row.decided_at,
          refreshedAt: answeredAt,
          // A row without a (readable) signature matches nothing by content.
          signature: parseSignature(row.signature) ?? { bands: [], eliciting: false },
        });
      }
    }
    return out;
  }

  /** Forward deltas to roots and edges to D1. Called by the alarm. */
  private async flushCollector(now: number): Promise<boolean> {
    const policy = this.currentPolicy();
    if (!policy) return false;
    this.auditPending ??= this.auditWaiting();
    if (this.auditPending) await this.flushAudit();
    if (!this.buffer.hasKeys && this.buffer.pendingEdges === 0) return this.auditPending;
    const rows = this.verdictRows();
    // A key a root already knows to be shared keeps reaching it even from one account here.
    const holdMs = CONFIRMED_FORWARD_INTERVALS * policy.clusters.reportIntervalSeconds * 1000;
    const deltas = this.buffer.drainDeltas(
      now,
      (key) => (rows.get(key)?.tracked_until ?? 0) > now,
      (key) => rows.get(key)?.verdict === "confirmed" && now - (this.forwardedAt.get(key) ?? 0) < holdMs,
    );
    for (const delta of deltas) this.forwardedAt.set(delta.key, now);

    const policyJson = policyText(policy);
    for (let i = 0; i < deltas.length; i += ROLLUP_PARALLELISM) {
      const chunk = deltas.slice(i, i + ROLLUP_PARALLELISM);
      const answers = await Promise.allSettled(
        chunk.map((delta) => this.env.CLUSTERS.getByName(clusterRootName(delta.key)).rollup(delta, policyJson)),
      );
      answers.forEach((answer, j) => {
        const delta = chunk[j];
        if (!delta) return;
        if (answer.status === "rejected") {
          console.error(JSON.stringify({ msg: "cluster rollup failed", key: delta.key, error: String(answer.reason) }));
          return;
        }
        const a = answer.value;
        const row: VerdictRow = {
          fp_key: delta.key,
          verdict: a.verdict,
          cap: a.capPerWindow,
          reasons: a.reasons.join(","),
          decided_at: a.decidedAt,
          tracked_until: a.accounts >= 2 ? now + TRACK_MS : 0,
          signature: JSON.stringify(a.signature),
          answered_at: a.answeredAt,
        };
        const before = rows.get(delta.key);
        rows.set(delta.key, row);
        const restated =
          before !== undefined &&
          before.verdict === row.verdict && before.cap === row.cap && before.reasons === row.reasons &&
          before.decided_at === row.decided_at && before.signature === row.signature && (before.tracked_until > 0) === (row.tracked_until > 0);
        if (restated && now - (this.verdictWrittenAt.get(delta.key) ?? 0) < VERDICT_ROW_REWRITE_MS) return;
        this.verdictWrittenAt.set(delta.key, now);
        this.sql.exec(
          `INSERT INTO verdicts (fp_key, verdict, cap, reasons, decided_at, tracked_until, signature, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (fp_key) DO UPDATE SET verdict = excluded.verdict, cap = excluded.cap, reasons = excluded.reasons,
             decided_at = excluded.decided_at, tracked_until = excluded.tracked_until, signature = excluded.signature,
             answered_at = excluded.answered_at`,
          row.fp_key, row.verdict, row.cap, row.reasons, row.decided_at, row.tracked_until, row.signature, row.answered_at,
        );
      });
    }
    for (const [key, row] of rows) {
      if (row.tracked_until < now && (row.answered_at ?? row.decided_at) < now - TRACK_MS) {
        rows.delete(key);
        this.verdictWrittenAt.delete(key);
        this.forwardedAt.delete(key);
        this.sql.exec(`DELETE FROM verdicts WHERE fp_key = ?`, key);
      }
    }
    await this.flushEdges(now);
    return true;
  }

  private async flushEdges(now: number): Promise<void> {
    const edges = this.buffer.takeEdges(EDGES_PER_FLUSH);
    if (edges.length === 0) return;
    const statements = insertRows(
      this.env.DB,
      "account_fingerprints",
      ["account_id", "fp_key", "kind", "first_seen", "last_seen"],
      edges.map((e) => [e.accountId, e.key, keyKind(e.key), e.firstSeen, e.lastSeen]),
      "ON CONFLICT (account_id, fp_key) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
    );
    try {
      await this.env.DB.batch(statements);
      this.buffer.markWritten(edges, now);
    } catch (err) {
      // Kept for the next flush: edges are idempotent upserts.
      this.buffer.failed(edges);
      console.error(JSON.stringify({ msg: "edge batch failed", edges: edges.length, error: String(err) }));
    }
  }

  // ─────────────────────────────── root role ────────────────────────────────

  /** One collector's delta for this key; answers with the key's current verdict. */
  async rollup(delta: KeyDelta, policyJson: string): Promise<RootAnswer> {
    const policy = this.policies.read(policyJson);
    const now = delta.at > 0 ? Math.min(delta.at, Date.now()) : Date.now();
    const windowMs = policy.limits.windowSeconds * 1000;
    if (this.getMeta<string>("key") === null) {
      this.setMeta("key", delta.key);
      this.setMeta("first_seen", now);
    }
    this.deferMeta("rollups", (this.getMeta<number>("rollups") ?? 0) + 1);

    const hll = this.loadHll();
    let changed = false;
    for (const account of delta.accounts) changed = hll.add(account) || changed;
    if (changed) this.unwritten.meta.add("hll");

    const start = bucketStart(now, windowMs);
    const buckets = this.buckets();
    const counts = buckets.get(start) ?? emptyCounts();
    buckets.set(start, counts);
    mergeCounts(counts, delta.counts);
    this.unwritten.buckets.add(start);
    for (const s of buckets.keys()) {
      if (s < start - windowMs) {
        buckets.delete(s);
        this.unwritten.buckets.delete(s);
        this.unwritten.expiredBefore = Math.max(this.unwritten.expiredBefore ?? 0, start - windowMs);
      }
    }
    const models = this.modelsFirstSeen();
    for (const model of Object.keys(delta.counts.models)) {
      if (models.has(model)) continue;
      models.set(model, now);
      this.sql.exec(`INSERT OR IGNORE INTO models_first_seen (model, first_seen) VALUES (?, ?)`, model, now);
    }

    const sync = blendSynchrony(
      { value: this.getMeta<number>("sync_value") ?? 0, weight: this.getMeta<number>("sync_weight") ?? 0 },
      delta.synchrony,
    );
    this.deferMeta("sync_value", sync.value);
    this.deferMeta("sync_weight", sync.weight);

    const key = delta.key;
    const metrics = this.metrics(key, now, windowMs, policy, hll);
    const result = judgeKey(key, metrics, policy);
    const previous = this.getMeta<string>("verdict");
    this.setMeta("verdict", result.verdict);
    this.setMeta("reasons", result.reasons.join(","));
    if (previous !== result.verdict) this.setMeta("decided_at", now);
    const decidedAt = this.getMeta<number>("decided_at") ?? now;

    this.writeRootWhenDue(previous !== result.verdict);

    const lastSnapshot = this.getMeta<number>("snapshot_at") ?? 0;
    if (previous !== result.verdict || now - lastSnapshot >= SNAPSHOT_INTERVAL_MS) {
      this.setMeta("snapshot_at", now);
      await this.writeSnapshot(key, metrics, result, policy, counts, now);
    }
    return { ...result, decidedAt, answeredAt: now, accounts: metrics.accounts };
  }

  /** A counter's new value, in memory now and in storage with the next writeRoot. */
  private deferMeta(k: string, v: SqlValue): void {
    this.meta().set(k, v);
    this.unwritten.meta.add(k);
  }

  /** Writes the root's counters now if the last write is ROOT_PERSIST_MS old (or `force`), else sets an alarm for it. */
  private writeRootWhenDue(force: boolean): void {
    const wall = Date.now();
    if (force || wall - this.rootWrittenAt >= ROOT_PERSIST_MS) {
      this.writeRoot();
      return;
    }
    if (this.rootAlarmSet) return;
    this.rootAlarmSet = true;
    this.ctx.waitUntil(this.ctx.storage.setAlarm(this.rootWrittenAt + ROOT_PERSIST_MS));
  }

  private writeRoot(): void {
    const { meta, buckets, expiredBefore } = this.unwritten;
    if (meta.size === 0 && buckets.size === 0 && expiredBefore === null) return;
    for (const k of meta) {
      this.storeMeta(k, k === "hll" ? (this.loadHll().registers.buffer.slice(0) as ArrayBuffer) : (this.meta().get(k) ?? null));
    }
    const cache = this.buckets();
    for (const start of buckets) {
      const counts = cache.get(start);
      if (!counts) continue;
      this.sql.exec(`INSERT INTO buckets (start, counts) VALUES (?, ?) ON CONFLICT (start) DO UPDATE SET counts = excluded.counts`, start, JSON.stringify(counts));
    }
    if (expiredBefore !== null) this.sql.exec(`DELETE FROM buckets WHERE start < ?`, expiredBefore);
    meta.clear();
    buckets.clear();
    this.unwritten.expiredBefore = null;
    this.rootWrittenAt = Date.now();
  }

  private loadHll(): HyperLogLog {
    if (!this.hll) {
      const stored = this.getMeta<ArrayBuffer>("hll");
      this.hll = new HyperLogLog(stored ? new Uint8Array(stored) : undefined);
    }
    return this.hll;
  }

  private metrics(key: string, now: number, windowMs: number, policy: Policy, hll: HyperLogLog): KeyMetrics {
    const start = bucketStart(now, windowMs);
    // Current bucket first, as the band and model limits let the current one win.
    const both = emptyCounts();
    const buckets = this.buckets();
    const current = buckets.get(start);
    if (current) mergeCounts(both, current);
    let previousRequests = 0;
    for (const [s, counts] of buckets) {
      if (s >= start - windowMs && s !== start) {
        mergeCounts(both, counts);
        previousRequests += counts.requests;
      }
    }
    const firstSeen = this.modelsFirstSeen();
    return metricsFrom({
      key,
      accounts: hll.estimate(),
      requestsPerWindow: slidingValue(current?.requests ?? 0, previousRequests, now, windowMs),
      windowCounts: both,
      synchrony: this.getMeta<number>("sync_value") ?? 0,
      pivotModel: detectPivot(both.models, firstSeen, this.getMeta<number>("first_seen") ?? now, now, policy.limits.dayWindowSeconds * 1000),
    });
  }

  private async writeSnapshot(
    key: string,
    m: KeyMetrics,
    { verdict, reasons, signature }: Pick<RootAnswer, "verdict" | "reasons" | "signature">,
    policy: Policy,
    counts: KeyDelta["counts"],
    now: number,
  ): Promise<void> {
    const topModel = Object.entries(counts.models).sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    const windowTokens = counts.inputTokens + counts.outputTokens;
    try {
      await this.env.DB.prepare(
        `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
           elicitation_share, top_model, verdict, reasons, allowlisted, updated_at, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (fp_key) DO UPDATE SET accounts = ?3, requests_per_window = ?4, tokens_per_window = ?5, synchrony = ?6,
           template_share = ?7, elicitation_share = ?8, top_model = ?9, verdict = ?10, reasons = ?11, allowlisted = ?12, updated_at = ?13,
           signature = ?14`,
      )
        .bind(key, keyKind(key), m.accounts, m.requestsPerWindow, windowTokens, m.synchrony, m.templateShare, m.elicitationShare,
          topModel, verdict, reasons.join(","), policy.clusters.allowlist.includes(key) ? 1 : 0, now, JSON.stringify(signature))
        .run();
    } catch (err) {
      console.error(JSON.stringify({ msg: "cluster snapshot failed", key, error: String(err) }));
    }
  }

  /** The root's view, for the admin API and tests. */
  async inspectRoot(policy: Policy): Promise<RootState> {
    const key = this.getMeta<string>("key");
    if (key === null) return { key: null, accounts: 0, metrics: null, verdict: "none", reasons: [], decidedAt: 0, rollups: 0 };
    const hll = this.loadHll();
    return {
      key,
      accounts: hll.estimate(),
      metrics: this.metrics(key, Date.now(), policy.limits.windowSeconds * 1000, policy, hll),
      verdict: (this.getMeta<string>("verdict") as Verdict | null) ?? "none",
      reasons: (this.getMeta<string>("reasons") ?? "").split(",").filter(Boolean),
      decidedAt: this.getMeta<number>("decided_at") ?? 0,
      rollups: this.getMeta<number>("rollups") ?? 0,
    };
  }

  /** Flush now instead of waiting for the alarm (tests, and the simulator's time compression). */
  async flushNow(): Promise<boolean> {
    return this.flushCollector(Date.now());
  }

  override async alarm(): Promise<void> {
    // Root role: counters a burst of roll-ups left in memory.
    this.rootAlarmSet = false;
    this.writeRoot();
    this.flushScheduled = false;
    const worked = await this.flushCollector(Date.now());
    const policy = this.currentPolicy();
    if ((worked || this.buffer.pendingEdges > 0 || this.auditPending) && policy) await this.scheduleFlush(policy.clusters.reportIntervalSeconds * 1000);
  }
}
