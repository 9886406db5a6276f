/**
 * Step 4¼ — shared indicators. A request carrying an imported indicator (an
 * ASN, a prefix holding its address, a TLS, SDK, header, system prompt or
 * template value) gets the `shared_indicator` risk signal, carried into
 * admission with the region's edge findings, so the account object scores and
 * audits it like any other evidence.
 *
 * The edge never reads D1 for this: the admin API writes the active set to KV
 * (lib/shared-indicators.ts ACTIVE_INDICATORS_KEY), and each isolate keeps it
 * compiled for `cache.policyTtlSeconds`, refreshed in the background like the
 * policy. An import or a delete reaches an isolate within that TTL plus KV's
 * own propagation (up to about a minute between locations).
 */
import { createMiddleware } from "hono/factory";
import { clusterKeysOf } from "../lib/fingerprint/index.ts";
import { ACTIVE_INDICATORS_KEY, IndicatorMatcher, type ActiveIndicators } from "../lib/shared-indicators.ts";
import { clientIp } from "./client.ts";
import type { AppEnv } from "./context.ts";

type Cached = { matcher: IndicatorMatcher; raw: string | null; fetchedAt: number };

const EMPTY: ActiveIndicators = { updatedAt: 0, imports: [] };

let cached: Cached | null = null;
let refreshing: Promise<Cached> | null = null;

function compile(raw: string | null): IndicatorMatcher {
  if (raw === null) return new IndicatorMatcher(EMPTY);
  try {
    const parsed = JSON.parse(raw) as ActiveIndicators;
    return new IndicatorMatcher(Array.isArray(parsed.imports) ? parsed : EMPTY);
  } catch (err) {
    // Written only by the admin API; a broken value matches nothing rather than failing requests.
    console.error(JSON.stringify({ msg: "active indicator set unreadable", error: String(err) }));
    return new IndicatorMatcher(EMPTY);
  }
}

function refresh(kv: KVNamespace, now: number): Promise<Cached> {
  refreshing ??= kv
    .get(ACTIVE_INDICATORS_KEY)
    .then((raw) => (cached = cached !== null && cached.raw === raw ? { ...cached, fetchedAt: now } : { matcher: compile(raw), raw, fetchedAt: now }))
    .catch((err: unknown) => {
      console.error(JSON.stringify({ msg: "active indicator set read failed; keeping last", error: String(err) }));
      cached = { matcher: cached?.matcher ?? new IndicatorMatcher(EMPTY), raw: cached?.raw ?? null, fetchedAt: now };
      return cached;
    })
    .finally(() => (refreshing = null));
  return refreshing;
}

/** The compiled set for this request: only an isolate's first request waits for KV. */
export async function currentIndicators(kv: KVNamespace, ttlSeconds: number, waitUntil: (p: Promise<unknown>) => void): Promise<IndicatorMatcher> {
  const now = Date.now();
  if (!cached) return (await refresh(kv, now)).matcher;
  if (now - cached.fetchedAt > ttlSeconds * 1000) waitUntil(refresh(kv, now));
  return cached.matcher;
}

// Matches per import, counted in the isolate and added to D1 at most this often: a campaign's every
// request may match, and one D1 write per request would cost more than the match saves. The count is a
// lower bound: what an isolate holds when it is evicted is lost.
const MATCH_FLUSH_MS = 10_000;

const pendingMatches = new Map<string, { count: number; lastAt: number }>();
let lastMatchFlush = 0;

function countMatches(imports: readonly string[], now: number): void {
  for (const id of imports) {
    const entry = pendingMatches.get(id);
    if (entry) {
      entry.count++;
      entry.lastAt = now;
    } else {
      pendingMatches.set(id, { count: 1, lastAt: now });
    }
  }
}

/** The isolate's counts into D1 (`indicator_imports.matches`); on failure they wait for the next flush. */
async function flushMatches(db: D1Database): Promise<void> {
  const batch = [...pendingMatches.entries()];
  pendingMatches.clear();
  const add = db.prepare(
    "UPDATE indicator_imports SET matches = matches + ?1, last_matched_at = MAX(COALESCE(last_matched_at, 0), ?2) WHERE id = ?3",
  );
  try {
    await db.batch(batch.map(([id, { count, lastAt }]) => add.bind(count, lastAt, id)));
  } catch (err) {
    console.error(JSON.stringify({ msg: "indicator match counts not written; kept for the next flush", error: String(err) }));
    for (const [id, { count, lastAt }] of batch) {
      const entry = pendingMatches.get(id);
      pendingMatches.set(id, { count: count + (entry?.count ?? 0), lastAt: Math.max(lastAt, entry?.lastAt ?? 0) });
    }
  }
}

/** Re-read the active set now (after an admin write in this isolate, and in tests). */
export async function refreshIndicatorsNow(kv: KVNamespace): Promise<void> {
  await refresh(kv, Date.now());
}

export function sharedIndicators() {
  return createMiddleware<AppEnv>(async function sharedIndicators(c, next) {
    const policy = c.get("policy");
    const matcher = await currentIndicators(c.env.CONFIG, policy.cache.policyTtlSeconds, (p) => c.executionCtx.waitUntil(p));
    if (matcher.size > 0) {
      const now = Date.now();
      const { kinds, imports } = matcher.matchImports(clusterKeysOf(c.get("fingerprint"), policy), clientIp(c.req.raw), now);
      if (kinds.length > 0) {
        countMatches(imports, now);
        if (now - lastMatchFlush >= MATCH_FLUSH_MS) {
          lastMatchFlush = now;
          c.executionCtx.waitUntil(flushMatches(c.env.DB));
        }
        const region = c.get("region");
        c.set("region", {
          ...region,
          signals: [...region.signals, "shared_indicator"],
          reasons: [...region.reasons, ...kinds.map((kind) => `indicator.${kind}`)],
        });
      }
    }
    await next();
  });
}
