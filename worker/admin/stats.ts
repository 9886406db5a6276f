/**
 * Decisions over time for the operator console, from D1 `decision_counts`
 * (per-minute counts by action that the account objects flush with their audit
 * batches), so a chart costs one indexed range query and no D1 write per request.
 */
import { Hono } from "hono";
import * as z from "../../lib/zod.ts";
import { ACTIONS, type Action } from "../../lib/decision.ts";
import type { AppEnv } from "../context.ts";
import { accountIdSchema } from "../../lib/accounts.ts";
import { isoParam, limitParam, parseQuery, splitReasons } from "./validate.ts";

const MINUTE = 60_000;
const BUCKETS = { "1m": MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "1h": 60 * MINUTE, "6h": 360 * MINUTE, "1d": 1_440 * MINUTE } as const;
type Bucket = keyof typeof BUCKETS;
const BUCKET_NAMES = Object.keys(BUCKETS) as [Bucket, ...Bucket[]];

// 1,440 points: a day by the minute or two months by the hour, more than a chart can show;
// it bounds the answer's size and the zero-filling loop whatever the query asks.
const MAX_BUCKETS = 1_440;
const DEFAULT_RANGE_MS = 60 * MINUTE;

/** Buckets between since and until once both are aligned outward to UTC bucket boundaries. */
function bucketCount(since: number, until: number, bucket: Bucket): number {
  const width = BUCKETS[bucket];
  return Math.ceil(until / width) - Math.floor(since / width);
}

const statsQuery = z.pipe(
  z.strictObject({
    since: z.optional(isoParam),
    until: z.optional(isoParam),
    bucket: z.optional(z.enum(BUCKET_NAMES)),
    account: z.optional(accountIdSchema),
  }),
  z.transform((q) => {
    const until = q.until === undefined ? Date.now() : Date.parse(q.until);
    const since = q.since === undefined ? until - DEFAULT_RANGE_MS : Date.parse(q.since);
    // Without a bucket, the finest one that keeps the series under the cap.
    const bucket = q.bucket ?? BUCKET_NAMES.find((name) => bucketCount(since, until, name) <= MAX_BUCKETS) ?? "1d";
    return { since, until, bucket, account: q.account };
  }),
).check(
  z.superRefine((q, ctx) => {
    if (q.until <= q.since) {
      ctx.addIssue({ code: "custom", path: ["until"], message: "must be after since" });
    } else if (bucketCount(q.since, q.until, q.bucket) > MAX_BUCKETS) {
      ctx.addIssue({ code: "custom", path: ["bucket"], message: `more than ${MAX_BUCKETS} buckets in this range: choose a larger bucket` });
    }
  }),
);

type Counts = Record<Action, number>;
type CountRow = { slot: number; action: string; enforced: number; n: number };

const zeroCounts = (): Counts => ({ allow: 0, tag: 0, degrade: 0, throttle: 0, block: 0 });
const isAction = (value: string): value is Action => (ACTIONS as readonly string[]).includes(value);

// The newest audit rows a top list reads at most: `at` has no index, so a range is a scan, and this
// bounds it (an audit row already stands for an account's repeats within a minute, so 200,000 rows
// are hours of a large campaign). `complete: false` says the range reached past them.
const TOP_SCAN_ROWS = 200_000;

const topQuery = z.pipe(
  z.strictObject({ since: z.optional(isoParam), until: z.optional(isoParam), limit: limitParam(10, 100) }),
  z.transform((q) => {
    const until = q.until ?? new Date().toISOString();
    return { until, since: q.since ?? new Date(Date.parse(until) - DEFAULT_RANGE_MS).toISOString(), limit: q.limit };
  }),
).check(
  z.superRefine((q, ctx) => {
    if (q.until <= q.since) ctx.addIssue({ code: "custom", path: ["until"], message: "must be after since" });
  }),
);

type TopRow = { account_id: string | null; cluster: string | null; reasons: string | null; action: string; n: number; last_at: string };

/** Adds n to a tally, keeping the latest time seen. */
function tally<K>(map: Map<K, { decisions: number; lastAt: string; actions: Counts }>, key: K, row: TopRow): void {
  const entry = map.get(key) ?? { decisions: 0, lastAt: row.last_at, actions: zeroCounts() };
  entry.decisions += row.n;
  if (row.last_at > entry.lastAt) entry.lastAt = row.last_at;
  if (isAction(row.action)) entry.actions[row.action] += row.n;
  map.set(key, entry);
}

function ranked<K>(map: Map<K, { decisions: number; lastAt: string; actions: Counts }>, limit: number) {
  return [...map.entries()].sort((a, b) => b[1].decisions - a[1].decisions || String(a[0]).localeCompare(String(b[0]))).slice(0, limit);
}

