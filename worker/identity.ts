/**
 * Step 2 — identity. API key from `x-api-key` or `Authorization: Bearer`
 * (the official TypeScript SDK 1.x sends the latter), hashed with SHA-256 at
 * the edge, mapped to an account through the KV key index and cached in the
 * isolate (bounded LRU, `cache.keyTtlSeconds`).
 *
 * Two different keys on one request are refused: the gateway would count one
 * and the origin might honour the other. The origin sees only the key the
 * gateway authenticated, as `x-api-key` (see `originCredential`).
 *
 * Unknown keys are cached too, briefly and in a cache of their own, so a flood
 * of random keys costs one KV read each at most once and cannot evict the
 * entries of real customers.
 */
import { createMiddleware } from "hono/factory";
import { keyIndexName, parseProfile } from "../lib/accounts.ts";
import type { AccountProfile } from "../lib/decision.ts";
import { BoundedMap } from "../lib/bounded-map.ts";
import { sha256Hex } from "../lib/hash.ts";
import type { AppEnv } from "./context.ts";
import { GatewayError } from "./errors.ts";
import { ExpiringLru } from "./lru.ts";

// 10 s: long enough to absorb a random-key flood, short enough that a newly created key works almost at once.
const NEGATIVE_TTL_MS = 10_000;
// 4,096 unknown keys: a flood only cycles this cache, never the known one; past it a random key costs one KV read.
const MAX_UNKNOWN_KEYS = 4_096;

// Until the first lookup sizes it from policy.cache.keyCacheSize.
const known = new ExpiringLru<string, AccountProfile>(10_000);
const unknown = new ExpiringLru<string, true>(MAX_UNKNOWN_KEYS);
// 10,000 keys: the hash of a key is the same forever, so a known key is hashed once per isolate, not
// once per request (SHA-256 through Web Crypto is one of the costliest steps of a request the isolate
// admits on its own). Only keys that named an account are kept: a flood of random keys cannot cycle it.
const MAX_HASHED_KEYS = 10_000;
const hashes = new BoundedMap<string, string>(MAX_HASHED_KEYS);

/** The key's SHA-256 (hex), from this isolate's memory when the key has named an account before. */
async function keyHashOf(key: string): Promise<string> {
  return hashes.touch(key) ?? (await sha256Hex(key));
}

/** The request headers that carry an API key; the forwarder drops them and sends `originCredential` instead. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(["x-api-key", "authorization"]);

export type IdentityOptions = {
  /** How long an unknown key stays cached as unknown. */
  negativeTtlMs?: number;
};

export type Credential = { key: string } | { conflict: true } | null;

/** The request's API key; a conflict when `x-api-key` and `Authorization: Bearer` name different keys. */
export function credentialFrom(headers: Headers): Credential {
  const direct = headers.get("x-api-key")?.trim() || null;
  const auth = headers.get("authorization")?.trim();
  // An Authorization header that is not a Bearer token carries no API key (and is not forwarded either).
  const bearer = auth ? (/^Bearer\s+(\S+)$/i.exec(auth)?.[1] ?? null) : null;
  if (direct !== null && bearer !== null && direct !== bearer) return { conflict: true };
  const key = direct ?? bearer;
  return key === null ? null : { key };
}

/** The one credential header the origin receives: the key the gateway authenticated. */
export function originCredential(key: string): [name: string, value: string] {
  return ["x-api-key", key];
}

export async function lookupAccount(
  kv: KVNamespace,
  keyHash: string,
  options: { ttlSeconds: number; maxEntries: number; negativeTtlMs?: number },
): Promise<AccountProfile | null> {
  const now = Date.now();
  const hit = known.get(keyHash, now);
  if (hit !== undefined) return hit;
  if (unknown.get(keyHash, now)) return null;
  const profile = parseProfile(await kv.get(keyIndexName(keyHash)));
  if (profile) {
    known.resize(options.maxEntries);
    known.set(keyHash, profile, now + options.ttlSeconds * 1000);
  } else {
    unknown.set(keyHash, true, now + (options.negativeTtlMs ?? NEGATIVE_TTL_MS));
  }
  return profile;
}

/** Drop cached lookups for these key hashes (this isolate only; others wait out the TTL). */
export function forgetKeys(keyHashes: Iterable<string>): void {
  for (const hash of keyHashes) {
    known.delete(hash);
    unknown.delete(hash);
  }
}

/** Entries in the two key caches (tests and diagnostics). */
export function keyCacheSizes(): { known: number; unknown: number } {
  return { known: known.size, unknown: unknown.size };
}

export function identity(options: IdentityOptions = {}) {
  const negativeTtlMs = options.negativeTtlMs ?? NEGATIVE_TTL_MS;
  return createMiddleware<AppEnv>(async function identity(c, next) {
    const credential = credentialFrom(c.req.raw.headers);
    if (credential === null) throw new GatewayError("authentication_error", "x-api-key header is required");
    if ("conflict" in credential) {
      throw new GatewayError("authentication_error", "x-api-key and Authorization name different keys; send one");
    }
    const policy = c.get("policy");
    const keyHash = await keyHashOf(credential.key);
    const profile = await lookupAccount(c.env.CONFIG, keyHash, {
      ttlSeconds: policy.cache.keyTtlSeconds,
      maxEntries: policy.cache.keyCacheSize,
      negativeTtlMs,
    });
    if (!profile) throw new GatewayError("authentication_error", "invalid x-api-key");
    if (!hashes.has(credential.key)) hashes.set(credential.key, keyHash);
    c.set("account", profile);
    c.set("apiKey", credential.key);
    await next();
  });
}
