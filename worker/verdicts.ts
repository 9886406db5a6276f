/**
 * Confirmed cluster verdicts the isolate has seen, by fingerprint key. An
 * account object learns verdicts from its own cluster reports, which a fresh
 * account of a known campaign has not made yet; the isolate passes what it
 * already knows for the request's keys along with the admit call instead.
 * The verdicts come only from account objects' answers, never from a client.
 */
import { verdictFreshAt } from "../lib/cluster/verdict.ts";
import type { CachedVerdict } from "../lib/decision.ts";
import { ExpiringLru } from "./lru.ts";

// Keys with a confirmed verdict are few (one campaign shares a handful); this bounds a pathological policy.
const MAX_KEYS = 4_096;

const known = new ExpiringLru<string, CachedVerdict>(MAX_KEYS);

export function rememberVerdicts(verdicts: readonly CachedVerdict[] | undefined, ttlSeconds: number): void {
  if (!verdicts) return;
  const now = Date.now();
  for (const v of verdicts) {
    const expiresAt = verdictFreshAt(v) + ttlSeconds * 1000;
    if (v.verdict === "confirmed" && expiresAt > now) known.set(v.cluster, v, expiresAt);
  }
}

export function knownVerdicts(keys: readonly string[]): CachedVerdict[] {
  const now = Date.now();
  const out: CachedVerdict[] = [];
  for (const key of keys) {
    const v = known.get(key, now);
    if (v) out.push(v);
  }
  return out;
}

export function forgetVerdicts(): void {
  known.clear();
}
