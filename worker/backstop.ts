/**
 * The per-account backstop the admit step answers from when the account
 * object is overloaded (lib/backstop.ts has the rules). Entries come only from
 * the object's own answers, never from a client, and are bounded in number.
 */
import { backstopAnswer, firstEntry, rememberAnswer, type BackstopAnswer, type BackstopEntry } from "../lib/backstop.ts";
import type { AdmitResult } from "../lib/decision.ts";
import { ExpiringLru } from "./lru.ts";

// 10,000 accounts: the ones an isolate serves at once; an evicted quiet account starts from a fresh entry.
const MAX_ACCOUNTS = 10_000;
// An hour: what the object last said outlives a long overload, and is renewed by every answer.
const ENTRY_TTL_MS = 3_600_000;

const entries = new ExpiringLru<string, BackstopEntry>(MAX_ACCOUNTS);

export function rememberAdmit(accountId: string, answer: AdmitResult, deniedUpfront: boolean, safetyFactor: number): void {
  const now = Date.now();
  const previous = entries.get(accountId, now) ?? firstEntry(answer.limits.requests.limit, answer.limits.windowSeconds * 1000, now, safetyFactor);
  entries.set(accountId, rememberAnswer(previous, answer, deniedUpfront, now), now + ENTRY_TTL_MS);
}

/**
 * The backstop's answer for one request of an account whose object is overloaded. `fallbackLimit` is the
 * per-window request limit used when the object has not answered for this account in this isolate yet.
 */
export function answerFromBackstop(
  accountId: string,
  options: { fallbackLimit: number; windowMs: number; safetyFactor: number; knownConfirmedCluster: boolean },
): BackstopAnswer {
  const now = Date.now();
  const entry = entries.get(accountId, now) ?? firstEntry(options.fallbackLimit, options.windowMs, now, options.safetyFactor);
  const { answer, entry: next } = backstopAnswer(entry, now, options.safetyFactor, options.knownConfirmedCluster);
  entries.set(accountId, next, now + ENTRY_TTL_MS);
  return answer;
}

/** Forget every entry (tests: a fresh isolate). */
export function forgetBackstop(): void {
  entries.clear();
}
