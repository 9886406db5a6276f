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

/**
 * The collector shard an account reports to. Accounts spread evenly over
 * `shards` collectors and one account always uses the same one, so each
 * collector sees ~1/shards of every cluster, whatever its size.
 */
export function collectorIndex(accountId: string, shards: number): number {
  return fnv1a32(accountId) % Math.max(1, shards);
}

export function clusterCollectorName(index: number): string {
  return `cluster:collector#${index}`;
}

/** The roll-up object of one fingerprint key: collectors report to it, it holds the key's verdict. */
export function clusterRootName(key: string): string {
  return `cluster:${key}#root`;
}
