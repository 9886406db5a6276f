/**
 * Audit rows and decision counts that account objects handed to a collector, until D1 has them:
 * stored before the hand-off call returns (the account object deletes its copy once it answers),
 * written to D1 in batches from the collector's alarm, and deleted only once D1 took them.
 *
 * The cluster roots use it too, for one reason: before collectors and roots were two classes, every
 * cluster object had these tables, and the old class's objects (its collectors included) now run as
 * ClusterRootDO. `PendingAudit.legacy` finds rows such an object still holds so its alarm writes
 * them, and drops the tables once they are empty.
 */
import {
  AUDIT_COLUMNS,
  AUDIT_SELECT,
  auditCells,
  auditLogStatements,
  decisionCountStatements,
  type AuditHandoff,
  type AuditRow,
  type DecisionCount,
} from "../lib/audit.ts";
import { insertRowsSql } from "../lib/d1-rows.ts";

// Audit rows per D1 batch, and batches per flush (the rest wait one interval).
const AUDIT_BATCH = 500;
const AUDIT_ROUNDS_PER_FLUSH = 10;
// Rows kept while D1 is away: ten full flushes' worth (~15 MB). Past it the oldest go, counted: a D1
// outage, or a campaign of throttled accounts, must not grow one object's storage without bound.
export const PENDING_AUDIT_CAP = 50_000;

/**
 * The tables as first created, for the schema of an object that takes hand-offs; PENDING_AUDIT_UPGRADE
 * brings them to the current columns (a migration of its own, so objects of any age get there).
 */
export const PENDING_AUDIT_TABLES: string[] = [
  `CREATE TABLE IF NOT EXISTS audit_pending (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,
     request_id TEXT, account_id TEXT NOT NULL, action TEXT, enforced INTEGER, reasons TEXT, risk REAL, country TEXT,
     cluster TEXT, detail TEXT)`,
  `CREATE TABLE IF NOT EXISTS counts_pending (minute INTEGER NOT NULL, action TEXT NOT NULL, enforced INTEGER NOT NULL,
     count INTEGER NOT NULL, PRIMARY KEY (minute, action, enforced)) WITHOUT ROWID`,
];

/** The next migration after PENDING_AUDIT_TABLES: the audit row's repeat count (lib/audit.ts). */
export const PENDING_AUDIT_UPGRADE: string[] = [`ALTER TABLE audit_pending ADD COLUMN count INTEGER NOT NULL DEFAULT 1`];

const INSERT_ROWS = insertRowsSql("audit_pending", AUDIT_COLUMNS);

