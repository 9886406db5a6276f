/**
 * Accounts active on one key within the sliding window, for the volume ratio
 * (requests per member against honest accounts of the tier).
 *
 * The root's main HyperLogLog counts every account ever seen on the key, which
 * would make a key's volume per member fall as members come and go. Summing the
 * collectors' distinct accounts per report interval is exact per interval but
 * not per window: an account that sends twice a minute reports in two intervals
 * of sixty, so a window's requests over an interval's accounts overstates the
 * volume of every slow member. So the root keeps one HyperLogLog per window
 * bucket (the same buckets as its counts) and reads the union of the current
 * and the previous one: never fewer accounts than were active in the window,
 * at most those of two windows, so the ratio errs towards honest.
 *
 * In memory only (4 KB a bucket): an estimate rebuilt after an eviction would
 * undercount the accounts and overstate the ratio, so until the instance has
 * watched a whole window (or the key from its first roll-up) it answers null,
 * which the verdict reads as unknown.
 */
import { HyperLogLog } from "./hll.ts";
import { bucketStart } from "./rollup.ts";

export class ActiveAccounts {
  private readonly buckets = new Map<number, HyperLogLog>();

  /** `since`: when this instance started counting (epoch ms). */
  constructor(private readonly since: number) {}

  add(accounts: readonly string[], now: number, windowMs: number): void {
    const start = bucketStart(now, windowMs);
    let hll = this.buckets.get(start);
    if (!hll) {
      hll = new HyperLogLog();
      this.buckets.set(start, hll);
    }
    for (const account of accounts) hll.add(account);
    for (const s of this.buckets.keys()) if (s < start - windowMs) this.buckets.delete(s);
  }

  /** Distinct accounts in the current and previous window buckets; null until the count is complete. */
  estimate(now: number, windowMs: number, keyFirstSeen: number): number | null {
    const start = bucketStart(now, windowMs);
    if (this.since > keyFirstSeen && this.since > start - windowMs) return null;
    const union = new HyperLogLog();
    for (const [s, hll] of this.buckets) if (s >= start - windowMs) union.merge(hll);
    return union.estimate();
  }
}
