/**
 * Retrying a Durable Object call: only when the error says `retryable` and not
 * `overloaded` (an overloaded object is a signal to shed, not to hammer), with
 * capped, jittered exponential backoff. Pure apart from the timer, so every
 * caller (admission, settles, the admin API) retries the same way.
 */

export type RetryOptions = {
  /** Calls in all, the first included. */
  attempts?: number;
  /** The backoff before retry n is uniform in [0, min(maxBackoffMs, baseBackoffMs · 2^n)). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Injected in tests: the jitter source and the wait. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

// Three calls at most: a request waits for its admission, so a third failure is the fail mode's to handle.
const MAX_ATTEMPTS = 3;
const BASE_BACKOFF_MS = 20;
// 200 ms: the longest a request may wait between two tries before the client notices.
const MAX_BACKOFF_MS = 200;

type DoError = { retryable?: unknown; overloaded?: unknown };

/** True when a Durable Object error may be retried: it says `retryable`, and the object is not overloaded. */
export function shouldRetry(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as DoError;
  return e.retryable === true && e.overloaded !== true;
}

/** The most a wait before retry `attempt` (1 = the first retry) can last. */
export function backoffCapMs(attempt: number, options: Pick<RetryOptions, "baseBackoffMs" | "maxBackoffMs"> = {}): number {
  return Math.min(options.maxBackoffMs ?? MAX_BACKOFF_MS, (options.baseBackoffMs ?? BASE_BACKOFF_MS) * 2 ** attempt);
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? MAX_ATTEMPTS;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepFor;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !shouldRetry(err)) throw err;
      await sleep(random() * backoffCapMs(attempt, options));
    }
  }
}
