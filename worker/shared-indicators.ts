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

/** Re-read the active set now (after an admin write in this isolate, and in tests). */
export async function refreshIndicatorsNow(kv: KVNamespace): Promise<void> {
  await refresh(kv, Date.now());
}

export function sharedIndicators() {
  return createMiddleware<AppEnv>(async function sharedIndicators(c, next) {
    const policy = c.get("policy");
    const matcher = await currentIndicators(c.env.CONFIG, policy.cache.policyTtlSeconds, (p) => c.executionCtx.waitUntil(p));
    if (matcher.size > 0) {
      const kinds = matcher.match(clusterKeysOf(c.get("fingerprint"), policy), clientIp(c.req.raw), Date.now());
      if (kinds.length > 0) {
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
