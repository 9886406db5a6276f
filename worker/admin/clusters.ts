/**
 * Clusters as operators see them, from D1: connected components (`cc:…`, the
 * cron's account↔fingerprint components) and per-fingerprint-key roll-ups
 * (`tls:…`, `asn:…`: the real-time candidates). One list over both, one detail
 * route that tells them apart by the `cc:` prefix.
 */
import { Hono } from "hono";
import * as z from "../../lib/zod.ts";
import type { AuditLogRow } from "../../lib/audit.ts";
import { isBroadKind } from "../../lib/cluster/verdict.ts";
import type { Policy } from "../../lib/policy/index.ts";
import type { AppEnv } from "../context.ts";
import { AUDIT_LOG_SELECT, publicAuditEntry } from "./audit.ts";
import { cursorParam, decodeCursor, limitParam, notFound, page, parse, parseQuery, splitReasons } from "./validate.ts";

const verdict = z.enum(["none", "suspect", "confirmed"]);

// Fixed column per sort name: the ORDER BY is never built from client text.
const SORT_COLUMN = { size: "size", rate: "rate", updated: "updated_at" } as const;

const listQuery = z.strictObject({
  limit: limitParam(50, 500),
  cursor: cursorParam,
  type: z.optional(z.enum(["component", "key"])),
  verdict: z.optional(verdict),
  minSize: z.optional(z.coerce.number().check(z.int(), z.minimum(0))),
  sort: z._default(z.enum(["size", "rate", "updated"]), "size"),
});

const detailQuery = z.strictObject({ limit: limitParam(100, 1000), cursor: cursorParam });

// In the list, a component shows this many of its linking keys; the detail shows them all (to 500).
const LIST_KEYS = 20;
const DETAIL_KEYS = 500;
const TIMELINE_ENTRIES = 50;

type ListRow = {
  id: string;
  type: "component" | "key";
  kind: string | null;
  size: number;
  rate: number;
  verdict: string;
  reasons: string;
  updated_at: number;
  keys: string | null;
  allowlisted: number;
};

type ComponentRow = {
  id: string;
  size: number;
  keys: string;
  verdict: string;
  reasons: string;
  requests_per_window: number;
  created_at: number;
  updated_at: number;
};

type KeyRow = {
  fp_key: string;
  kind: string;
  accounts: number;
  requests_per_window: number;
  tokens_per_window: number;
  synchrony: number;
  template_share: number;
  elicitation_share: number;
  top_model: string | null;
  verdict: string;
  reasons: string;
  allowlisted: number;
  updated_at: number;
  score: number | null;
  evidence: string | null;
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function parseKeyList(text: string | null): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((k): k is string => typeof k === "string") : [];
  } catch {
    return [];
  }
}

/**
 * One item of a key's evidence as operators read it: what was seen, the points it added, the reason it
 * earned; a model pivot also names the model (its `value` is the model's share of the key's traffic).
 */
type PublicEvidence = { evidence: string; value: number | null; points: number; reason: string | null; implied: boolean; model?: string };

/** The stored evidence list; damaged or absent text reads as none. */
export function parseEvidence(text: string | null): PublicEvidence[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.flatMap((item: unknown) => {
      if (typeof item !== "object" || item === null) return [];
      const e = item as Record<string, unknown>;
      if (typeof e.evidence !== "string" || typeof e.points !== "number") return [];
      return [{
        evidence: e.evidence,
        value: typeof e.value === "number" ? e.value : null,
        points: e.points,
        reason: typeof e.reason === "string" ? e.reason : null,
        implied: e.implied === true,
        ...(typeof e.model === "string" ? { model: e.model } : {}),
      }];
    });
  } catch {
    return [];
  }
}

