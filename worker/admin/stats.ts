/**
 * Decisions over time for the operator console, from D1 `decision_counts`
 * (per-minute counts by action that the account objects flush with their audit
 * batches), so a chart costs one indexed range query and no D1 write per request.
 */
import { Hono } from "hono";
import * as z from "../../lib/zod.ts";
import { ACTIONS, type Action } from "../../lib/decision.ts";
import type { AppEnv } from "../context.ts";
import { isoParam, parseQuery } from "./validate.ts";

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
  }),
  z.transform((q) => {
    const until = q.until === undefined ? Date.now() : Date.parse(q.until);
    const since = q.since === undefined ? until - DEFAULT_RANGE_MS : Date.parse(q.since);
    // Without a bucket, the finest one that keeps the series under the cap.
    const bucket = q.bucket ?? BUCKET_NAMES.find((name) => bucketCount(since, until, name) <= MAX_BUCKETS) ?? "1d";
    return { since, until, bucket };
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

export function statsRoutes() {
  // GET /decisions?since=&until=&bucket=: a dense series (every bucket present, zeros included)
  // aligned to UTC bucket boundaries, enforced and shadow decisions counted apart.
  return new Hono<AppEnv>().get("/decisions", async (c) => {
    const q = parseQuery(c, statsQuery);
    const width = BUCKETS[q.bucket];
    const start = Math.floor(q.since / width) * width;
    const end = Math.ceil(q.until / width) * width;
    const { results } = await c.env.DB.prepare(
      // D1 binds JS numbers as REAL: the cast keeps the slot an integer index.
      `SELECT CAST((minute - ?1) / ?2 AS INTEGER) AS slot, action, enforced, SUM(count) AS n FROM decision_counts
       WHERE minute >= ?1 AND minute < ?3 GROUP BY slot, action, enforced`,
    )
      .bind(start, width, end)
      .all<CountRow>();

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
      actions: ACTIONS,
      series,
      totals,
    });
  });
}
