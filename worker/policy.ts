/**
 * Step 1 — policy. The policy lives in KV `CONFIG` under `policy`; each isolate
 * keeps the last good copy and refreshes it in the background after
 * `cache.policyTtlSeconds`. An invalid document never takes effect: the last
 * good policy (or the built-in defaults) stays, and the problem is logged once.
 */
import { createMiddleware } from "hono/factory";
import { DEFAULT_POLICY, validatePolicy, type Policy } from "../lib/policy.ts";
import type { AppEnv } from "./context.ts";

export const POLICY_KEY = "policy";

type Cached = { policy: Policy; fetchedAt: number; raw: string | null };

let cached: Cached | null = null;
let refreshing: Promise<Cached> | null = null;
let lastRejectedRaw: string | null = null;

async function fetchPolicy(kv: KVNamespace, now: number): Promise<Cached> {
  const raw = await kv.get(POLICY_KEY);
  if (raw === null) return { policy: DEFAULT_POLICY, fetchedAt: now, raw: null };
  if (cached && cached.raw === raw) return { ...cached, fetchedAt: now };
  const result = validatePolicy(raw);
  if (result.ok) return { policy: result.policy, fetchedAt: now, raw };
  if (lastRejectedRaw !== raw) {
    lastRejectedRaw = raw;
    console.error(JSON.stringify({ msg: "policy rejected; keeping last good", problems: result.problems }));
  }
  // Keep serving what we had; remember when we looked so we don't re-validate on every request.
  return { policy: cached?.policy ?? DEFAULT_POLICY, fetchedAt: now, raw: cached?.raw ?? null };
}

function refresh(kv: KVNamespace, now: number): Promise<Cached> {
  refreshing ??= fetchPolicy(kv, now)
    .then((next) => (cached = next))
    .catch((err: unknown) => {
      console.error(JSON.stringify({ msg: "policy read failed; keeping last good", error: String(err) }));
      cached = { policy: cached?.policy ?? DEFAULT_POLICY, fetchedAt: now, raw: cached?.raw ?? null };
      return cached;
    })
    .finally(() => (refreshing = null));
  return refreshing;
}

/**
 * The policy for this request. Only the very first request of an isolate waits
 * for KV; afterwards a stale copy is served while a refresh runs in `waitUntil`.
 */
export async function currentPolicy(kv: KVNamespace, waitUntil: (p: Promise<unknown>) => void): Promise<Policy> {
  const now = Date.now();
  if (!cached) return (await refresh(kv, now)).policy;
  if (now - cached.fetchedAt > cached.policy.cache.policyTtlSeconds * 1000) waitUntil(refresh(kv, now));
  return cached.policy;
}

/** Forget the cached policy so the next request reads KV (used after an admin write and by tests). */
export function invalidatePolicyCache(): void {
  cached = null;
}

/** Re-read KV now, keeping the last good policy if the document is invalid (admin writes and tests). */
export async function refreshPolicyNow(kv: KVNamespace): Promise<Policy> {
  return (await refresh(kv, Date.now())).policy;
}

export type PolicyOptions = {
  /** The namespace that holds the policy document. */
  kv?: (env: Env) => KVNamespace;
};

/** Sets the `policy` variable every later step reads; the first request of an isolate waits for KV. */
export function policy(options: PolicyOptions = {}) {
  const kvOf = options.kv ?? ((env: Env) => env.CONFIG);
  return createMiddleware<AppEnv>(async function policy(c, next) {
    c.set("policy", await currentPolicy(kvOf(c.env), (p) => c.executionCtx.waitUntil(p)));
    await next();
  });
}