export function publicKeyRollup(row: KeyRow) {
  return {
    id: row.fp_key,
    type: "key" as const,
    kind: row.kind,
    size: row.accounts,
    requestsPerWindow: row.requests_per_window,
    tokensPerWindow: row.tokens_per_window,
    synchrony: row.synchrony,
    templateShare: row.template_share,
    elicitationShare: row.elicitation_share,
    topModel: row.top_model,
    verdict: row.verdict,
    reasons: splitReasons(row.reasons),
    // null: the key was not judged (too few accounts or requests, allow-listed) or predates the score.
    score: row.score ?? null,
    evidence: parseEvidence(row.evidence ?? null),
    allowlisted: row.allowlisted === 1,
    updatedAt: iso(row.updated_at),
  };
}

/**
 * Why a component has its verdict, from the same facts the linker judged (lib/cluster/components.ts
 * componentVerdict): how many members sit on a confirmed or suspect key of a kind that says something
 * about an account (broad kinds, an SDK build or a TLS stack, do not), against the policy's share.
 */
function verdictBasis(size: number, judged: ReadonlyArray<{ fp_key: string; kind: string; verdict: string; account_id: string }>, policy: Policy) {
  const confirmed = new Set<string>();
  const suspect = new Set<string>();
  for (const edge of judged) {
    if (isBroadKind(edge.kind)) continue;
    (edge.verdict === "confirmed" ? confirmed : suspect).add(edge.account_id);
  }
  for (const account of confirmed) suspect.delete(account);
  return {
    members: size,
    onConfirmedKeys: confirmed.size,
    onSuspectKeys: suspect.size,
    confirmShare: policy.clusters.componentConfirmShare,
    minAccounts: policy.clusters.minAccounts,
  };
}

// Member edges read to explain a verdict: enough for a component of a few thousand accounts on a few
// judged keys each; beyond it the counts are of the first ones read (`basisComplete: false`).
const BASIS_EDGES = 20_000;

async function componentDetail(db: D1Database, id: string, q: z.output<typeof detailQuery>, policy: Policy) {
  const component = await db.prepare("SELECT * FROM clusters WHERE id = ?").bind(id).first<ComponentRow>();
  if (!component) throw notFound(`cluster ${id}`);
  const after = decodeCursor(q.cursor, z.tuple([z.string()]));
  const keys = parseKeyList(component.keys).slice(0, DETAIL_KEYS);
  const [members, rollups, timeline, carriers, judged] = await db.batch([
    db
      .prepare(
        `SELECT m.account_id, a.tier, a.verified, a.created_at FROM cluster_members m
         LEFT JOIN accounts a ON a.id = m.account_id
         WHERE m.cluster_id = ? AND m.account_id > ? ORDER BY m.account_id LIMIT ?`,
      )
      .bind(id, after?.[0] ?? "", q.limit + 1),
    db.prepare("SELECT * FROM fingerprint_keys WHERE fp_key IN (SELECT value FROM json_each(?))").bind(JSON.stringify(keys)),
    db
      .prepare(
        `${AUDIT_LOG_SELECT} WHERE account_id IN (SELECT account_id FROM cluster_members WHERE cluster_id = ?)
         ORDER BY id DESC LIMIT ?`,
      )
      .bind(id, TIMELINE_ENTRIES),
    // Which members carry each linking key: what links the component, in numbers.
    db
      .prepare(
        `SELECT fp_key, COUNT(*) AS n FROM account_fingerprints
         WHERE fp_key IN (SELECT value FROM json_each(?1)) AND account_id IN (SELECT account_id FROM cluster_members WHERE cluster_id = ?2)
         GROUP BY fp_key`,
      )
      .bind(JSON.stringify(keys), id),
    db
      .prepare(
        `SELECT f.account_id, f.fp_key, f.kind, k.verdict FROM account_fingerprints f JOIN fingerprint_keys k ON k.fp_key = f.fp_key
         WHERE k.verdict != 'none' AND f.account_id IN (SELECT account_id FROM cluster_members WHERE cluster_id = ?1) LIMIT ?2`,
      )
      .bind(id, BASIS_EDGES),
  ]);
  const carriedBy = new Map(((carriers?.results ?? []) as Array<{ fp_key: string; n: number }>).map((r) => [r.fp_key, r.n]));
  const judgedEdges = (judged?.results ?? []) as Array<{ fp_key: string; kind: string; verdict: string; account_id: string }>;
  type MemberRow = { account_id: string; tier: string | null; verified: number | null; created_at: string | null };
  const memberPage = page((members?.results ?? []) as MemberRow[], q.limit, (row) => [row.account_id]);
  const byKey = new Map(((rollups?.results ?? []) as KeyRow[]).map((row) => [row.fp_key, row]));
  const rates = keys.flatMap((key) => {
    const row = byKey.get(key);
    return row ? [row.requests_per_window] : [];
  });
  return {
    windowSeconds: policy.limits.windowSeconds,
    cluster: {
      id: component.id,
      type: "component" as const,
      size: component.size,
      requestsPerWindow: component.requests_per_window,
      // The linker does not measure a component's rate; its keys' roots do. A request carries several
      // keys, so the busiest key's rate is a floor for the component's and the keys' sum a ceiling.
      keyRates: { busiest: rates.length ? Math.max(...rates) : null, sum: rates.reduce((a, b) => a + b, 0), keys: rates.length },
      verdictBasis: verdictBasis(component.size, judgedEdges, policy),
      basisComplete: judgedEdges.length < BASIS_EDGES,
      verdict: component.verdict,
      reasons: splitReasons(component.reasons),
      createdAt: iso(component.created_at),
      updatedAt: iso(component.updated_at),
    },
    // Each linking key with its roll-up, when the key's root object has written one.
    sharedKeys: keys.map((key) => {
      const row = byKey.get(key);
      const members = carriedBy.get(key) ?? 0;
      return row ? { ...publicKeyRollup(row), members } : { id: key, type: "key" as const, rollup: null, members };
    }),
    members: memberPage.items.map((row) => ({
      account: row.account_id,
      tier: row.tier,
      verified: row.verified === null ? null : row.verified === 1,
      createdAt: row.created_at,
    })),
    nextCursor: memberPage.nextCursor,
    // The members' latest decisions and operator actions, newest first.
    timeline: ((timeline?.results ?? []) as AuditLogRow[]).map(publicAuditEntry),
  };
}

