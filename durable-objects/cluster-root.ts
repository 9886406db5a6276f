/**
 * ClusterRootDO — `cluster:<key>#root` (lib/names.ts), one per fingerprint key. Receives at most one
 * call per collector per interval (≤ shards calls), however many accounts share the key; holds the
 * HyperLogLogs (its accounts, and the cards they pay with), window rates, synchrony, template and model
 * counts, and the verdict, which it answers every roll-up with. Snapshots go to D1 for operators.
 *
 * This class was `ClusterDO`, which played collector and root in one; the rename kept every root's
 * state under the same ids. The old class's collectors are objects of this class now: their pending
 * audit rows go to D1 from their alarm (see PendingAudit.legacy), and nothing calls them again.
 */
import { DurableObject } from "cloudflare:workers";
import { BoundedMap } from "../lib/bounded-map.ts";
import { ActiveAccounts } from "../lib/cluster/active.ts";
import { HyperLogLog } from "../lib/cluster/hll.ts";
import {
  blendSynchrony,
  bucketStart,
  emptyCounts,
  mergeCounts,
  metricsFrom,
  paymentsSaturated,
  slidingValue,
  type KeyDelta,
} from "../lib/cluster/rollup.ts";
import { judgeKey, keyKind, parseSignature, withWrappers, type EvidenceItem, type KeyMetrics, type Signature, type Verdict, type VerdictResult } from "../lib/cluster/verdict.ts";
import { detectPivot } from "../lib/launch-guard.ts";
import { PolicyFromText, type Policy } from "../lib/policy/index.ts";
import { PendingAudit } from "./pending-audit.ts";
import { migrate, Startup, type SqliteSchema } from "./sqlite.ts";

// A root's counters (roll-up count, HyperLogLog, synchrony, window buckets) reach storage at most this
// often, or when its verdict changes; an alarm writes what a burst of roll-ups left behind.
const ROOT_PERSIST_MS = 5_000;
// A root writes its snapshot to D1 at most this often unless the verdict changes.
const SNAPSHOT_INTERVAL_MS = 60_000;
// Models remembered per key, least recently seen evicted: model names are the client's to choose, and
// a provider lists a few dozen. A model in real use is seen every roll-up, so junk names churned
// through the map push out only models nobody has used since.
const MODELS_PER_KEY = 64;
// A legacy object's audit rows that D1 refused, or that one alarm could not write, are tried again this much later.
const LEGACY_AUDIT_RETRY_MS = 10_000;

/**
 * Versions 1–4 are the old two-role class's, kept so an object of any age upgrades; version 5 drops
 * the collector's verdict cache. The audit tables of version 3 cannot go in a migration (an old
 * collector may still hold rows): PendingAudit.legacy drops them once they are empty.
 */
