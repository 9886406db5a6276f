/**
 * Concurrency leases: one per forwarded request until its settle, each remembering where its token
 * reservation was counted so the settle corrects that bucket. A lease whose settle never comes
 * (lost settle, crashed isolate) frees its slot when it expires; its reservation stays counted.
 */
import type { TokenEstimate } from "../../lib/quota/index.ts";
import type { BucketBounds } from "./counters.ts";
import { num, str } from "./rows.ts";

export type Lease = {
  id: string;
  createdAt: number;
  expiresAt: number;
  bucketStart: number;
  bucketEnd: number;
  inputReserved: number;
  outputReserved: number;
};

export class LeaseStore {
  private leases = new Map<string, Lease>();
  /** A lower bound: a settled lease is gone, and the next reclaim finds the true next expiry. */
  private nextExpiry = Number.POSITIVE_INFINITY;

  constructor(private readonly sql: SqlStorage) {}

  load(): void {
    this.leases = new Map();
    for (const r of this.sql.exec(`SELECT * FROM leases`)) {
      const lease: Lease = {
        id: str(r.id), createdAt: num(r.created_at), expiresAt: num(r.expires_at),
        bucketStart: num(r.bucket_start), bucketEnd: num(r.bucket_end),
        inputReserved: num(r.input_reserved), outputReserved: num(r.output_reserved),
      };
      this.leases.set(lease.id, lease);
    }
    this.nextExpiry = Math.min(Number.POSITIVE_INFINITY, ...[...this.leases.values()].map((l) => l.expiresAt));
  }

  /** Leases held, expired or not: what admission counts until the next reclaim. */
  get open(): number {
    return this.leases.size;
  }

  /** Leases not yet expired at `now`, for the operator's view. */
  inFlight(now: number): number {
    let n = 0;
    for (const lease of this.leases.values()) if (lease.expiresAt > now) n++;
    return n;
  }

  /** When the earliest open lease expires; Infinity when none is open. */
  nextExpiryAt(): number {
    return this.leases.size > 0 ? this.nextExpiry : Number.POSITIVE_INFINITY;
  }

  openLease(now: number, leaseMs: number, bucket: BucketBounds, estimate: TokenEstimate): string {
    const lease: Lease = {
      id: crypto.randomUUID(),
      createdAt: now,
      expiresAt: now + leaseMs,
      bucketStart: bucket.start,
      bucketEnd: bucket.end,
      inputReserved: estimate.inputTokens,
      outputReserved: estimate.outputTokens,
    };
    this.leases.set(lease.id, lease);
    this.nextExpiry = Math.min(this.nextExpiry, lease.expiresAt);
    this.sql.exec(
      `INSERT INTO leases (id, created_at, expires_at, bucket_start, bucket_end, input_reserved, output_reserved) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      lease.id, lease.createdAt, lease.expiresAt, lease.bucketStart, lease.bucketEnd, lease.inputReserved, lease.outputReserved,
    );
    return lease.id;
  }

  /** Removes and returns the lease; null when it is unknown (settled already, or reclaimed). */
  take(id: string): Lease | null {
    const lease = this.leases.get(id);
    if (!lease) return null;
    this.leases.delete(id);
    this.sql.exec(`DELETE FROM leases WHERE id = ?`, id);
    return lease;
  }

  reclaimExpired(now: number): void {
    if (now < this.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const lease of this.leases.values()) {
      if (lease.expiresAt <= now) this.leases.delete(lease.id);
      else next = Math.min(next, lease.expiresAt);
    }
    this.nextExpiry = next;
    this.sql.exec(`DELETE FROM leases WHERE expires_at <= ?`, now);
  }
}
