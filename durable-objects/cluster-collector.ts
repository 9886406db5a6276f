/**
 * ClusterCollectorDO — `cluster:collector#n`, n = hash(account) mod shards (lib/names.ts). Account
 * objects report to ONE collector per report interval, whatever the number of keys they have; the
 * collector merges per key in memory (lib/cluster/collector.ts) and, on its own alarm, forwards one
 * delta per multi-account key to the key's root (ClusterRootDO), and writes the account↔fingerprint
 * edges, and the audit rows and decision counts the accounts handed over, to D1 in batches.
 *
 * Verdicts flow back the same way: root → collector (the roll-up answer, kept in `verdicts`) →
 * account (the report answer). Each answer also carries the collector's verdict feed after the
 * reporter's version (lib/cluster/collector.ts VerdictLog): every key this collector holds that was
 * confirmed or stopped being confirmed, whoever reports, so the edge learns a confirmation from the
 * first account of any kind that reports after the flush and enforces it on every member's next request.
 *
 * A confirmation is also handed straight to the account object of
 * every account that reported the key here lately (lib/cluster/collector.ts MemberIndex), once: the
 * feed reaches a member's object only through an isolate or the member's next report, and the member's
 * first request after the confirmation was served in full meanwhile.
 */
import { DurableObject } from "cloudflare:workers";
import type { AuditHandoff } from "../lib/audit.ts";
import { campaignKeysOf, CollectorBuffer, feedChange, holdsBack, MemberIndex, ToldMembers, VerdictLog } from "../lib/cluster/collector.ts";
import type { AccountReport } from "../lib/cluster/report.ts";
import { isExactContentKey, keyKind, parseSignature, type Verdict } from "../lib/cluster/verdict.ts";
import { insertRows } from "../lib/d1-rows.ts";
import type { CachedVerdict, FeedVerdict, ReportAnswer, VerdictFeed } from "../lib/decision.ts";
import { accountObjectName, clusterCollectorName, clusterRootName } from "../lib/names.ts";
import { PolicyFromText, policyText, type Policy } from "../lib/policy/index.ts";
import type { RootAnswer } from "./cluster-root.ts";
import { PENDING_AUDIT_CAP, PENDING_AUDIT_TABLES, PENDING_AUDIT_UPGRADE, PendingAudit } from "./pending-audit.ts";
import { migrate, Startup, type SqliteSchema } from "./sqlite.ts";

// Roots called in parallel by one collector flush: bounded fan-out.
const ROLLUP_PARALLELISM = 16;
// A key the root has seen on 2+ accounts stays "tracked" this long, so single-account deltas still reach it.
const TRACK_MS = 6 * 3_600_000;
// A collector rewrites a verdict row whose answer only restated it (fresher answered_at and tracked_until)
// at most this often: every root answers every interval, and the row is only read back after a restart.
const VERDICT_ROW_REWRITE_MS = 60_000;
// Fingerprint edges per collector flush (one D1 statement per 500 of them); the rest wait one interval.
const EDGES_PER_FLUSH = 5_000;
// Answers one peer call may carry: a flush's news is a campaign's keys, a few dozen.
const MAX_PEER_NEWS = 1_024;
// Account objects told of a confirmation at once, in parallel, and in all per telling (one chunk of a
// flush's answers, or one peer's news): one call per member with all of that telling's keys. A
// 24,000-account hydra over 16 collectors is 1,500 per collector; a member past the bound hears of it
// from the feed as before.
const TELL_PARALLELISM = 32;
const MAX_MEMBERS_TOLD = 4_000;

/** A root's answer that confirmed a key or ended its confirmation, passed to a collector's peers. */
export type PeerNews = { key: string; answer: RootAnswer };

