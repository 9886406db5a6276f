/**
 * The account object's SQLite schema: MIGRATIONS upgrade an existing object
 * one version at a time; ACCOUNT_SCHEMA is where they end, written out, so a
 * new object (every account's first request: most of a hydra's objects) is
 * created without ALTER TABLE, which re-reads the whole schema each time. A
 * test checks that both give the same tables and columns.
 */

/** Versioned schema: each entry upgrades from the previous version; statements are idempotent. */
export const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS window_buckets (
       start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL,
       requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
       PRIMARY KEY (start_ms, end_ms))`,
    `CREATE TABLE IF NOT EXISTS day_buckets (
       start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL, exchanges INTEGER NOT NULL,
       PRIMARY KEY (start_ms, end_ms))`,
    `CREATE TABLE IF NOT EXISTS leases (
       id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
       bucket_start INTEGER NOT NULL, bucket_end INTEGER NOT NULL,
       input_reserved INTEGER NOT NULL, output_reserved INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS risk_signals (
       signal TEXT PRIMARY KEY, points REAL NOT NULL, updated_at INTEGER NOT NULL, last_at INTEGER NOT NULL, count INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS overrides (
       kind TEXT PRIMARY KEY, multiplier REAL, reason TEXT NOT NULL, expires_at INTEGER, created_at INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS cluster_verdicts (
       cluster TEXT PRIMARY KEY, verdict TEXT NOT NULL, cap_per_window INTEGER, reasons TEXT NOT NULL, decided_at INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS fingerprints (
       key TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS places (
       kind TEXT NOT NULL, value TEXT NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL,
       PRIMARY KEY (kind, value))`,
    `CREATE TABLE IF NOT EXISTS audit_outbox (
       id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, request_id TEXT,
       action TEXT, enforced INTEGER, reasons TEXT, risk REAL, country TEXT, cluster TEXT, detail TEXT)`,
    `CREATE TABLE IF NOT EXISTS recent_decisions (
       slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL, request_id TEXT NOT NULL,
       action TEXT NOT NULL, enforced INTEGER NOT NULL, reasons TEXT NOT NULL, risk REAL NOT NULL)`,
  ],
  [
    // Per-minute decision counts, allow included, handed to the collector with the audit rows.
    `CREATE TABLE IF NOT EXISTS decision_counts (
       minute INTEGER NOT NULL, action TEXT NOT NULL, enforced INTEGER NOT NULL, count INTEGER NOT NULL,
       PRIMARY KEY (minute, action, enforced))`,
  ],
  [
    // What a cluster's own requests look like (dominant template bands, elicitation): see verdictApplies.
    `ALTER TABLE cluster_verdicts ADD COLUMN signature TEXT`,
  ],
  [
    // When the cluster last restated the verdict: the time-to-live counts from here, not from the decision.
    `ALTER TABLE cluster_verdicts ADD COLUMN refreshed_at INTEGER`,
  ],
  [
    // One bucket table for every counter window (the sliding window's requests and tokens, the day's
    // exchanges as its requests), so one store counts, prunes and loads both.
    `CREATE TABLE IF NOT EXISTS counter_buckets (
       scope TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL,
       requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
       PRIMARY KEY (scope, start_ms, end_ms)) WITHOUT ROWID`,
    `CREATE TABLE IF NOT EXISTS window_buckets (
       start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL,
       requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
       PRIMARY KEY (start_ms, end_ms))`,
    `CREATE TABLE IF NOT EXISTS day_buckets (
       start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL, exchanges INTEGER NOT NULL,
       PRIMARY KEY (start_ms, end_ms))`,
    `INSERT OR IGNORE INTO counter_buckets (scope, start_ms, end_ms, expires_at, requests, input_tokens, output_tokens)
       SELECT 'window', start_ms, end_ms, expires_at, requests, input_tokens, output_tokens FROM window_buckets`,
    `INSERT OR IGNORE INTO counter_buckets (scope, start_ms, end_ms, expires_at, requests, input_tokens, output_tokens)
       SELECT 'day', start_ms, end_ms, expires_at, exchanges, 0, 0 FROM day_buckets`,
    `DROP TABLE window_buckets`,
    `DROP TABLE day_buckets`,
  ],
  [
    // Repeats of one decision within a minute are one audit row with a count (lib/audit.ts).
    `ALTER TABLE audit_outbox ADD COLUMN count INTEGER NOT NULL DEFAULT 1`,
  ],
  [
    // Allowances held by isolates (lib/quota/allowance.ts): their slots count until given back.
    `CREATE TABLE IF NOT EXISTS allowances (
       id TEXT PRIMARY KEY, deadline INTEGER NOT NULL, window_start INTEGER NOT NULL, window_end INTEGER NOT NULL,
       day_start INTEGER NOT NULL, day_end INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
       output_tokens INTEGER NOT NULL, slots INTEGER NOT NULL) WITHOUT ROWID`,
    // The last 50 decisions as one row: written by the alarm, one row instead of up to fifty each time.
    // (The decisions an older object listed are not carried over: an operator's view, refilled by the next 50.)
    `CREATE TABLE IF NOT EXISTS recent_list (id INTEGER PRIMARY KEY, decisions TEXT NOT NULL)`,
    `DROP TABLE IF EXISTS recent_decisions`,
  ],
  [
    // Who holds each allowance and when it ends, for the admin API's list of allowances out.
    `ALTER TABLE allowances ADD COLUMN holder TEXT NOT NULL DEFAULT 'unknown'`,
    `ALTER TABLE allowances ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0`,
  ],
];

/**
 * The schema after every migration, for a new object. Tables keyed by text or by several columns are
 * WITHOUT ROWID: the key is the table, not a second b-tree beside it, so a new object allocates about
 * half the pages and every upsert writes one b-tree instead of two. (Objects created before keep their
 * rowid tables; the columns, which is all the code relies on, are the same.)
 */
export const ACCOUNT_SCHEMA: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE counter_buckets (
     scope TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
     PRIMARY KEY (scope, start_ms, end_ms)) WITHOUT ROWID`,
  `CREATE TABLE leases (
     id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     bucket_start INTEGER NOT NULL, bucket_end INTEGER NOT NULL,
     input_reserved INTEGER NOT NULL, output_reserved INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE risk_signals (
     signal TEXT PRIMARY KEY, points REAL NOT NULL, updated_at INTEGER NOT NULL, last_at INTEGER NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE overrides (
     kind TEXT PRIMARY KEY, multiplier REAL, reason TEXT NOT NULL, expires_at INTEGER, created_at INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE cluster_verdicts (
     cluster TEXT PRIMARY KEY, verdict TEXT NOT NULL, cap_per_window INTEGER, reasons TEXT NOT NULL, decided_at INTEGER NOT NULL,
     signature TEXT, refreshed_at INTEGER) WITHOUT ROWID`,
  `CREATE TABLE fingerprints (
     key TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE places (
     kind TEXT NOT NULL, value TEXT NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     PRIMARY KEY (kind, value)) WITHOUT ROWID`,
  `CREATE TABLE audit_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, request_id TEXT,
     action TEXT, enforced INTEGER, reasons TEXT, risk REAL, country TEXT, cluster TEXT, detail TEXT,
     count INTEGER NOT NULL DEFAULT 1)`,
  `CREATE TABLE recent_list (id INTEGER PRIMARY KEY, decisions TEXT NOT NULL)`,
  `CREATE TABLE decision_counts (
     minute INTEGER NOT NULL, action TEXT NOT NULL, enforced INTEGER NOT NULL, count INTEGER NOT NULL,
     PRIMARY KEY (minute, action, enforced)) WITHOUT ROWID`,
  `CREATE TABLE allowances (
     id TEXT PRIMARY KEY, deadline INTEGER NOT NULL, window_start INTEGER NOT NULL, window_end INTEGER NOT NULL,
     day_start INTEGER NOT NULL, day_end INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL, slots INTEGER NOT NULL, holder TEXT NOT NULL DEFAULT 'unknown',
     expires_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID`,
];