export class PendingAudit {
  /** Rows or counts wait for D1; null until read from storage. */
  private pending: boolean | null = null;
  /** Rows in audit_pending; null until counted (once per instance). */
  private rows: number | null = null;
  /** Rows dropped at the cap since the last log line. */
  private dropped = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly db: D1Database,
    /** The most rows kept (PENDING_AUDIT_CAP; a test may lower it). */
    private readonly cap: () => number = () => PENDING_AUDIT_CAP,
  ) {}

  /**
   * The store of an object made before the split, if it has one (null otherwise): the tables are
   * dropped here when empty, so an object pays this check once per start until they are gone.
   */
  static legacy(sql: SqlStorage, db: D1Database): PendingAudit | null {
    const tables = sql.exec<{ n: number }>(
      `SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('audit_pending', 'counts_pending')`,
    ).one().n;
    if (tables < 2) return null;
    // The old class's tables predate the repeat count.
    const hasCount = sql.exec(`SELECT COUNT(*) AS n FROM pragma_table_info('audit_pending') WHERE name = 'count'`).one().n === 1;
    if (!hasCount) for (const statement of PENDING_AUDIT_UPGRADE) sql.exec(statement);
    const store = new PendingAudit(sql, db);
    if (store.waiting) return store;
    store.drop();
    return null;
  }

  /** Anything waiting for D1 (one COUNT the first time, then known). */
  get waiting(): boolean {
    this.pending ??= this.sql.exec<{ n: number }>(
      `SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM counts_pending) AS n`,
    ).one().n > 0;
    return this.pending;
  }

  /** Stored before the call returns: the account object deletes its copy once this answers. */
  store(audit: AuditHandoff): void {
    if (audit.rows.length > 0) {
      const before = this.rowCount();
      const cells = audit.rows.map((row) => auditCells({ ...row, accountId: audit.accountId }, "epoch"));
      this.sql.exec(INSERT_ROWS, JSON.stringify(cells));
      this.rows = before + audit.rows.length;
      this.trim();
    }
    for (const c of audit.counts) {
      this.sql.exec(
        `INSERT INTO counts_pending (minute, action, enforced, count) VALUES (?, ?, ?, ?)
         ON CONFLICT (minute, action, enforced) DO UPDATE SET count = count + excluded.count`,
        c.minute, c.action, c.enforced, c.count,
      );
    }
    this.pending = true;
  }

  /** Drops the oldest rows past the cap; the first drop since the last log line is logged, the rest counted into the next. */
  private trim(): void {
    const over = (this.rows ?? 0) - this.cap();
    if (over <= 0) return;
    this.sql.exec(`DELETE FROM audit_pending WHERE id IN (SELECT id FROM audit_pending ORDER BY id LIMIT ?)`, over);
    this.rows = this.cap();
    if (this.dropped === 0) console.error(JSON.stringify({ msg: "audit pending full; oldest rows dropped", dropped: over, cap: this.cap() }));
    this.dropped += over;
  }

  private rowCount(): number {
    this.rows ??= this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_pending`).one().n;
    return this.rows;
  }

  /** Every account's rows and counts to D1, AUDIT_BATCH rows per batch; what D1 refuses stays for the next flush. */
  async flush(): Promise<void> {
    if (this.dropped > 0) {
      console.error(JSON.stringify({ msg: "audit rows dropped at the cap since the last flush", dropped: this.dropped, cap: this.cap() }));
      this.dropped = 0;
    }
    for (let round = 0; round < AUDIT_ROUNDS_PER_FLUSH; round++) {
      const rows = this.sql
        .exec<AuditRow & { id: number }>(`SELECT id, ${AUDIT_SELECT} FROM audit_pending ORDER BY id LIMIT ?`, AUDIT_BATCH)
        .toArray();
      const counts = this.sql.exec<DecisionCount>(`SELECT minute, action, enforced, count FROM counts_pending`).toArray();
      if (rows.length === 0 && counts.length === 0) {
        this.pending = false;
        return;
      }
      try {
        await this.db.batch([...auditLogStatements(this.db, rows), ...decisionCountStatements(this.db, counts)]);
      } catch (err) {
        // Kept for the next flush: nothing is deleted until D1 has it.
        console.error(JSON.stringify({ msg: "audit batch failed; will retry", rows: rows.length, error: String(err) }));
        return;
      }
      // Rows and counts that arrived while the batch was in flight stay for the next round.
      const lastId = rows.at(-1)?.id;
      if (lastId !== undefined) this.sql.exec(`DELETE FROM audit_pending WHERE id <= ?`, lastId);
      this.rows = null;
      for (const c of counts) {
        this.sql.exec(
          `UPDATE counts_pending SET count = count - ? WHERE minute = ? AND action = ? AND enforced = ?`,
          c.count, c.minute, c.action, c.enforced,
        );
      }
      this.sql.exec(`DELETE FROM counts_pending WHERE count <= 0`);
      if (rows.length < AUDIT_BATCH) {
        this.pending = null;
        return;
      }
    }
  }

  /** Drops the tables (a legacy store, once empty). */
  drop(): void {
    this.sql.exec(`DROP TABLE IF EXISTS audit_pending`);
    this.sql.exec(`DROP TABLE IF EXISTS counts_pending`);
    this.pending = false;
  }
}
