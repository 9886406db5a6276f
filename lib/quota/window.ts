/**
 * Sliding-window counters made of sub-buckets.
 *
 * A window of W ms is cut into N buckets of W/N ms. A bucket counts for as
 * long as any part of it lies inside the last W ms, so every event of the last
 * W ms is always counted and the limit holds over *every* window of length W,
 * not just on average (the two-bucket weighted estimate can let up to 1.5× the
 * limit through at a bucket edge). The price: an event may keep counting for up
 * to one bucket (W/N) longer than W. Reservations can be given back, so a
 * bucket's value may go down as well as up. A single amount larger than the
 * limit never fits: the limit is a bound on every window, not on all but one
 * request per window.
 *
 * Pure functions over plain data: the AccountDO, the simulator and the tests
 * share this one definition of "how much is used" and "when does it fit".
 */

/** What was counted between `start` (inclusive) and `end` (exclusive), epoch ms. */
export type Bucket = { start: number; end: number; value: number };

/** Width of one sub-bucket; never below 1 ms so a bucket always has an extent. */
export function bucketWidthMs(windowMs: number, buckets: number): number {
  return Math.max(1, Math.ceil(windowMs / Math.max(1, Math.floor(buckets))));
}

/** Start of the bucket that `now` falls in: buckets are aligned so every writer agrees on them. */
export function bucketStartFor(now: number, widthMs: number): number {
  return Math.floor(now / widthMs) * widthMs;
}

/** A bucket counts while it overlaps (now − W, now]. */
export function isLive(bucket: { end: number }, now: number, windowMs: number): boolean {
  return bucket.end > now - windowMs;
}

/** When a bucket stops counting: the first instant at which it no longer overlaps the window. */
export function expiresAt(bucket: { end: number }, windowMs: number): number {
  return bucket.end + windowMs;
}

export function windowUsage(buckets: readonly Bucket[], now: number, windowMs: number): number {
  let sum = 0;
  for (const b of buckets) if (isLive(b, now, windowMs)) sum += b.value;
  return sum;
}

/**
 * Whether `amount` more fits under `limit` right now. An amount larger than the whole limit never
 * fits, not even into an empty window: admitting it there would let one request per window take
 * many windows' worth (a max_tokens of 64,000 under an 8,000-token limit is 8×). Admission refuses
 * such a request outright (see admission.ts `oversized`) rather than let it wait for a window that
 * can never hold it.
 */
export function fits(used: number, limit: number, amount: number): boolean {
  return used + Math.max(0, amount) <= limit;
}

/**
 * Milliseconds until `amount` more fits under `limit`, assuming nothing else is counted meanwhile:
 * 0 when it fits now, Infinity when it never can (an amount above the limit, or a limit of 0).
 */
export function msUntilFits(buckets: readonly Bucket[], now: number, windowMs: number, limit: number, amount: number): number {
  const need = Math.max(0, amount);
  if (need > limit) return Number.POSITIVE_INFINITY;
  const live = buckets.filter((b) => isLive(b, now, windowMs)).sort((a, b) => a.end - b.end);
  let used = 0;
  for (const b of live) used += b.value;
  if (used + need <= limit) return 0;
  for (const b of live) {
    used -= b.value;
    if (used + need <= limit) return Math.max(0, expiresAt(b, windowMs) - now);
  }
  // Unreachable with need <= limit (an empty window always fits); kept as a safe bound.
  return windowMs;
}

/** Milliseconds until everything counted now has left the window (full replenishment). */
export function msUntilEmpty(buckets: readonly Bucket[], now: number, windowMs: number): number {
  let last = now;
  for (const b of buckets) if (b.value > 0 && isLive(b, now, windowMs)) last = Math.max(last, expiresAt(b, windowMs));
  return last - now;
}

/**
 * Adds `amount` to the bucket `now` falls in, creating it when needed, and drops
 * buckets that no longer count. Returns a new array; the input is not changed.
 */
export function record(buckets: readonly Bucket[], now: number, windowMs: number, widthMs: number, amount: number): Bucket[] {
  const start = bucketStartFor(now, widthMs);
  const end = start + widthMs;
  let found = false;
  const next: Bucket[] = [];
  for (const b of buckets) {
    if (!isLive(b, now, windowMs)) continue;
    if (b.start === start && b.end === end) {
      next.push({ ...b, value: b.value + amount });
      found = true;
    } else {
      next.push(b);
    }
  }
  if (!found) next.push({ start, end, value: amount });
  return next;
}

/**
 * Time until one more request fits a member's share of a cluster's aggregate
 * cap. A share of at least one request per window is an ordinary window limit;
 * a fractional share (a 100-request cap split over 24,000 accounts) means one
 * request per `windowMs / share`, measured from the member's last admitted
 * request, so the cluster as a whole still gets about its cap and no more.
 */
export function msUntilClusterShareFits(
  share: number,
  requests: readonly Bucket[],
  lastAdmittedAt: number | null,
  now: number,
  windowMs: number,
): number {
  if (share >= 1) return msUntilFits(requests, now, windowMs, Math.floor(share), 1);
  if (share <= 0) return Number.POSITIVE_INFINITY;
  if (lastAdmittedAt === null) return 0;
  return Math.max(0, lastAdmittedAt + windowMs / share - now);
}
