/**
 * Indicator imports: sets another gateway or provider exported (the format of
 * `GET /admin/indicators`), kept in D1 with an expiry. Every import and delete
 * rewrites the active set in KV, which is all the edge reads
 * (worker/shared-indicators.ts); D1 is never read per request.
 *
 *   POST   /admin/indicators/imports        {"source","expiresAt","document"} → 201 {"import"}
 *   GET    /admin/indicators/imports        → {"imports":[…]}, newest first
 *   DELETE /admin/indicators/imports/{id}   → {"deleted"}
 */
import { Hono } from "hono";
import { ACTIVE_INDICATORS_KEY, canonicalPrefix, indicatorKey, type ActiveIndicators } from "../../lib/shared-indicators.ts";
import * as z from "../../lib/zod.ts";
import { parseJsonBody, readBounded } from "../body.ts";
import type { AppEnv } from "../context.ts";
import { GatewayError } from "../errors.ts";
import { refreshIndicatorsNow } from "../shared-indicators.ts";
import { writeAudit } from "./audit.ts";
import { INDICATOR_FORMAT, INDICATOR_VERSION, toIndicator } from "./indicators.ts";
import { notFound, parse, parseQuery } from "./validate.ts";

// The export's own bound: one import is at most one export document.
const MAX_INDICATORS_PER_IMPORT = 10_000;
// 100,000 entries of ~40 bytes is ~4 MB of KV value (the limit is 25 MiB) that each isolate compiles
// once per TTL into a few maps; more would make a cold isolate's first request slow.
const MAX_ACTIVE_ENTRIES = 100_000;
// 8 MB: a full 10,000-indicator export with its counts and dates, with room; above the admin
// API's usual 1 MB because the document is the other side's, not ours to keep small.
const MAX_IMPORT_BYTES = 8 * 1024 * 1024;
// A year: an indicator older than that describes a campaign that has long moved on.
const MAX_EXPIRY_MS = 366 * 86_400_000;

const importBody = z.strictObject({
  source: z.string().check(z.trim(), z.minLength(1), z.maxLength(128)),
  expiresAt: z.iso.datetime({ offset: true }).check(
    z.refine((s) => Date.parse(s) > Date.now(), "must be in the future"),
    z.refine((s) => Date.parse(s) <= Date.now() + MAX_EXPIRY_MS, "must be within a year"),
  ),
  document: z.looseObject({
    format: z.literal(INDICATOR_FORMAT),
    version: z.literal(INDICATOR_VERSION),
    indicators: z.array(z.looseObject({ type: z.string(), value: z.string() })).check(z.maxLength(MAX_INDICATORS_PER_IMPORT)),
  }),
});

const importId = z.string().check(z.regex(/^imp_[0-9a-f]{32}$/, "not an import id"));

type ImportRow = {
  id: string;
  source: string;
  created_at: number;
  expires_at: number;
  indicators: number;
  rejected: number;
  matches: number;
  last_matched_at: number | null;
};

/**
 * An export's indicators as local fingerprint keys and canonical prefixes. A value must have the
 * shape the export itself allows for its type (toIndicator), so an import cannot smuggle in
 * something the export would never carry; anything else is counted as rejected.
 */
export function normaliseIndicators(indicators: ReadonlyArray<{ type: string; value: string }>): { keys: string[]; prefixes: string[]; rejected: number } {
  const keys = new Set<string>();
  const prefixes = new Set<string>();
  let rejected = 0;
  for (const { type, value } of indicators) {
    if (type === "prefix") {
      const checked = toIndicator(`prefix:${value}`);
      const canonical = "omit" in checked ? null : canonicalPrefix(value);
      if (canonical === null) rejected++;
      else prefixes.add(canonical);
      continue;
    }
    const key = indicatorKey(type, value);
    const checked = key === null ? null : toIndicator(key);
    if (key === null || checked === null || "omit" in checked || checked.type !== type) rejected++;
    else keys.add(key);
  }
  return { keys: [...keys], prefixes: [...prefixes], rejected };
}

function publicImport(row: ImportRow, now: number) {
  return {
    id: row.id,
    source: row.source,
    indicators: row.indicators,
    rejected: row.rejected,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
    active: row.expires_at > now,
    // Requests that carried one of its indicators (a lower bound: the edge adds them in batches).
    matches: row.matches,
    lastMatchedAt: row.last_matched_at === null ? null : new Date(row.last_matched_at).toISOString(),
  };
}