async function keyDetail(db: D1Database, key: string, q: z.output<typeof detailQuery>, policy: Policy) {
  const after = decodeCursor(q.cursor, z.tuple([z.string()]));
  const [rollup, edges, components, anyEdge] = await db.batch([
    db.prepare("SELECT * FROM fingerprint_keys WHERE fp_key = ?").bind(key),
    db
      .prepare(
        `SELECT account_id, first_seen, last_seen FROM account_fingerprints
         WHERE fp_key = ? AND account_id > ? ORDER BY account_id LIMIT ?`,
      )
      .bind(key, after?.[0] ?? "", q.limit + 1),
    db
      .prepare(
        `SELECT DISTINCT m.cluster_id FROM account_fingerprints f JOIN cluster_members m ON m.account_id = f.account_id
         WHERE f.fp_key = ? LIMIT 20`,
      )
      .bind(key),
    db.prepare("SELECT 1 AS found FROM account_fingerprints WHERE fp_key = ? LIMIT 1").bind(key),
  ]);
  const row = (rollup?.results[0] ?? null) as KeyRow | null;
  if (row === null && (anyEdge?.results.length ?? 0) === 0) throw notFound(`cluster ${key}`);
  type EdgeRow = { account_id: string; first_seen: number; last_seen: number };
  const edgePage = page((edges?.results ?? []) as EdgeRow[], q.limit, (edge) => [edge.account_id]);
  const verdict = policy.clusters.verdict;
  return {
    windowSeconds: policy.limits.windowSeconds,
    // What the score is measured against: the thresholds a key's score crosses to be suspect or confirmed.
    thresholds: { suspectScore: verdict.suspectScore, confirmScore: verdict.confirmScore, minAccounts: policy.clusters.minAccounts, minRequestsPerWindow: policy.clusters.minRequestsPerWindow },
    cluster: row ? publicKeyRollup(row) : { id: key, type: "key" as const, rollup: null },
    accounts: edgePage.items.map((edge) => ({ account: edge.account_id, firstSeen: iso(edge.first_seen), lastSeen: iso(edge.last_seen) })),
    nextCursor: edgePage.nextCursor,
    components: ((components?.results ?? []) as Array<{ cluster_id: string }>).map((r) => r.cluster_id),
  };
}

