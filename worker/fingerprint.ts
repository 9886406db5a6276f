/**
 * Step 3 — fingerprint. Pure functions in lib/fingerprint turn the request into
 * stable keys (what accounts share) and features (what a request asks for);
 * this step runs them once per request and hands the result to admission. A
 * Message Batch is fingerprinted on the requests it holds, each one in turn
 * (lib/fingerprint/batch.ts makes one fingerprint of them).
 */
import { createMiddleware } from "hono/factory";
import { fingerprintRequest, type Fingerprint } from "../lib/fingerprint/index.ts";
import { batchFingerprint } from "../lib/fingerprint/batch.ts";
import { cfOf, clientIp } from "./client.ts";
import type { AppEnv } from "./context.ts";

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
    // One at a time: each is bounded by fingerprint.maxContentBytes, the batch by the body limit.
    const contained: Fingerprint[] = [];
    for (const params of body.contained) contained.push(await of(params));
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