export function statsRoutes() {
  const routes = new Hono<AppEnv>();

  // GET /top?since=&until=&limit=: the accounts, reasons and clusters behind the range's audited
  // decisions (every decision but a plain allow), most decisions first.
  routes.get("/top", async (c) => {
    const q = parseQuery(c, topQuery);
    const [grouped, oldest] = await c.env.DB.batch([
      c.env.DB.prepare(
        `SELECT account_id, cluster, reasons, action, SUM(count) AS n, MAX(at) AS last_at FROM audit_log
         WHERE kind = 'decision' AND id > (SELECT COALESCE(MAX(id), 0) FROM audit_log) - ?3 AND at >= ?1 AND at < ?2
         GROUP BY account_id, cluster, reasons, action`,
      ).bind(q.since, q.until, TOP_SCAN_ROWS),
      // Primary-key seeks only: did the bound leave rows out, and from when does what it read start.
      c.env.DB.prepare(
        `WITH bound AS (SELECT COALESCE(MAX(id), 0) - ?1 AS id FROM audit_log)
         SELECT (SELECT at FROM audit_log WHERE id > (SELECT id FROM bound) ORDER BY id LIMIT 1) AS first_at,
                EXISTS (SELECT 1 FROM audit_log WHERE id <= (SELECT id FROM bound)) AS cut`,
      ).bind(TOP_SCAN_ROWS),
    ]);
    const rows = (grouped?.results ?? []) as TopRow[];
    const accounts = new Map<string, { decisions: number; lastAt: string; actions: Counts }>();
    const reasons = new Map<string, { decisions: number; lastAt: string; actions: Counts }>();
    const clusters = new Map<string, { decisions: number; lastAt: string; actions: Counts }>();
    const clusterAccounts = new Map<string, Set<string>>();
    let decisions = 0;
    for (const row of rows) {
      decisions += row.n;
      if (row.account_id !== null) tally(accounts, row.account_id, row);
      for (const reason of splitReasons(row.reasons)) tally(reasons, reason, row);
      if (row.cluster !== null) {
        tally(clusters, row.cluster, row);
        if (row.account_id !== null) clusterAccounts.set(row.cluster, (clusterAccounts.get(row.cluster) ?? new Set()).add(row.account_id));
      }
    }
    const scan = (oldest?.results[0] ?? null) as { first_at: string | null; cut: number } | null;
    return c.json({
      since: q.since,
      until: q.until,
      decisions,
      // False when the scan bound cut the range short: the lists then cover only its newest part.
      complete: !scan || scan.cut === 0 || (scan.first_at !== null && scan.first_at <= q.since),
      accounts: ranked(accounts, q.limit).map(([account, t]) => ({ account, ...t })),
      reasons: ranked(reasons, q.limit).map(([reason, t]) => ({ reason, ...t })),
      clusters: ranked(clusters, q.limit).map(([cluster, t]) => ({ cluster, accounts: clusterAccounts.get(cluster)?.size ?? 0, ...t })),
    });
  });

  // GET /decisions?since=&until=&bucket=[&account=]: a dense series (every bucket present, zeros included)
  // aligned to UTC bucket boundaries, enforced and shadow decisions counted apart.
  return routes.get("/decisions", async (c) => {
    const q = parseQuery(c, statsQuery);
    const width = BUCKETS[q.bucket];
    const start = Math.floor(q.since / width) * width;
    const end = Math.ceil(q.until / width) * width;
    // D1 binds JS numbers as REAL: the casts keep the slot an integer index.
    const { results } = await (q.account === undefined
      ? c.env.DB.prepare(
          `SELECT CAST((minute - ?1) / ?2 AS INTEGER) AS slot, action, enforced, SUM(count) AS n FROM decision_counts
           WHERE minute >= ?1 AND minute < ?3 GROUP BY slot, action, enforced`,
        ).bind(start, width, end)
      : // One account's series from its audit rows (decision_counts has no account column): every decision
        // but a plain allow, each row standing for its repeats within a minute. Seeks on (account_id, id).
        c.env.DB.prepare(
          `SELECT CAST((CAST(strftime('%s', at) AS INTEGER) * 1000 - ?1) / ?2 AS INTEGER) AS slot, action, enforced, SUM(count) AS n
           FROM audit_log WHERE account_id = ?4 AND kind = 'decision' AND at >= ?5 AND at < ?6 GROUP BY slot, action, enforced`,
        ).bind(start, width, end, q.account, new Date(start).toISOString(), new Date(end).toISOString())
    ).all<CountRow>();

    const series = Array.from({ length: (end - start) / width }, (_, i) => ({
      start: new Date(start + i * width).toISOString(),
      enforced: zeroCounts(),
      shadow: zeroCounts(),
    }));
    const totals = { enforced: zeroCounts(), shadow: zeroCounts() };
    for (const row of results) {
      const point = series[row.slot];
      // An action this gateway no longer knows stays out of the chart rather than failing it.
      if (!point || !isAction(row.action)) continue;
      const side = row.enforced === 1 ? "enforced" : "shadow";
      point[side][row.action] += row.n;
      totals[side][row.action] += row.n;
    }
    return c.json({
      since: new Date(start).toISOString(),
      until: new Date(end).toISOString(),
      bucket: q.bucket,
      bucketSeconds: width / 1000,
      // What the counts are: every decision (decision_counts), or one account's audited ones (no plain allows).
      source: q.account === undefined ? "decision_counts" : "audit_log",
      actions: ACTIONS,
      series,
      totals,
    });
  });
}
