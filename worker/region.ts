/**
 * Step 4 — region. Country (Tor, unknown), ASN category, billing-vs-request
 * mismatch, tunnel-like RTT, and a mismatch through a hiding route (region
 * evasion), judged from request.cf and the account's billing country only. A deny is carried
 * into admission so it is counted and audited like every other decision.
 */
import { createMiddleware } from "hono/factory";
import { evaluateRegion } from "../lib/region/index.ts";
import { cfOf } from "./client.ts";
import type { AppEnv } from "./context.ts";

export function region() {
  return createMiddleware<AppEnv>(async function region(c, next) {
    const account = c.get("account");
    c.set(
      "region",
      evaluateRegion({
        cf: cfOf(c.req.raw),
        account: { id: account.id, tier: account.tier, billingCountry: account.billingCountry },
        policy: c.get("policy"),
      }),
    );
    await next();
  });
}
