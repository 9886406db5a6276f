/**
 * Step 3 — fingerprint. Pure functions in lib/fingerprint turn the request into
 * stable keys (what accounts share) and features (what a request asks for);
 * this step runs them once per request and hands the result to admission.
 */
import { createMiddleware } from "hono/factory";
import { fingerprintRequest } from "../lib/fingerprint/index.ts";
import { cfOf, clientIp } from "./client.ts";
import type { AppEnv } from "./context.ts";

export function fingerprint() {
  return createMiddleware<AppEnv>(async function fingerprint(c, next) {
    const policy = c.get("policy");
    c.set(
      "fingerprint",
      await fingerprintRequest({
        cf: cfOf(c.req.raw),
        headers: c.req.raw.headers,
        ip: clientIp(c.req.raw),
        body: c.get("body").json,
        policy,
      }),
    );
    await next();
  });
}
