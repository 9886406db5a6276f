/**
 * The indicator export: what confirmed clusters have in common, in a versioned
 * JSON format meant to leave the company (abuse teams, other providers).
 *
 * It carries fingerprint values that are already hashes or network facts, and
 * counts. It never carries prompt text, API keys, account ids (not even the
 * `cc:` component ids, which derive from one), billing or payment data: every
 * value must match the shape its type allows, and anything else is dropped and
 * only counted under `omitted`. Payment fingerprints are always omitted: a
 * hash of a card fingerprint is still a linkable identifier of a person, and a
 * salted one matches nothing outside this gateway.
 */
import { Hono } from "hono";
import * as z from "../../lib/zod.ts";
import type { AppEnv } from "../context.ts";
import { parseKeyList } from "./clusters.ts";
import { parseQuery, splitReasons } from "./validate.ts";

export const INDICATOR_FORMAT = "distillguard-indicators";
export const INDICATOR_VERSION = 1;

// Bounds on one export: a D1 read and a JSON body an operator can still download and diff.
const MAX_CLUSTERS = 1_000;
const MAX_INDICATORS = 10_000;

export type IndicatorType = "asn" | "prefix" | "tls" | "sdk" | "headers" | "system_prompt" | "template" | "combination";

const HEX = /^[0-9a-f]{4,64}$/;
// A network, never one address: IPv4 at most /24, IPv6 at most /48 (what the fingerprint keys use).
const IPV4_PREFIX = /^(?:\d{1,3}\.){3}\d{1,3}\/(\d{1,2})$/;
const IPV6_PREFIX = /^[0-9a-f:]{2,39}\/(\d{1,3})$/;
const REASON_CODE = /^[a-z0-9_.:-]{1,64}$/i;

/** A fingerprint key as an indicator, or the reason it is left out. */
export function toIndicator(key: string): { type: IndicatorType; value: string } | { omit: "payment" | "unrecognised" } {
  const colon = key.indexOf(":");
  const kind = colon < 0 ? "" : key.slice(0, colon);
  const value = key.slice(colon + 1);
  const hex = HEX.test(value);
  switch (kind) {
    case "payment":
      return { omit: "payment" };
    case "asn":
      return /^\d{1,10}$/.test(value) ? { type: "asn", value } : { omit: "unrecognised" };
    case "prefix": {
      const v4 = IPV4_PREFIX.exec(value);
      const v6 = IPV6_PREFIX.exec(value);
      const ok = (v4?.[1] !== undefined && Number(v4[1]) <= 24) || (v6?.[1] !== undefined && Number(v6[1]) <= 48);
      return ok ? { type: "prefix", value } : { omit: "unrecognised" };
    }
    case "tls":
    case "sdk":
    case "headers":
      return hex ? { type: kind, value } : { omit: "unrecognised" };
    case "system":
      return hex ? { type: "system_prompt", value } : { omit: "unrecognised" };
    case "tpl":
      return /^\d{1,2}:[0-9a-f]{4,64}$/.test(value) ? { type: "template", value } : { omit: "unrecognised" };
    default:
      // `tls+sdk:<hash>` and other policy combinations; a payment part would make the whole key payment data.
      if (/^[a-z]+(\+[a-z]+)+$/.test(kind) && hex) {
        return kind.split("+").includes("payment") ? { omit: "payment" } : { type: "combination", value: key };
      }
      return { omit: "unrecognised" };
  }
}

type ComponentRow = { id: string; size: number; keys: string; reasons: string; requests_per_window: number; created_at: number; updated_at: number };
type KeyRow = { fp_key: string; accounts: number; reasons: string; allowlisted: number; verdict: string; updated_at: number };
type EdgeStats = { fp_key: string; n: number; first_seen: number; last_seen: number };

const iso = (ms: number) => new Date(ms).toISOString();