export const ROOT_SCHEMA: SqliteSchema = {
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v)`,
      `CREATE TABLE IF NOT EXISTS verdicts (fp_key TEXT PRIMARY KEY, verdict TEXT NOT NULL, cap REAL, reasons TEXT NOT NULL,
         decided_at INTEGER NOT NULL, tracked_until INTEGER NOT NULL, signature TEXT)`,
      `CREATE TABLE IF NOT EXISTS buckets (start INTEGER PRIMARY KEY, counts TEXT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS models_first_seen (model TEXT PRIMARY KEY, first_seen INTEGER NOT NULL)`,
    ],
    [
      // Version 1 kept the collector's interval sample in tables; it lives in memory since.
      `DROP TABLE IF EXISTS pending_keys`,
      `DROP TABLE IF EXISTS pending_accounts`,
      `DROP TABLE IF EXISTS pending_histograms`,
      `DROP TABLE IF EXISTS pending_edges`,
    ],
    [
      `CREATE TABLE IF NOT EXISTS audit_pending (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,
         request_id TEXT, account_id TEXT NOT NULL, action TEXT, enforced INTEGER, reasons TEXT, risk REAL, country TEXT,
         cluster TEXT, detail TEXT)`,
      `CREATE TABLE IF NOT EXISTS counts_pending (minute INTEGER NOT NULL, action TEXT NOT NULL, enforced INTEGER NOT NULL,
         count INTEGER NOT NULL, PRIMARY KEY (minute, action, enforced))`,
    ],
    [`ALTER TABLE verdicts ADD COLUMN answered_at INTEGER`],
    [
      // The collectors' answers from roots: collectors are their own class now and rebuild theirs from the next answers.
      `DROP TABLE IF EXISTS verdicts`,
    ],
  ],
  current: [
    // meta keeps its rowid: the 4 KB HyperLogLog is far past the row size WITHOUT ROWID suits.
    `CREATE TABLE meta (k TEXT PRIMARY KEY, v)`,
    `CREATE TABLE buckets (start INTEGER PRIMARY KEY, counts TEXT NOT NULL)`,
    `CREATE TABLE models_first_seen (model TEXT PRIMARY KEY, first_seen INTEGER NOT NULL) WITHOUT ROWID`,
  ],
};

/** What a collector needs to hand a verdict on; the score and its evidence stay with the root and D1. */
export type RootAnswer = {
  verdict: Verdict;
  reasons: string[];
  capPerWindow: number | null;
  signature: Signature;
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
  /** The latest verdict's evidence score and items; null and [] when the key was not judged. */
  score: number | null;
  evidence: EvidenceItem[];
  /** What the latest verdict lands on (verdictApplies); absent before the key was first judged. */
  signature?: Signature;
};

type SqlValue = string | number | null | ArrayBuffer;

export class ClusterRootDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly startup: Startup;
  private hll: HyperLogLog | null = null;
  /** Distinct payment keys among the key's accounts, beside `hll` (their ratio is the payment evidence). */
  private paymentHll: HyperLogLog | null = null;
  /** Accounts active in the window (lib/cluster/active.ts), from this instance's first roll-up on. */
  private active: ActiveAccounts | null = null;
  /**
   * Storage read once per instance and written through: a root answers every collector every
   * interval, and re-reading its meta and buckets for each answer cost more than the answer.
   */
  private metaCache: Map<string, SqlValue> | null = null;
  private bucketCache: Map<number, KeyDelta["counts"]> | null = null;
  private modelsCache: BoundedMap<string, number> | null = null;
  /**
   * Written behind: the 16 collectors' roll-ups of one interval arrive together, and writing the
   * 4 KB HyperLogLog and the bucket for each of them cost more than the rest of the roll-up.
   */
  private readonly unwritten = { meta: new Set<string>(), buckets: new Set<number>(), expiredBefore: null as number | null };
  private rootWrittenAt = 0;
  private rootAlarmSet = false;
  private readonly policies = new PolicyFromText();
  /** Audit rows an object of the old two-role class still holds; null for every other root. */
  private legacyAudit: PendingAudit | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.startup = new Startup(ctx, () => this.load(), "cluster root");
  }

  private load(): void {
    migrate(this.sql, ROOT_SCHEMA);
    // Nothing calls an old collector any more: the alarm the old class set whenever it held rows brings it up.
    this.legacyAudit = PendingAudit.legacy(this.sql, this.env.DB);
  }

  /** One collector's delta for this key; answers with the key's current verdict. */
  async rollup(delta: KeyDelta, policyJson: string): Promise<RootAnswer> {
    await this.startup.ready();
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
    this.active ??= new ActiveAccounts(now);
    this.active.add(delta.accounts, now, windowMs);

    // Cards go to their own sketch, not into the window buckets (up to MAX_PAYMENTS_PER_DELTA names each).
    const { payments, ...windowed } = delta.counts;
    if (payments !== undefined && this.getMeta<number>("payments_saturated") !== 1) {
      if (paymentsSaturated(payments)) {
        // Some cards were dropped on the way: the ratio would understate them from now on.
        this.setMeta("payments_saturated", 1);
      } else {
        const cards = this.loadPaymentHll();
        let added = false;
        for (const card of Object.keys(payments)) added = cards.add(card) || added;
        if (added) this.unwritten.meta.add("payment_hll");
      }
    }

    const start = bucketStart(now, windowMs);
    const buckets = this.buckets();
    const counts = buckets.get(start) ?? emptyCounts();
    buckets.set(start, counts);
    mergeCounts(counts, windowed);
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
      if (models.touch(model) !== undefined) continue;
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
    const judged = judgeKey(key, metrics, policy);
    // The campaign's wrappers join its signature here, so its verdict lands on requests that carry them.
    const result: VerdictResult = { ...judged, signature: withWrappers(key, judged.signature, metrics, policy.clusters.templateConcentration) };
    const previous = this.getMeta<string>("verdict");
    const signatureText = JSON.stringify(result.signature);
    const signatureChanged = this.getMeta<string>("signature") !== signatureText;
    this.setMeta("verdict", result.verdict);
    this.setMeta("reasons", result.reasons.join(","));
    this.setMeta("signature", signatureText);
    // Every roll-up moves the values: written behind with the counters, not once per roll-up.
    this.deferMeta("score", result.evidence.length > 0 ? result.score : null);
    this.deferMeta("evidence", JSON.stringify(result.evidence));
    if (previous !== result.verdict) this.setMeta("decided_at", now);
    const decidedAt = this.getMeta<number>("decided_at") ?? now;

    this.writeWhenDue(previous !== result.verdict);

    const lastSnapshot = this.getMeta<number>("snapshot_at") ?? 0;
    // A new signature is a new verdict for the linker, which reads it from the snapshot.
    if (previous !== result.verdict || (signatureChanged && result.verdict !== "none") || now - lastSnapshot >= SNAPSHOT_INTERVAL_MS) {
      this.setMeta("snapshot_at", now);
      await this.writeSnapshot(key, metrics, result, policy, counts, now);
    }
    const { verdict, reasons, capPerWindow, signature } = result;
    return { verdict, reasons, capPerWindow, signature, decidedAt, answeredAt: now, accounts: metrics.accounts };
  }

  /** The root's view, for the admin API and tests. */
  async inspectRoot(policy: Policy): Promise<RootState> {
    await this.startup.ready();
    const key = this.getMeta<string>("key");
    if (key === null) return { key: null, accounts: 0, metrics: null, verdict: "none", reasons: [], decidedAt: 0, rollups: 0, score: null, evidence: [] };
    const hll = this.loadHll();
    const signature = parseSignature(this.getMeta<string>("signature"));
    return {
      key,
      accounts: hll.estimate(),
      metrics: this.metrics(key, Date.now(), policy.limits.windowSeconds * 1000, policy, hll),
      verdict: (this.getMeta<string>("verdict") as Verdict | null) ?? "none",
      reasons: (this.getMeta<string>("reasons") ?? "").split(",").filter(Boolean),
      decidedAt: this.getMeta<number>("decided_at") ?? 0,
      rollups: this.getMeta<number>("rollups") ?? 0,
      score: this.getMeta<number>("score"),
      evidence: parseEvidence(this.getMeta<string>("evidence")),
      ...(signature ? { signature } : {}),
    };
  }

  override async alarm(): Promise<void> {
    await this.startup.ready();
    // Counters a burst of roll-ups left in memory.
    this.rootAlarmSet = false;
    this.write();
    const legacy = this.legacyAudit;
    if (!legacy) return;
    await legacy.flush();
    if (legacy.waiting) {
      await this.ctx.storage.setAlarm(Date.now() + LEGACY_AUDIT_RETRY_MS);
      return;
    }
    legacy.drop();
    this.legacyAudit = null;
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

  /** A counter's new value, in memory now and in storage with the next write. */
  private deferMeta(k: string, v: SqlValue): void {
    this.meta().set(k, v);
    this.unwritten.meta.add(k);
  }

  private storeMeta(k: string, v: SqlValue): void {
    this.sql.exec(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v);
  }

  /** The window buckets, by start. */
  private buckets(): Map<number, KeyDelta["counts"]> {
    this.bucketCache ??= new Map(
      this.sql
        .exec<{ start: number; counts: string }>(`SELECT start, counts FROM buckets`)
        .toArray()
        .map((r) => [r.start, JSON.parse(r.counts) as KeyDelta["counts"]]),
    );
    return this.bucketCache;
  }

  /** When each model was first seen on this key (at most MODELS_PER_KEY; an evicted model's row goes too). */
  private modelsFirstSeen(): BoundedMap<string, number> {
    if (!this.modelsCache) {
      const models = new BoundedMap<string, number>(MODELS_PER_KEY, (model) => this.sql.exec(`DELETE FROM models_first_seen WHERE model = ?`, model));
      // Recency is not stored: after a restart the oldest-seen go first, and a model in use is touched again at once.
      const rows = this.sql.exec<{ model: string; first_seen: number }>(`SELECT model, first_seen FROM models_first_seen ORDER BY first_seen`).toArray();
      for (const r of rows) models.set(r.model, r.first_seen);
      this.modelsCache = models;
    }
    return this.modelsCache;
  }

  private loadPaymentHll(): HyperLogLog {
    if (!this.paymentHll) {
      const stored = this.getMeta<ArrayBuffer>("payment_hll");
      this.paymentHll = new HyperLogLog(stored ? new Uint8Array(stored) : undefined);
    }
    return this.paymentHll;
  }

  private loadHll(): HyperLogLog {
    if (!this.hll) {
      const stored = this.getMeta<ArrayBuffer>("hll");
      this.hll = new HyperLogLog(stored ? new Uint8Array(stored) : undefined);
    }
    return this.hll;
  }

  /** Writes the counters now if the last write is ROOT_PERSIST_MS old (or `force`), else sets an alarm for it. */
  private writeWhenDue(force: boolean): void {
    const wall = Date.now();
    if (force || wall - this.rootWrittenAt >= ROOT_PERSIST_MS) {
      this.write();
      return;
    }
    if (this.rootAlarmSet) return;
    this.rootAlarmSet = true;
    this.ctx.waitUntil(this.ctx.storage.setAlarm(this.rootWrittenAt + ROOT_PERSIST_MS));
  }

  private write(): void {
    const { meta, buckets, expiredBefore } = this.unwritten;
    if (meta.size === 0 && buckets.size === 0 && expiredBefore === null) return;
    for (const k of meta) {
      const sketch = k === "hll" ? this.loadHll() : k === "payment_hll" ? this.loadPaymentHll() : null;
      this.storeMeta(k, sketch ? (sketch.registers.buffer.slice(0) as ArrayBuffer) : (this.meta().get(k) ?? null));
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
    const activeAccounts = this.active?.estimate(now, windowMs, this.getMeta<number>("first_seen") ?? now) ?? null;
    const pivot = detectPivot({
      guard: policy.launchGuard,
      models: both.models,
      firstSeen: this.modelsFirstSeen(),
      keyFirstSeen: this.getMeta<number>("first_seen") ?? now,
      now,
      recentMs: policy.limits.dayWindowSeconds * 1000,
    });
    // Cards are known once any were reported and none were dropped; metricsFrom also asks that nearly every request carried one.
    const cards = this.getMeta<number>("payments_saturated") === 1 || (this.paymentHll === null && this.getMeta("payment_hll") === null) ? undefined : this.loadPaymentHll().estimate();
    return metricsFrom({
      key,
      accounts: hll.estimate(),
      ...(cards === undefined ? {} : { distinctPayments: cards }),
      volume:
        activeAccounts === null
          ? undefined
          : {
              activeAccounts,
              honestRequestsPerAccount: policy.clusters.verdict.honestRequestsPerAccountPerWindow,
              perTier: policy.clusters.verdict.honestRequestsPerTier,
            },
      requestsPerWindow: slidingValue(current?.requests ?? 0, previousRequests, now, windowMs),
      windowCounts: both,
      synchrony: this.getMeta<number>("sync_value") ?? 0,
      pivotModel: pivot?.model ?? null,
      ...(pivot ? { pivotShare: pivot.share } : {}),
    });
  }

  private async writeSnapshot(
    key: string,
    m: KeyMetrics,
    { verdict, reasons, signature, score, evidence }: VerdictResult,
    policy: Policy,
    counts: KeyDelta["counts"],
    now: number,
  ): Promise<void> {
    const topModel = Object.entries(counts.models).sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    const windowTokens = counts.inputTokens + counts.outputTokens;
    try {
      await this.env.DB.prepare(
        `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
           elicitation_share, top_model, verdict, reasons, allowlisted, updated_at, signature, score, evidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (fp_key) DO UPDATE SET accounts = ?3, requests_per_window = ?4, tokens_per_window = ?5, synchrony = ?6,
           template_share = ?7, elicitation_share = ?8, top_model = ?9, verdict = ?10, reasons = ?11, allowlisted = ?12, updated_at = ?13,
           signature = ?14, score = ?15, evidence = ?16`,
      )
        .bind(key, keyKind(key), m.accounts, m.requestsPerWindow, windowTokens, m.synchrony, m.templateShare, m.elicitationShare,
          topModel, verdict, reasons.join(","), policy.clusters.allowlist.includes(key) ? 1 : 0, now, JSON.stringify(signature),
          // Not judged (too small, too slow, allow-listed): no score to explain.
          evidence.length > 0 ? score : null, evidence.length > 0 ? JSON.stringify(evidence) : null)
        .run();
    } catch (err) {
      console.error(JSON.stringify({ msg: "cluster snapshot failed", key, error: String(err) }));
    }
  }
}

/** Evidence items as stored in meta; damaged text reads as none. */
function parseEvidence(text: string | null): EvidenceItem[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as EvidenceItem[]) : [];
  } catch {
    return [];
  }
}
