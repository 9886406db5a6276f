/**
 * Durable Object names, one function per kind, so the sharding scheme reads in
 * one place. Names are stable: changing them orphans stored state.
 */
import { fnv1a32 } from "./fasthash.ts";

/** One AccountDO per account. */
export function accountObjectName(accountId: string): string {
  return `account:${accountId}`;
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

/**
 * The roll-up object of one fingerprint key: collectors report to it, it holds the key's verdict.
 * Roots kept these names, and their state, when collectors became a class of their own.
 */
export function clusterRootName(key: string): string {
  return `cluster:${key}#root`;
}