export const COLLECTOR_SCHEMA: SqliteSchema = {
  migrations: [
    [
      // The policy the latest report brought, for an alarm after a restart.
      `CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v)`,
      // What the roots of this collector's keys answered.
      `CREATE TABLE IF NOT EXISTS verdicts (fp_key TEXT PRIMARY KEY, verdict TEXT NOT NULL, cap REAL, reasons TEXT NOT NULL,
         decided_at INTEGER NOT NULL, tracked_until INTEGER NOT NULL, signature TEXT, answered_at INTEGER NOT NULL)`,
      ...PENDING_AUDIT_TABLES,
    ],
    PENDING_AUDIT_UPGRADE,
    // The verdict feed's version of the row's latest change (null: no change announced since).
    [`ALTER TABLE verdicts ADD COLUMN changed_at INTEGER`],
  ],
};

type VerdictRow = {
  fp_key: string;
  verdict: Verdict;
  cap: number | null;
  reasons: string;
  decided_at: number;
  tracked_until: number;
  signature: string | null;
  /** When the root last gave this answer: a standing verdict stays fresh while the root restates it. */
  answered_at: number;
  /** The feed version of this key's latest announced change; null when none was. */
  changed_at: number | null;
};

export class ClusterCollectorDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly startup: Startup;
  // The interval's sample lives in memory (see lib/cluster/collector.ts).
  private readonly buffer = new CollectorBuffer();
  private readonly audit: PendingAudit;
  /** Test seam, reached with `runInDurableObject`: the most audit rows kept for D1 (PENDING_AUDIT_CAP). */
  pendingAuditCap = PENDING_AUDIT_CAP;
  private verdictCache: Map<string, VerdictRow> | null = null;
  /** The confirmed exact prompt keys among `verdictCache`: a campaign's members are the accounts that sent one. */
  private readonly confirmedContent = new Set<string>();
  /** The feed over `verdictCache`, rebuilt with it. */
  private readonly feed = new VerdictLog();
  /** Who reported each shared key here lately: the account objects a confirmation is handed to. */
  private readonly members = new MemberIndex();
  /** Whom this instance told of a confirmation lately: told once per campaign, not once per key. */
  private readonly told = new ToldMembers();
  /** Test seam, reached with `runInDurableObject`: account objects told of confirmations by this instance. */
  membersTold = 0;
  /** When each verdict row was last written (this instance): a restatement waits VERDICT_ROW_REWRITE_MS. */
  private readonly verdictWrittenAt = new Map<string, number>();
  /** When each key's delta last went to its root (this instance). */
  private readonly forwardedAt = new Map<string, number>();
  private policyText: string | null = null;
  private readonly policies = new PolicyFromText();
  /** An alarm is set (as far as this instance knows): a report then costs no storage call. */
  private flushScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.audit = new PendingAudit(this.sql, env.DB, () => this.pendingAuditCap);
    this.startup = new Startup(ctx, () => void migrate(this.sql, COLLECTOR_SCHEMA), "cluster collector");
  }

  /**
   * One account's batch since its last report, and its audit rows and counts. Answers with the
   * verdicts this collector holds for the account's keys (as fresh as the last flush), and with the
   * feed's changes after `feedSince`, the newest feed version the account has seen.
   */
  async report(report: AccountReport | null, policyJson: string, audit?: AuditHandoff, feedSince = 0): Promise<ReportAnswer> {
    await this.startup.ready();
    const now = Date.now();
    const policy = this.policies.read(policyJson);
    this.rememberPolicy(policyJson);
    if (report) this.buffer.add(report, now, this.campaignOf(report, now));
    if (audit) this.audit.store(audit);
    await this.scheduleFlush(policy.clusters.reportIntervalSeconds * 1000);
    return { verdicts: report ? this.cachedVerdicts(Object.keys(report.keys), now) : [], feed: this.feedAfter(feedSince) };
  }

  /**
   * The feed's changes after `since`, for an edge that reads it itself (worker/verdicts.ts): a
   * confirmation reaches the edge without waiting for an account to report and then send again.
   */
  async readFeed(since: number): Promise<VerdictFeed> {
    await this.startup.ready();
    return this.feedAfter(since);
  }

  /**
   * News from a peer collector's flush: roots' answers that confirmed a key or ended its confirmation,
   * taken as if this collector's own flush had brought them, for the keys it holds rows for. Without it a collector learned of a confirmation only at its own next flush,
   * and an edge reading its feed up to an interval later than one reading the confirming collector's.
   * A key it holds no row for is left out: none of its accounts carries it.
   */
  async peerNews(news: PeerNews[], policyJson: string): Promise<void> {
    await this.startup.ready();
    const rows = this.verdictRows();
    const now = Date.now();
    const policy = this.policies.read(policyJson);
    const confirmed: string[] = [];
    for (const { key, answer } of news.slice(0, MAX_PEER_NEWS)) {
      const row = rows.get(key);
      if (!row || row.decided_at > answer.decidedAt) continue;
      if (this.keepAnswer(key, answer, now, policy) && newlyConfirmed(row, answer)) confirmed.push(key);
    }
    // The peer waits for this call, not for the members: they are told after it returns.
    if (confirmed.length > 0) this.ctx.waitUntil(this.tellMembers(confirmed, now, policy));
  }

  /** Flush now instead of waiting for the alarm (tests, and the simulator's time compression). */
  async flushNow(): Promise<boolean> {
    await this.startup.ready();
    return this.flush(Date.now());
  }

  override async alarm(): Promise<void> {
    await this.startup.ready();
    this.flushScheduled = false;
    const worked = await this.flush(Date.now());
    const policy = this.currentPolicy();
    if ((worked || this.buffer.pendingEdges > 0 || this.audit.waiting) && policy) {
      await this.scheduleFlush(policy.clusters.reportIntervalSeconds * 1000);
    }
  }

  private async scheduleFlush(delayMs: number): Promise<void> {
    if (this.flushScheduled) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null) await this.ctx.storage.setAlarm(Date.now() + delayMs);
    this.flushScheduled = true;
  }

  /**
   * The policy the latest report brought; kept in storage only when it changes, for the alarm after a
   * restart. A new policy may change what a root decides (thresholds, the allow-list), so no confirmed
   * key's delta is held back at the next flush: its root judges it again under the new policy at once.
   */
  private rememberPolicy(text: string): void {
    if (text === this.policyText) return;
    if (this.policyText !== null) this.forwardedAt.clear();
    this.policyText = text;
    this.sql.exec(`INSERT INTO meta (k, v) VALUES ('policy', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, text);
  }

  private currentPolicy(): Policy | null {
    this.policyText ??= this.sql.exec<{ v: string }>(`SELECT v FROM meta WHERE k = 'policy'`).toArray()[0]?.v ?? null;
    return this.policyText ? this.policies.read(this.policyText) : null;
  }

  /** The verdict rows, read once per instance and written through; the feed is rebuilt from them. */
  private verdictRows(): Map<string, VerdictRow> {
    if (this.verdictCache) return this.verdictCache;
    const rows = this.sql
      .exec<VerdictRow>(`SELECT fp_key, verdict, cap, reasons, decided_at, tracked_until, signature, answered_at, changed_at FROM verdicts`)
      .toArray();
    this.verdictCache = new Map(rows.map((r) => [r.fp_key, { ...r }]));
    for (const r of rows) this.noteConfirmed(r.fp_key, r.verdict);
    this.feed.restore(rows.flatMap((r) => (r.changed_at === null ? [] : [{ key: r.fp_key, version: r.changed_at }])));
    return this.verdictCache;
  }

  private noteConfirmed(key: string, verdict: Verdict): void {
    if (verdict === "confirmed" && isExactContentKey(key)) this.confirmedContent.add(key);
    else this.confirmedContent.delete(key);
  }

  /**
   * The confirmed campaigns the reporting account belongs to, for the campaign_members evidence of its
   * other keys; undefined while this collector holds none (the keys' requests are then not counted as checked).
   */
  private campaignOf(report: AccountReport, now: number): ReadonlySet<string> | undefined {
    // Loading the verdict cache (first call after a start) is what fills confirmedContent.
    this.verdictRows();
    if (this.confirmedContent.size === 0) return undefined;
    const campaign = campaignKeysOf(report.accountId, report.keys, this.confirmedContent, this.members, now - TRACK_MS);
    // Noted now, not at the flush that forwards the key: a confirmed key's deltas are held for a few
    // intervals, and the account's next report may carry only the campaign's new wording.
    for (const key of campaign) if (Object.hasOwn(report.keys, key)) this.members.note(key, [report.accountId], now);
    return campaign;
  }

  private cachedVerdicts(keys: string[], now: number): CachedVerdict[] {
    const rows = this.verdictRows();
    const out: CachedVerdict[] = [];
    for (const key of keys) {
      const row = rows.get(key);
      if (row && row.verdict !== "none" && now - row.answered_at < TRACK_MS) out.push(cachedVerdict(row));
    }
    return out;
  }

  /** The feed's changes after `since`, as the rows now stand. */
  private feedAfter(since: number): ReportAnswer["feed"] {
    const rows = this.verdictRows();
    const { version, keys } = this.feed.since(since);
    const verdicts: FeedVerdict[] = [];
    for (const key of keys) {
      const row = rows.get(key);
      if (row && row.changed_at !== null) verdicts.push({ ...cachedVerdict(row), version: row.changed_at });
    }
    return { version, verdicts };
  }

  /** Audit to D1, deltas to roots, edges to D1; false when there was nothing to do. */
  private async flush(now: number): Promise<boolean> {
    const policy = this.currentPolicy();
    if (!policy) return false;
    if (this.audit.waiting) await this.audit.flush();
    if (!this.buffer.hasKeys && this.buffer.pendingEdges === 0) return this.audit.waiting;
    const rows = this.verdictRows();
    // A key a root already knows to be shared keeps reaching it even from one account here.
    const intervalMs = policy.clusters.reportIntervalSeconds * 1000;
    // A key one account reported here alone waits one verdict window for a second account (drainDeltas):
    // counts older than that have left the root's window anyway.
    const deltas = this.buffer.drainDeltas(
      now,
      (key) => (rows.get(key)?.tracked_until ?? 0) > now,
      (key) => holdsBack(rows.get(key)?.verdict === "confirmed", this.forwardedAt.get(key), now, intervalMs),
      policy.limits.windowSeconds * 1000,
    );
    for (const delta of deltas) {
      this.forwardedAt.set(delta.key, now);
      this.members.note(delta.key, delta.accounts, now);
    }

    const policyJson = policyText(policy);
    // Peers are told a chunk's news as soon as it is in, not after the whole flush: a campaign's flush
    // holds dozens of chunks of keys, and an edge reading another collector's feed waited for all of them.
    const telling: Promise<void>[] = [];
    for (let i = 0; i < deltas.length; i += ROLLUP_PARALLELISM) {
      const news: PeerNews[] = [];
      const confirmed: string[] = [];
      const chunk = deltas.slice(i, i + ROLLUP_PARALLELISM);
      const answers = await Promise.allSettled(
        chunk.map((delta) => this.env.CLUSTER_ROOTS.getByName(clusterRootName(delta.key)).rollup(delta, policyJson)),
      );
      answers.forEach((answer, j) => {
        const key = chunk[j]?.key;
        if (key === undefined) return;
        if (answer.status === "rejected") {
          console.error(JSON.stringify({ msg: "cluster rollup failed", key, error: String(answer.reason) }));
          return;
        }
        // Only a key confirmed or ended is news for the peers; a restatement reaches them at their own flush.
        const before = rows.get(key);
        const was = before?.verdict === "confirmed";
        if (!this.keepAnswer(key, answer.value, now, policy)) return;
        if (was !== (answer.value.verdict === "confirmed")) news.push({ key, answer: answer.value });
        if (newlyConfirmed(before, answer.value)) confirmed.push(key);
      });
      // tellPeers and tellMembers settle every call they make and never reject.
      if (news.length > 0) telling.push(this.tellPeers(news, policy, policyJson));
      if (confirmed.length > 0) telling.push(this.tellMembers(confirmed, now, policy));
    }
    await Promise.all(telling);
    for (const [key, row] of rows) {
      if (row.tracked_until < now && row.answered_at < now - TRACK_MS) {
        rows.delete(key);
        this.confirmedContent.delete(key);
        this.feed.forget(key);
        this.members.forget(key);
        this.verdictWrittenAt.delete(key);
        this.forwardedAt.delete(key);
        this.sql.exec(`DELETE FROM verdicts WHERE fp_key = ?`, key);
      }
    }
    await this.flushEdges(now);
    return true;
  }

  /**
   * Hands this flush's news to every other collector in one call each: a confirmation or its end is
   * rare (a campaign confirms a few dozen keys once), so shards − 1 calls per flush that has one cost little. A peer
   * that fails hears of it at its own next flush, as before.
   */
  private async tellPeers(news: PeerNews[], policy: Policy, policyJson: string): Promise<void> {
    if (news.length === 0) return;
    const peers: Array<DurableObjectStub<ClusterCollectorDO>> = [];
    for (let n = 0; n < policy.clusters.shards; n++) {
      const name = clusterCollectorName(n);
      if (this.env.CLUSTER_COLLECTORS.idFromName(name).equals(this.ctx.id)) continue;
      peers.push(this.env.CLUSTER_COLLECTORS.getByName(name));
    }
    for (let i = 0; i < peers.length; i += ROLLUP_PARALLELISM) {
      const told = await Promise.allSettled(peers.slice(i, i + ROLLUP_PARALLELISM).map((peer) => peer.peerNews(news, policyJson)));
      for (const t of told) if (t.status === "rejected") console.error(JSON.stringify({ msg: "peer collector news failed", error: String(t.reason) }));
    }
  }

  /**
   * Hands the verdicts on `keys` (confirmed, as the rows now stand) to the account objects of their
   * recent members here and of this interval's reporters: one call per account with all of its keys,
   * at most MAX_MEMBERS_TOLD accounts, leaving out a member already told of a verdict that still
   * stands (ToldMembers). A member that fails, is past the bound or is left out hears of it from the
   * feed, as before.
   */
  private async tellMembers(keys: readonly string[], now: number, policy: Policy): Promise<void> {
    const rows = this.verdictRows();
    const stands = (key: string) => rows.get(key)?.verdict === "confirmed";
    const since = now - policy.risk.verdictTtlSeconds * 500;
    const byAccount = new Map<string, CachedVerdict[]>();
    for (const key of keys) {
      const row = rows.get(key);
      if (row?.verdict !== "confirmed") continue;
      const verdict = cachedVerdict(row);
      const covers = isExactContentKey(key) ? coveringKeys(rows, key) : undefined;
      // This interval's reporters too: a peer's news can come before this collector's own flush.
      for (const account of new Set([...this.members.members(key, now - TRACK_MS), ...this.buffer.accountsOf(key)])) {
        let told = byAccount.get(account);
        if (!told) {
          if (byAccount.size >= MAX_MEMBERS_TOLD || !this.told.needs(account, since, stands, covers && ((t) => covers.has(t)))) continue;
          byAccount.set(account, (told = []));
        }
        told.push(verdict);
      }
    }
    const calls = [...byAccount];
    this.membersTold += calls.length;
    for (let i = 0; i < calls.length; i += TELL_PARALLELISM) {
      const batch = calls.slice(i, i + TELL_PARALLELISM);
      const told = await Promise.allSettled(
        batch.map(([account, verdicts]) => this.env.ACCOUNTS.getByName(accountObjectName(account)).applyClusterVerdicts(verdicts)),
      );
      told.forEach((t, j) => {
        const [account, verdicts] = batch[j] ?? [];
        if (t.status === "rejected") console.error(JSON.stringify({ msg: "telling a member of a confirmation failed", error: String(t.reason) }));
        else if (account !== undefined && verdicts) this.told.record(account, verdicts.map((v) => v.cluster), now, since);
      });
    }
  }

  /**
   * A root's answer, in memory at once and in storage unless it only restated the last one within
   * VERDICT_ROW_REWRITE_MS. A change the feed announces (feedChange) is always written, with its
   * version; returns whether it was one.
   */
  private keepAnswer(key: string, a: RootAnswer, now: number, policy: Policy): boolean {
    const rows = this.verdictRows();
    const before = rows.get(key);
    const signature = JSON.stringify(a.signature);
    const announced = feedChange(
      before && { verdict: before.verdict, decidedAt: before.decided_at, signature: before.signature, changedAt: before.changed_at },
      { verdict: a.verdict, decidedAt: a.decidedAt, signature },
      now,
      policy.risk.verdictTtlSeconds * 500,
    );
    const row: VerdictRow = {
      fp_key: key,
      verdict: a.verdict,
      cap: a.capPerWindow,
      reasons: a.reasons.join(","),
      decided_at: a.decidedAt,
      tracked_until: a.accounts >= 2 ? now + TRACK_MS : 0,
      signature,
      answered_at: a.answeredAt,
      changed_at: announced ? this.feed.record(key, now) : (before?.changed_at ?? null),
    };
    rows.set(key, row);
    this.noteConfirmed(key, row.verdict);
    const restated =
      before !== undefined &&
      before.verdict === row.verdict && before.cap === row.cap && before.reasons === row.reasons &&
      before.decided_at === row.decided_at && before.signature === row.signature && (before.tracked_until > 0) === (row.tracked_until > 0);
    if (restated && !announced && now - (this.verdictWrittenAt.get(key) ?? 0) < VERDICT_ROW_REWRITE_MS) return false;
    this.verdictWrittenAt.set(key, now);
    this.sql.exec(
      `INSERT INTO verdicts (fp_key, verdict, cap, reasons, decided_at, tracked_until, signature, answered_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (fp_key) DO UPDATE SET verdict = excluded.verdict, cap = excluded.cap, reasons = excluded.reasons,
         decided_at = excluded.decided_at, tracked_until = excluded.tracked_until, signature = excluded.signature,
         answered_at = excluded.answered_at, changed_at = excluded.changed_at`,
      row.fp_key, row.verdict, row.cap, row.reasons, row.decided_at, row.tracked_until, row.signature, row.answered_at, row.changed_at,
    );
    return announced;
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
}

/**
 * Whether a root's answer (already announced by the feed) confirms a key that was not confirmed
 * before: news for the members' objects. A confirmation that stands, or whose signature moved, is not
 * pushed: a large campaign's signatures move with its varied content at many roll-ups, and telling
 * thousands of members each time is thousands of object calls per roll-up; a new signature reaches them
 * through the feed, as before.
 */
function newlyConfirmed(before: VerdictRow | undefined, answer: RootAnswer): boolean {
  return answer.verdict === "confirmed" && before?.verdict !== "confirmed";
}

/**
 * The confirmed keys whose verdict lands on `key`'s requests: the key itself, and those whose signature
 * names it among its wrappers or system prompts. Read once per telling of a newly confirmed exact prompt
 * key, which is rare (a campaign's few wordings).
 */
function coveringKeys(rows: ReadonlyMap<string, VerdictRow>, key: string): Set<string> {
  const out = new Set([key]);
  for (const [other, row] of rows) {
    if (row.verdict !== "confirmed" || other === key || row.signature === null || !row.signature.includes(key)) continue;
    const signature = parseSignature(row.signature);
    if (signature?.wrappers?.includes(key) || signature?.systems?.includes(key)) out.add(other);
  }
  return out;
}

/** A verdict row as the account objects cache it. */
function cachedVerdict(row: VerdictRow): CachedVerdict {
  return {
    cluster: row.fp_key,
    verdict: row.verdict,
    capPerWindow: row.cap,
    reasons: row.reasons.split(",").filter(Boolean),
    decidedAt: row.decided_at,
    refreshedAt: row.answered_at,
    // A row without a (readable) signature matches nothing by content.
    signature: parseSignature(row.signature) ?? { bands: [], eliciting: false },
  };
}
