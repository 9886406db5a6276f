/**
 * Durable Object names, one function per kind, so the sharding scheme reads in
 * one place. Names are stable: changing them orphans stored state.
 */

/** One AccountDO per account. */
export function accountObjectName(accountId: string): string {
  return `account:${accountId}`;
}

/** FNV-1a 32-bit: a stable, fast spread of accounts over shards (not security-relevant). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The shard of a fingerprint key an account reports to: accounts spread evenly, one account always the same shard. */
export function clusterShardIndex(accountId: string, shards: number): number {
  return fnv1a32(accountId) % Math.max(1, shards);
}

/** A shard of a fingerprint key's counters. */
export function clusterShardName(key: string, shard: number): string {
  return `cluster:${key}#${shard}`;
}

/** The roll-up object of a fingerprint key: shards report to it, it holds the verdict. */
export function clusterRootName(key: string): string {
  return `cluster:${key}#root`;
}