/** The live imports, as the edge reads them; written after every change. */
async function writeActiveSet(env: Env, now: number): Promise<void> {
  const { results } = await env.DB.prepare(
    "SELECT id, expires_at, keys, prefixes FROM indicator_imports WHERE expires_at > ? ORDER BY created_at",
  )
    .bind(now)
    .all<{ id: string; expires_at: number; keys: string; prefixes: string }>();
  const active: ActiveIndicators = {
    updatedAt: now,
    imports: results.map((r) => ({ id: r.id, expiresAt: r.expires_at, keys: JSON.parse(r.keys) as string[], prefixes: JSON.parse(r.prefixes) as string[] })),
  };
  await env.CONFIG.put(ACTIVE_INDICATORS_KEY, JSON.stringify(active));
  // This isolate at once; the others within cache.policyTtlSeconds.
  await refreshIndicatorsNow(env.CONFIG);
}

/** Entries in live imports, to hold the active set under MAX_ACTIVE_ENTRIES. */
async function activeEntries(db: D1Database, now: number): Promise<number> {
  const row = await db
    .prepare("SELECT COALESCE(SUM(json_array_length(keys) + json_array_length(prefixes)), 0) AS n FROM indicator_imports WHERE expires_at > ?")
    .bind(now)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export function indicatorImportRoutes() {
  const routes = new Hono<AppEnv>();

  routes.post("/", async (c) => {
    const bytes = await readBounded(c.req.raw, MAX_IMPORT_BYTES);
    const input = parse(importBody, bytes && bytes.byteLength > 0 ? parseJsonBody(bytes) : undefined, "body");
    const now = Date.now();
    const { keys, prefixes, rejected } = normaliseIndicators(input.document.indicators);
    const entries = keys.length + prefixes.length;
    if (entries === 0) throw new GatewayError("invalid_request_error", "body.document.indicators: no indicator this gateway can match");
    if ((await activeEntries(c.env.DB, now)) + entries > MAX_ACTIVE_ENTRIES) {
      throw new GatewayError("invalid_request_error", `the active imports would hold more than ${MAX_ACTIVE_ENTRIES} indicators; delete an older import first`);
    }
    const row: ImportRow = {
      id: `imp_${crypto.randomUUID().replaceAll("-", "")}`,
      source: input.source,
      created_at: now,
      expires_at: Date.parse(input.expiresAt),
      indicators: entries,
      rejected,
      matches: 0,
      last_matched_at: null,
    };
    await c.env.DB.prepare(
      "INSERT INTO indicator_imports (id, source, created_at, expires_at, indicators, rejected, keys, prefixes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
      .bind(row.id, row.source, row.created_at, row.expires_at, row.indicators, row.rejected, JSON.stringify(keys), JSON.stringify(prefixes))
      .run();
    await writeActiveSet(c.env, now);
    await writeAudit(c.env.DB, {
      kind: "admin",
      action: "indicator_import",
      detail: { import: row.id, source: row.source, indicators: entries, rejected, expiresAt: input.expiresAt },
    });
    return c.json({ import: publicImport(row, now) }, 201);
  });

  routes.get("/", async (c) => {
    parseQuery(c, z.strictObject({}));
    const { results } = await c.env.DB.prepare(
      "SELECT id, source, created_at, expires_at, indicators, rejected, matches, last_matched_at FROM indicator_imports ORDER BY created_at DESC, id LIMIT 1000",
    ).all<ImportRow>();
    const now = Date.now();
    return c.json({ imports: results.map((r) => publicImport(r, now)) });
  });

  routes.delete("/:id", async (c) => {
    const id = parse(importId, c.req.param("id"), "path");
    const row = await c.env.DB.prepare("SELECT id, source, created_at, expires_at, indicators, rejected, matches, last_matched_at FROM indicator_imports WHERE id = ?")
      .bind(id)
      .first<ImportRow>();
    if (row === null) throw notFound("import");
    await c.env.DB.prepare("DELETE FROM indicator_imports WHERE id = ?").bind(id).run();
    const now = Date.now();
    await writeActiveSet(c.env, now);
    await writeAudit(c.env.DB, { kind: "admin", action: "indicator_import_delete", detail: { import: id, source: row.source } });
    return c.json({ deleted: publicImport(row, now) });
  });

  return routes;
}
