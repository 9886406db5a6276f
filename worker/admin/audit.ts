/**
 * The audit log in D1: operator changes are written here synchronously (an
 * admin call that returns has been recorded); enforcement decisions arrive in
 * batches from elsewhere. `GET /admin/audit` pages newest first, keyset on id.
 */
import { Hono } from "hono";
import * as z from "../../lib/zod.ts";
import { AUDIT_SELECT, auditLogStatements, type AuditLogRow, type AuditRow } from "../../lib/audit.ts";
import type { AppEnv } from "../context.ts";
import { cursorParam, decodeCursor, isoParam, limitParam, page, parseQuery, splitReasons } from "./validate.ts";

/** An operator's change, as the admin routes describe it. */
export type AuditEntry = {
  kind: "override" | "admin";
  action: string;
  accountId?: string | null;
  reasons?: string[];
  cluster?: string | null;
  /** Plain facts about the change: never keys, prompt text, billing or payment data. */
  detail?: Record<string, unknown>;
};

function auditRow(entry: AuditEntry, at: number): AuditRow {
  return {
    at,
    kind: entry.kind,
    requestId: null,
    accountId: entry.accountId ?? null,
    action: entry.action,
    enforced: null,
    reasons: entry.reasons?.length ? entry.reasons.join(",") : null,
    risk: null,
    country: null,
    cluster: entry.cluster ?? null,
    detail: entry.detail ? JSON.stringify(entry.detail) : null,
    count: 1,
  };
}

/** Audit entries in as few statements as the rows allow (one for up to 500), for the same D1 batch as their change. */
export function auditStatements(db: D1Database, entries: readonly AuditEntry[]): D1PreparedStatement[] {
  const at = Date.now();
  return auditLogStatements(db, entries.map((entry) => auditRow(entry, at)));
}

export async function writeAudit(db: D1Database, entry: AuditEntry): Promise<void> {
  await db.batch(auditStatements(db, [entry]));
}

/** The audit log's rows as the admin API reads them (`FROM audit_log`, then any WHERE). */
export const AUDIT_LOG_SELECT = `SELECT id, ${AUDIT_SELECT} FROM audit_log`;

function parseDetail(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function publicAuditEntry(row: AuditLogRow) {
  return {
    id: row.id,
    at: row.at,
    kind: row.kind,
    requestId: row.requestId,
    account: row.accountId,
    action: row.action,
    enforced: row.enforced === null ? null : row.enforced === 1,
    reasons: splitReasons(row.reasons),
    risk: row.risk,
    country: row.country,
    cluster: row.cluster,
    detail: parseDetail(row.detail),
    // Decisions this row stands for: an account's repeats of one decision within a minute (lib/audit.ts).
    count: row.count,
  };
}

const auditQuery = z.strictObject({
  limit: limitParam(100, 500),
  cursor: cursorParam,
  account: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  kind: z.optional(z.enum(["decision", "override", "admin"])),
  action: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  reason: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  cluster: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
  since: z.optional(isoParam),
  until: z.optional(isoParam),
});

export function auditRoutes() {
  return new Hono<AppEnv>().get("/", async (c) => {
    const q = parseQuery(c, auditQuery);
    const before = decodeCursor(q.cursor, z.tuple([z.number().check(z.int())]));
    // Only the filters given join the WHERE clause (fixed fragments, values bound), so SQLite can
    // seek on the primary key and the (account_id, id) / (kind, id) indexes instead of scanning.
    const filters: Array<[string, string | number | undefined]> = [
      ["id < ?", before?.[0]],
      ["account_id = ?", q.account],
      ["kind = ?", q.kind],
      ["action = ?", q.action],
      ["instr(',' || reasons || ',', ',' || ? || ',') > 0", q.reason],
      ["cluster = ?", q.cluster],
      ["at >= ?", q.since],
      ["at < ?", q.until],
    ];
    const active = filters.filter((f): f is [string, string | number] => f[1] !== undefined);
    const where = active.length ? `WHERE ${active.map(([sql]) => sql).join(" AND ")}` : "";
    const { results } = await c.env.DB.prepare(`${AUDIT_LOG_SELECT} ${where} ORDER BY id DESC LIMIT ?`)
      .bind(...active.map(([, value]) => value), q.limit + 1)
      .all<AuditLogRow>();
    const { items, nextCursor } = page(results, q.limit, (row) => [row.id]);
    return c.json({ entries: items.map(publicAuditEntry), nextCursor });
  });
}
