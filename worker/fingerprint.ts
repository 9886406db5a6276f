/**
 * Step 3 — fingerprint. Pure functions in lib/fingerprint turn the request into
 * stable keys (what accounts share) and features (what a request asks for);
 * this step runs them once per request and hands the result to admission. A
 * Message Batch is fingerprinted on the requests it holds (lib/fingerprint/batch.ts
 * makes one fingerprint of them): every one of a batch of up to
 * MAX_FINGERPRINTED_PER_BATCH, a random sample of a bigger one.
 */
import { createMiddleware } from "hono/factory";
import { fingerprintRequest, type Fingerprint } from "../lib/fingerprint/index.ts";
import { batchFingerprint } from "../lib/fingerprint/batch.ts";
import { cfOf, clientIp } from "./client.ts";
import type { AppEnv } from "./context.ts";

// 128: one contained request costs ~0.1–0.3 ms to fingerprint, so a 1,000-request batch would cost
// ~300 ms of CPU before admission can refuse it — per attempt, throttled or not. A random sample of 128
// bounds that to ~40 ms and still finds an eliciting share of 5 % with probability > 99.8 %; random,
// so a campaign cannot hide its prompts at the positions a fixed sample skips.
export const MAX_FINGERPRINTED_PER_BATCH = 128;

/** Up to `max` distinct indices below `n`, chosen at random, in ascending order (all of them when n ≤ max). */
export function sampleIndices(n: number, max: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= max) return all;
  const random = new Uint32Array(max);
  crypto.getRandomValues(random);
  for (let i = 0; i < max; i++) {
    // A partial Fisher–Yates shuffle: the first `max` slots end up a uniform sample.
    const j = i + ((random[i] ?? 0) % (n - i));
    [all[i], all[j]] = [all[j] ?? 0, all[i] ?? 0];
  }
  return all.slice(0, max).sort((a, b) => a - b);
}

export function fingerprint() {
  return createMiddleware<AppEnv>(async function fingerprint(c, next) {
    const policy = c.get("policy");
    const body = c.get("body");
    const of = (json: unknown) =>
      fingerprintRequest({ cf: cfOf(c.req.raw), headers: c.req.raw.headers, ip: clientIp(c.req.raw), body: json, policy });
    if (!body.contained) {
      c.set("fingerprint", await of(body.json));
      return next();
    }
    // One at a time: each is bounded by fingerprint.maxContentBytes, their number by the sample.
    const contained: Fingerprint[] = [];
    for (const i of sampleIndices(body.contained.length, MAX_FINGERPRINTED_PER_BATCH)) contained.push(await of(body.contained[i]));
    const batch = batchFingerprint(contained, policy.fingerprint.elicitationThreshold);
    // The body step refuses an empty batch, so there is always a representative.
    if (batch) {
      c.set("fingerprint", batch.representative);
      c.set("batch", batch);
    } else {
      c.set("fingerprint", await of(undefined));
    }
    await next();
  });
}
