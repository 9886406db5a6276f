/**
 * Step 1 — policy. The policy lives in KV `CONFIG` under `policy`; each isolate
 * keeps the last good copy and refreshes it in the background after
 * `cache.policyTtlSeconds`. An invalid document never takes effect, and the
 * problem is logged once.
 *
 * A fresh isolate has no copy of its own, so KV keeps one for it: `policy:last-good`,
 * the last document that passed validation (written by `PUT /admin/policy` and by any
 * isolate that finds it out of step with a valid `policy`). When `policy` is invalid or
 * cannot be read, a fresh isolate runs the last-good document, not the built-in
 * defaults, so denied countries, custom tiers and the fail mode survive a bad write.
 * While the document is bad, the isolate looks again every BAD_POLICY_RETRY_MS.
 */
import { createMiddleware } from "hono/factory";
import { DEFAULT_POLICY, validatePolicy, type Policy } from "../lib/policy/index.ts";
import type { AppEnv } from "./context.ts";

export const POLICY_KEY = "policy";
export const LAST_GOOD_POLICY_KEY = "policy:last-good";

// 5 s, fixed: a fix to a bad document takes effect quickly, whatever TTL the last good policy set.
const BAD_POLICY_RETRY_MS = 5_000;

type Cached = {
  policy: Policy;
  fetchedAt: number;
  /** The `policy` text this copy came from; null for the defaults (no document). */
  raw: string | null;
  /** The KV document was invalid or unreadable when last looked at: retry on the short interval. */
  bad: boolean;
};

let cached: Cached | null = null;
let refreshing: Promise<Cached> | null = null;
let lastRejectedRaw: string | null = null;
let readFailureLogged = false;
/** What this isolate last wrote to (or found in) `policy:last-good`, so it writes each document at most once. */
let lastGoodSeen: string | null | undefined;

function parseGood(raw: string | null | undefined): Policy | null {
  if (raw === null || raw === undefined) return null;
  const result = validatePolicy(raw);
  return result.ok ? result.policy : null;
}

/** What to serve while the document is bad: this isolate's copy, else the last-good document, else the defaults. */
function fallback(lastGoodRaw: string | null | undefined, now: number): Cached {
  if (cached) return { ...cached, fetchedAt: now, bad: true };
  const lastGood = parseGood(lastGoodRaw);
  if (lastGood && lastGoodRaw) return { policy: lastGood, fetchedAt: now, raw: lastGoodRaw, bad: true };
  return { policy: DEFAULT_POLICY, fetchedAt: now, raw: null, bad: true };
}

/** Keeps `policy:last-good` in step with a valid `policy` (null: no document, the defaults). */
async function keepLastGood(kv: KVNamespace, raw: string | null, stored: string | null | undefined): Promise<void> {
  if (stored === raw || lastGoodSeen === raw) {
    lastGoodSeen = raw;
    return;
  }
  lastGoodSeen = raw;
  try {
    if (raw === null) await kv.delete(LAST_GOOD_POLICY_KEY);
    else await kv.put(LAST_GOOD_POLICY_KEY, raw);
  } catch (err) {
    // Another isolate is likely writing the same document; the next valid refresh tries again.
    lastGoodSeen = undefined;
    console.error(JSON.stringify({ msg: "policy last-good write failed", error: String(err) }));
  }
}

async function readBoth(kv: KVNamespace): Promise<{ raw: string | null; lastGood: string | null | undefined }> {
  try {
    const both = await kv.get([POLICY_KEY, LAST_GOOD_POLICY_KEY]);
    readFailureLogged = false;
    return { raw: both.get(POLICY_KEY) ?? null, lastGood: both.get(LAST_GOOD_POLICY_KEY) ?? null };
  } catch (err) {
    if (!readFailureLogged) {
      readFailureLogged = true;
      console.error(JSON.stringify({ msg: "policy read failed; keeping last good", error: String(err) }));
    }
    throw err;
  }
}

async function fetchPolicy(kv: KVNamespace, now: number): Promise<Cached> {
  const { raw, lastGood } = await readBoth(kv);
  if (raw === null) {
    await keepLastGood(kv, null, lastGood);
    return { policy: DEFAULT_POLICY, fetchedAt: now, raw: null, bad: false };
  }
  if (cached && cached.raw === raw && !cached.bad) return { ...cached, fetchedAt: now };
  const result = validatePolicy(raw);
  if (result.ok) {
    lastRejectedRaw = null;
    await keepLastGood(kv, raw, lastGood);
    return { policy: result.policy, fetchedAt: now, raw, bad: false };
  }
  if (lastRejectedRaw !== raw) {
    lastRejectedRaw = raw;
    console.error(JSON.stringify({ msg: "policy rejected; keeping last good", problems: result.problems }));
  }
  return fallback(lastGood, now);
}

/** KV itself failed: the last-good document alone is worth one more try for an isolate with nothing. */
async function fetchFallback(kv: KVNamespace, now: number): Promise<Cached> {
  if (cached) return fallback(null, now);
  try {
    return fallback(await kv.get(LAST_GOOD_POLICY_KEY), now);
  } catch {
    return fallback(null, now);
  }
}

function refresh(kv: KVNamespace, now: number): Promise<Cached> {
  refreshing ??= fetchPolicy(kv, now)
    .catch(() => fetchFallback(kv, now))
    .then((next) => (cached = next))
    .finally(() => (refreshing = null));
  return refreshing;
}

function refreshDueMs(c: Cached): number {
  const ttlMs = c.policy.cache.policyTtlSeconds * 1000;
  return c.bad ? Math.min(BAD_POLICY_RETRY_MS, ttlMs) : ttlMs;
}

/**
 * The policy for this request. Only the very first request of an isolate waits
 * for KV; afterwards a stale copy is served while a refresh runs in `waitUntil`.
 */
export async function currentPolicy(kv: KVNamespace, waitUntil: (p: Promise<unknown>) => void): Promise<Policy> {
  const now = Date.now();
  if (!cached) return (await refresh(kv, now)).policy;
  if (now - cached.fetchedAt > refreshDueMs(cached)) waitUntil(refresh(kv, now));
  return cached.policy;
}

/** Forget the cached policy so the next request reads KV (used after an admin write and by tests). */
export function invalidatePolicyCache(): void {
  cached = null;
}

/** Everything this isolate remembers about the policy forgotten: the state of a fresh isolate (tests). */
export function resetPolicyIsolate(): void {
  cached = null;
  refreshing = null;
  lastRejectedRaw = null;
  readFailureLogged = false;
  lastGoodSeen = undefined;
}

/** Whether this isolate is serving a fallback because the KV document is invalid or unreadable (tests, diagnostics). */
export function policyDocumentIsBad(): boolean {
  return cached?.bad ?? false;
}

/** Re-read KV now, keeping the last good policy if the document is invalid (admin writes and tests). */
export async function refreshPolicyNow(kv: KVNamespace): Promise<Policy> {
  return (await refresh(kv, Date.now())).policy;
}

/** Stores a validated document as both the policy and its last-good copy (the admin API's write). */
export async function writePolicyDocument(kv: KVNamespace, raw: string): Promise<void> {
  await kv.put(POLICY_KEY, raw);
  await kv.put(LAST_GOOD_POLICY_KEY, raw);
  lastGoodSeen = raw;
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