const clusterId = z
  .string()
  .check(
    z.minLength(3),
    z.maxLength(512),
    z.regex(/^[a-z0-9+_-]+:./i, "a component id (cc:…) or a URL-encoded fingerprint key (kind:value)"),
  );

export function clusterRoutes() {
  const routes = new Hono<AppEnv>();

  routes.get("/", async (c) => {
    const q = parseQuery(c, listQuery);
    const column = SORT_COLUMN[q.sort];
    const after = decodeCursor(q.cursor, z.tuple([z.number(), z.string()]));
    // Fixed fragments, values bound; only the given filters join the WHERE clause.
    const filters: Array<[string, Array<string | number> | undefined]> = [
      ["type = ?", q.type === undefined ? undefined : [q.type]],
      ["verdict = ?", q.verdict === undefined ? undefined : [q.verdict]],
      ["size >= ?", q.minSize === undefined ? undefined : [q.minSize]],
      [`(${column}, id) < (?, ?)`, after ?? undefined],
    ];
    const active = filters.filter((f): f is [string, Array<string | number>] => f[1] !== undefined);
    const where = active.length ? `WHERE ${active.map(([sql]) => sql).join(" AND ")}` : "";
    const { results } = await c.env.DB.prepare(
      `SELECT * FROM (
         SELECT id, 'component' AS type, NULL AS kind, size,
                -- The linker measures no rate: the busiest linking key's is the component's floor.
                COALESCE(NULLIF(requests_per_window, 0),
                  (SELECT MAX(k.requests_per_window) FROM fingerprint_keys k WHERE k.fp_key IN (SELECT value FROM json_each(clusters.keys))), 0) AS rate,
                verdict, reasons,
                updated_at, keys, 0 AS allowlisted FROM clusters
         UNION ALL
         SELECT fp_key, 'key', kind, accounts, requests_per_window, verdict, reasons,
                updated_at, NULL, allowlisted FROM fingerprint_keys
       ) ${where} ORDER BY ${column} DESC, id DESC LIMIT ?`,
    )
      .bind(...active.flatMap(([, values]) => values), q.limit + 1)
      .all<ListRow>();
    const sortValue = (row: ListRow) => (q.sort === "size" ? row.size : q.sort === "rate" ? row.rate : row.updated_at);
    const { items, nextCursor } = page(results, q.limit, (row) => [sortValue(row), row.id]);
    return c.json({
      windowSeconds: c.get("policy").limits.windowSeconds,
      clusters: items.map((row) => {
        const keys = row.type === "component" ? parseKeyList(row.keys) : null;
        return {
          id: row.id,
          type: row.type,
          kind: row.kind,
          size: row.size,
          requestsPerWindow: row.rate,
          verdict: row.verdict,
          reasons: splitReasons(row.reasons),
          allowlisted: row.allowlisted === 1,
          sharedKeys: keys?.slice(0, LIST_KEYS) ?? null,
          sharedKeyCount: keys?.length ?? null,
          updatedAt: iso(row.updated_at),
        };
      }),
      nextCursor,
    });
  });

  // `{.+}`: a prefix key such as `prefix:203.0.113.0/24` keeps working even if a client sends its slash raw.
  routes.get("/:id{.+}", async (c) => {
    const id = parse(clusterId, c.req.param("id"), "path");
    const q = parseQuery(c, detailQuery);
    const policy = c.get("policy");
    return c.json(id.startsWith("cc:") ? await componentDetail(c.env.DB, id, q, policy) : await keyDetail(c.env.DB, id, q, policy));
  });

  return routes;
}
