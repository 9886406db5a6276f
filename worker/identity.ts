/**
 * Step 2 — identity. API key from `x-api-key` or `Authorization: Bearer`
 * (the official TypeScript SDK 1.x sends the latter), hashed with SHA-256 at
 * the edge, mapped to an account through the KV key index and cached in the
 * isolate (bounded LRU, `cache.keyTtlSeconds`). Unknown keys are cached too,
 * briefly, so a flood of random keys costs one KV read each at most once.
 */
import { createMiddleware } from "hono/factory";
import { keyIndexName, parseProfile } from "../lib/accounts.ts";
import type { AccountProfile } from "../lib/decision.ts";
import { sha256Hex } from "../lib/hash.ts";
import type { AppEnv } from "./context.ts";
import { GatewayError } from "./errors.ts";
import { ExpiringLru } from "./lru.ts";

// 10 s: long enough to absorb a random-key flood, short enough that a newly created key works almost at once.
const NEGATIVE_TTL_MS = 10_000;

// Until the first lookup sizes it from policy.cache.keyCacheSize.
const cache = new ExpiringLru<string, AccountProfile | null>(10_000);

export type IdentityOptions = {
  /** How long an unknown key stays cached as unknown. */
  negativeTtlMs?: number;
};

export function apiKeyFrom(headers: Headers): string | null {
  const direct = headers.get("x-api-key")?.trim();
  if (direct) return direct;
  const auth = headers.get("authorization")?.trim();
  if (!auth) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(auth);
  return match?.[1] ?? null;
}

export async function lookupAccount(
  kv: KVNamespace,
  keyHash: string,
  options: { ttlSeconds: number; maxEntries: number; negativeTtlMs?: number },
): Promise<AccountProfile | null> {
  const now = Date.now();
  const hit = cache.get(keyHash, now);
  if (hit !== undefined) return hit;
  const profile = parseProfile(await kv.get(keyIndexName(keyHash)));
  const ttlMs = profile ? options.ttlSeconds * 1000 : (options.negativeTtlMs ?? NEGATIVE_TTL_MS);
  cache.resize(options.maxEntries);
  cache.set(keyHash, profile, now + ttlMs);
  return profile;
}

/** Drop cached lookups for these key hashes (this isolate only; others wait out the TTL). */
export function forgetKeys(keyHashes: Iterable<string>): void {
  for (const hash of keyHashes) cache.delete(hash);
}

export function identity(options: IdentityOptions = {}) {
  const negativeTtlMs = options.negativeTtlMs ?? NEGATIVE_TTL_MS;
  return createMiddleware<AppEnv>(async function identity(c, next) {
    const key = apiKeyFrom(c.req.raw.headers);
    if (!key) throw new GatewayError("authentication_error", "x-api-key header is required");
    const policy = c.get("policy");
    const profile = await lookupAccount(c.env.CONFIG, await sha256Hex(key), {
      ttlSeconds: policy.cache.keyTtlSeconds,
      maxEntries: policy.cache.keyCacheSize,
      negativeTtlMs,
    });
    if (!profile) throw new GatewayError("authentication_error", "invalid x-api-key");
    c.set("account", profile);
    await next();
  });
}
