/**
 * The isolate's backstop for an overloaded account object. An account that
 * floods its own object makes admits fail with `overloaded`; letting that
 * overflow through as `allow` would forward it unmetered, past block
 * overrides and cluster caps. Instead the isolate keeps, per account, what the
 * object last said (blocked, throttled until, degraded, capped as a confirmed
 * cluster member) and a small token bucket, and answers from those while the
 * object is away.
 *
 * The bucket holds the account's per-window request limit ÷ a safety factor,
 * refilled over one window: every isolate that sees the account has its own,
 * so the factor bounds what several isolates together can let through.
 * Pure functions over plain data; worker/backstop.ts keeps the entries.
 */
import type { AdmitResult } from "./decision.ts";

export type BackstopEntry = {
  /** The object's last answer was an enforced block that the region did not cause (override or risk). */
  blocked: boolean;
  /** Epoch ms until which the object's last throttle holds. */
  throttledUntil: number;
  /** The object's last answer degraded the account: what the backstop lets through is degraded too. */
  degraded: boolean;
  /** The account counts in a confirmed cluster: its share of the cluster cap cannot be metered here. */
  clusterCapped: boolean;
  /** Requests per window, as the object last answered (risk and overrides included). */
  requestLimit: number;
  windowMs: number;
  /** The local bucket. */
  tokens: number;
  refilledAt: number;
};

export type BackstopAnswer =
  | { kind: "block"; reason: string }
  | { kind: "throttle"; reason: string; retryAfterSeconds: number }
  | { kind: "admit"; degrade: boolean };

/** A fresh entry for an account the object has not answered for yet in this isolate. */
export function firstEntry(requestLimit: number, windowMs: number, now: number, safetyFactor: number): BackstopEntry {
  return {
    blocked: false,
    throttledUntil: 0,
    degraded: false,
    clusterCapped: false,
    requestLimit,
    windowMs,
    tokens: bucketSize(requestLimit, safetyFactor),
    refilledAt: now,
  };
}

/** The bucket's size: a positive limit always allows one request; a zero limit allows none. */
export function bucketSize(requestLimit: number, safetyFactor: number): number {
  if (!(requestLimit > 0)) return 0;
  return Math.max(1, Math.floor(requestLimit / safetyFactor));
}

/** Folds the object's answer into the entry. `deniedUpfront`: the request carried a region deny (not the account's standing). */
export function rememberAnswer(entry: BackstopEntry, answer: AdmitResult, deniedUpfront: boolean, now: number): BackstopEntry {
  const enforced = answer.enforced;
  return {
    ...entry,
    blocked: enforced && answer.action === "block" && !deniedUpfront,
    throttledUntil: enforced && answer.action === "throttle" ? now + Math.max(1, answer.retryAfterSeconds) * 1000 : entry.throttledUntil,
    degraded: enforced && answer.action === "degrade",
    clusterCapped: answer.reasons.some((r) => r.startsWith("cluster.confirmed") || r.startsWith("cluster.cap")),
    requestLimit: answer.limits.requests.limit,
    windowMs: answer.limits.windowSeconds * 1000,
  };
}

function refill(entry: BackstopEntry, now: number, safetyFactor: number): BackstopEntry {
  const size = bucketSize(entry.requestLimit, safetyFactor);
  if (size === 0) return { ...entry, tokens: 0, refilledAt: now };
  const elapsed = Math.max(0, now - entry.refilledAt);
  return { ...entry, tokens: Math.min(size, entry.tokens + (elapsed * size) / entry.windowMs), refilledAt: now };
}

/** What the backstop answers for one request, and the entry after it. */
export function backstopAnswer(
  entry: BackstopEntry,
  now: number,
  safetyFactor: number,
  knownConfirmedCluster: boolean,
): { answer: BackstopAnswer; entry: BackstopEntry } {
  if (entry.blocked) return { answer: { kind: "block", reason: "backstop.blocked" }, entry };
  if (entry.throttledUntil > now) {
    return { answer: { kind: "throttle", reason: "backstop.throttled", retryAfterSeconds: Math.ceil((entry.throttledUntil - now) / 1000) }, entry };
  }
  if (entry.clusterCapped || knownConfirmedCluster) {
    return { answer: { kind: "throttle", reason: "backstop.cluster", retryAfterSeconds: 1 }, entry };
  }
  const filled = refill(entry, now, safetyFactor);
  if (filled.tokens >= 1) return { answer: { kind: "admit", degrade: entry.degraded }, entry: { ...filled, tokens: filled.tokens - 1 } };
  const size = bucketSize(entry.requestLimit, safetyFactor);
  const msForOne = size === 0 ? entry.windowMs : ((1 - filled.tokens) * entry.windowMs) / size;
  return { answer: { kind: "throttle", reason: "backstop.bucket", retryAfterSeconds: Math.max(1, Math.ceil(msForOne / 1000)) }, entry: filled };
}
