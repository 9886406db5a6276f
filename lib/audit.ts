/**
 * The audit log's row, declared once for every place a row passes through: an account object's
 * outbox, the hand-off to its cluster collector, the collector's pending table, the D1 `audit_log`
 * writer (collector flushes and operator changes) and the admin API's reader.
 *
 * A row carries `at` in epoch ms until it reaches D1, which stores ISO 8601 text: operators read it
 * as it is, and the admin API's `since`/`until` compare it as text.
 */
import { insertRows, type Cell } from "./d1-rows.ts";

export type AuditRow = {
  at: number;
  /** decision | override | admin */
  kind: string;
  requestId: string | null;
  accountId: string | null;
  action: string | null;
  /** 1 enforced, 0 shadow; null for an operator's row. */
  enforced: number | null;
  /** Reason codes, comma-separated. */
  reasons: string | null;
  risk: number | null;
  country: string | null;
  cluster: string | null;
  /** JSON text of plain facts: never prompt text, keys, billing or payment data. */
  detail: string | null;
  /**
   * Decisions this row stands for: an account's repeats of one decision (action, enforcement, reasons,
   * rule) within one minute are one row, so a throttled client hammering away costs one row a minute,
   * not one per request. The first decision's request id, risk, country and detail stand for the rest.
   */
  count: number;
};

/** A row as D1's `audit_log` returns it: numbered, and `at` as ISO text. */
export type AuditLogRow = Omit<AuditRow, "at"> & { id: number; at: string };

/** A row in an account object's outbox: the account travels once per hand-off, not on each row. */
export type AccountAuditRow = Omit<AuditRow, "accountId">;

/** Per-minute decision counts, allow included (D1 `decision_counts`). */
export type DecisionCount = { minute: number; action: string; enforced: number; count: number };

/**
 * Audit rows and decision counts an account object hands to its collector
 * with its report: the collector stores them before it answers, and writes
 * every account's rows to D1 in one batch per flush, so a 24,000-account
 * campaign costs D1 a few batches per interval, not 24,000.
 */
export type AuditHandoff = { accountId: string; rows: AccountAuditRow[]; counts: DecisionCount[] };

/** Each field's column, in the order every audit table declares them (D1 `audit_log`, the objects' outbox and pending tables). */
const COLUMN_OF = {
  at: "at",
  kind: "kind",
  requestId: "request_id",
  accountId: "account_id",
  action: "action",
  enforced: "enforced",
  reasons: "reasons",
  risk: "risk",
  country: "country",
  cluster: "cluster",
  detail: "detail",
  count: "count",
} as const satisfies { [F in keyof AuditRow]: string };

const FIELDS = Object.keys(COLUMN_OF) as (keyof AuditRow)[];

/** The columns of every table that holds audit rows, in AuditRow's order (an `id` key comes on top). */
export const AUDIT_COLUMNS: readonly string[] = FIELDS.map((f) => COLUMN_OF[f]);

/** A SELECT list that reads any audit table's row back as an AuditRow (`SELECT id, ${AUDIT_SELECT} FROM …`). */
export const AUDIT_SELECT: string = FIELDS.map((f) => (COLUMN_OF[f] === f ? f : `${COLUMN_OF[f]} AS ${f}`)).join(", ");

/** A row's cells in AUDIT_COLUMNS order; `at` as D1 stores it (ISO text) or as the objects do (epoch ms). */
export function auditCells(row: AuditRow, at: "iso" | "epoch"): Cell[] {
  return FIELDS.map((f) => (f === "at" && at === "iso" ? new Date(row.at).toISOString() : row[f]));
}

/** D1 statements that append rows to `audit_log`: one per 500 rows, whatever their number (see insertRows). */
export function auditLogStatements(db: D1Database, rows: readonly AuditRow[]): D1PreparedStatement[] {
  return insertRows(db, "audit_log", AUDIT_COLUMNS, rows.map((row) => auditCells(row, "iso")));
}

/** D1 statements that add counts to `decision_counts` (a minute's count grows as more objects hand theirs over). */
export function decisionCountStatements(db: D1Database, counts: readonly DecisionCount[]): D1PreparedStatement[] {
  if (counts.length === 0) return [];
  const add = db.prepare(
    `INSERT INTO decision_counts (minute, action, enforced, count) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (minute, action, enforced) DO UPDATE SET count = count + excluded.count`,
  );
  return counts.map((c) => add.bind(c.minute, c.action, c.enforced, c.count));
}