export async function buildIndicatorExport(db: D1Database, allowlist: readonly string[], now = Date.now()) {
  const [components, confirmedKeys] = await db.batch([
    db
      .prepare(
        `SELECT id, size, keys, reasons, requests_per_window, created_at, updated_at FROM clusters
         WHERE verdict = 'confirmed' ORDER BY size DESC, id LIMIT ?`,
      )
      .bind(MAX_CLUSTERS + 1),
    db
      .prepare(
        `SELECT fp_key, accounts, reasons, allowlisted, verdict, updated_at FROM fingerprint_keys
         WHERE verdict = 'confirmed' AND allowlisted = 0 ORDER BY accounts DESC, fp_key LIMIT ?`,
      )
      .bind(MAX_INDICATORS + 1),
  ]);
  const componentRows = ((components?.results ?? []) as ComponentRow[]).slice(0, MAX_CLUSTERS);
  const keyRows = ((confirmedKeys?.results ?? []) as KeyRow[]).slice(0, MAX_INDICATORS);
  let truncated = (components?.results.length ?? 0) > MAX_CLUSTERS || (confirmedKeys?.results.length ?? 0) > MAX_INDICATORS;

  // Export-local cluster references: stable within one document, meaningless outside it.
  const clusters = componentRows.map((row, i) => ({ row, ref: `c${i + 1}`, keys: parseKeyList(row.keys) }));
  const clustersOf = new Map<string, string[]>();
  for (const { ref, keys } of clusters) for (const key of keys) clustersOf.set(key, [...(clustersOf.get(key) ?? []), ref]);

  const candidates = [...new Set([...keyRows.map((r) => r.fp_key), ...clustersOf.keys()])];
  const [stats, rollups, imported] = await db.batch([
    db
      .prepare(
        `SELECT fp_key, COUNT(*) AS n, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen
         FROM account_fingerprints WHERE fp_key IN (SELECT value FROM json_each(?)) GROUP BY fp_key`,
      )
      .bind(JSON.stringify(candidates)),
    db
      .prepare(`SELECT fp_key, accounts, reasons, allowlisted, verdict, updated_at FROM fingerprint_keys WHERE fp_key IN (SELECT value FROM json_each(?))`)
      .bind(JSON.stringify(candidates)),
    db.prepare(
      `SELECT value AS fp_key FROM indicator_imports, json_each(indicator_imports.keys)
       UNION SELECT 'prefix:' || value FROM indicator_imports, json_each(indicator_imports.prefixes)`,
    ),
  ]);
  const importedKeys = new Set(((imported?.results ?? []) as Array<{ fp_key: string }>).map((r) => r.fp_key));
  const statsOf = new Map(((stats?.results ?? []) as EdgeStats[]).map((s) => [s.fp_key, s]));
  const rollupOf = new Map(((rollups?.results ?? []) as KeyRow[]).map((r) => [r.fp_key, r]));
  const allowed = new Set(allowlist);

  const omitted = { payment: 0, unrecognised: 0, allowlisted: 0, imported: 0 };
  const indicators = [];
  for (const key of candidates) {
    const rollup = rollupOf.get(key);
    // Allow-listed keys (corporate NATs, popular tools) are shared by innocent customers: never exported.
    if (allowed.has(key) || rollup?.allowlisted === 1) {
      omitted.allowlisted++;
      continue;
    }
    const indicator = toIndicator(key);
    if ("omit" in indicator) {
      omitted[indicator.omit]++;
      continue;
    }
    const edge = statsOf.get(key);
    // What others told us goes back out only when our own accounts carried it too: an exchange of
    // feeds must not echo one provider's indicators round the ring as if each had seen them.
    if (importedKeys.has(key) && (edge?.n ?? 0) === 0) {
      omitted.imported++;
      continue;
    }
    const lastSeen = Math.max(edge?.last_seen ?? 0, rollup?.updated_at ?? 0);
    indicators.push({
      type: indicator.type,
      value: indicator.value,
      clusters: clustersOf.get(key) ?? [],
      accounts: Math.max(edge?.n ?? 0, rollup?.accounts ?? 0),
      firstSeen: iso(edge?.first_seen ?? lastSeen),
      lastSeen: iso(lastSeen),
    });
  }
  indicators.sort((a, b) => b.accounts - a.accounts || a.type.localeCompare(b.type) || a.value.localeCompare(b.value));
  if (indicators.length > MAX_INDICATORS) {
    indicators.length = MAX_INDICATORS;
    truncated = true;
  }

  return {
    format: INDICATOR_FORMAT,
    version: INDICATOR_VERSION,
    generatedAt: iso(now),
    clusters: clusters.map(({ row, ref }) => ({
      ref,
      size: row.size,
      reasons: splitReasons(row.reasons).filter((r) => REASON_CODE.test(r)),
      requestsPerWindow: row.requests_per_window,
      firstSeen: iso(row.created_at),
      lastSeen: iso(row.updated_at),
    })),
    indicators,
    omitted,
    truncated,
  };
}

export function indicatorRoutes() {
  return new Hono<AppEnv>().get("/", async (c) => {
    parseQuery(c, z.strictObject({}));
    return c.json(await buildIndicatorExport(c.env.DB, c.get("policy").clusters.allowlist));
  });
}
