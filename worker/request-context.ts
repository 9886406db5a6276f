/**
 * What every answer carries, whatever step ended the request: a request id,
 * and once admission has decided, the rate-limit headers (the published limits,
 * which never move with risk: lib/ratelimit-headers.ts) and the decision log
 * line (with its Analytics Engine count).
 */
import { createMiddleware } from "hono/factory";
import { publishedLimits, publishedSnapshot, rateLimitHeaderPairs } from "../lib/ratelimit-headers.ts";
import type { AppEnv } from "./context.ts";
import { countDecision, logDecision } from "./log.ts";

export type RequestContextOptions = {
  /**
   * Whether answers name the action a shadow (not enforced) decision would have taken, in
   * `x-distillguard-shadow-action`; never the reasons or the risk. Local development only by default.
   */
  showShadowAction?: (env: Env) => boolean;
};

const inDevelopment = (env: Env) => env.ENVIRONMENT === "development";

export function requestContext(options: RequestContextOptions = {}) {
  const showShadowAction = options.showShadowAction ?? inDevelopment;
  return createMiddleware<AppEnv>(async function requestContext(c, next) {
    const requestId = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    c.set("requestId", requestId);
    c.set("startedAt", Date.now());
    await next();
    c.res.headers.set("request-id", requestId);
    const decision = c.get("decision");
    if (!decision) return;
    const published = publishedSnapshot(decision.limits, publishedLimits(c.get("policy"), c.get("account")));
    for (const [name, value] of rateLimitHeaderPairs(published, Date.now())) c.res.headers.set(name, value);
    const entry = {
      requestId,
      account: c.get("account")?.id ?? null,
      action: decision.action,
      enforced: decision.enforced,
      reasons: decision.reasons,
      risk: decision.risk,
      status: c.res.status,
      country: c.get("region")?.country ?? "XX",
      clusters: decision.clusters,
      latencyMs: Date.now() - c.get("startedAt"),
      ...(decision.local ? { local: true as const } : {}),
    };
    logDecision(entry);
    countDecision(c.env.DECISIONS, entry);
    if (showShadowAction(c.env) && !decision.enforced && decision.action !== "allow") {
      c.res.headers.set("x-distillguard-shadow-action", decision.action);
    }
  });
}
