/**
 * distillguard: the gateway Worker. The request path reads top to bottom:
 * policy → identity → body → fingerprint → region → admit → forward → settle.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { rateLimitHeaders } from "../lib/ratelimit-headers.ts";
import { adminRoutes } from "./admin/index.ts";
import { admit } from "./admit.ts";
import { body } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { GatewayError, onError } from "./errors.ts";
import { fingerprint } from "./fingerprint.ts";
import { buildUpstreamRequest, proxyToOrigin, trustedHeaders } from "./forward.ts";
import { identity } from "./identity.ts";
import { linkClusters } from "./linker.ts";
import { countDecision, logDecision, logStreamEnd } from "./log.ts";
import { currentPolicy } from "./policy.ts";
import { region } from "./region.ts";
import { settle } from "./settle.ts";
import { summarizeFingerprint } from "../lib/fingerprint/index.ts";

export { AccountDO } from "../durable-objects/account/index.ts";
export { ClusterDO } from "../durable-objects/cluster.ts";

/** Request id on every answer; rate-limit headers and the decision log line once a decision exists. */
const requestContext = () =>
  createMiddleware<AppEnv>(async function requestContext(c, next) {
    const requestId = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    c.set("requestId", requestId);
    c.set("startedAt", Date.now());
    await next();
    c.res.headers.set("request-id", requestId);
    const decision = c.get("decision");
    if (!decision) return;
    for (const [name, value] of Object.entries(rateLimitHeaders(decision.limits, Date.now()))) {
      c.res.headers.set(name, value);
    }
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
    };
    logDecision(entry);
    countDecision(c.env.DECISIONS, entry);
    if (c.env.ENVIRONMENT === "development" && !decision.enforced && decision.action !== "allow") {
      c.res.headers.set("x-distillguard-shadow-action", decision.action);
    }
  });

const policy = () =>
  createMiddleware<AppEnv>(async function policy(c, next) {
    c.set("policy", await currentPolicy(c.env.CONFIG, (p) => c.executionCtx.waitUntil(p)));
    await next();
  });

const app = new Hono<AppEnv>();
app.onError(onError);
app.notFound(() => {
  throw new GatewayError("not_found_error", "Not found");
});
app.use("*", requestContext());

app.get("/healthz", (c) => c.json({ ok: true }));

app.route("/admin", new Hono<AppEnv>().use("*", policy()).route("/", adminRoutes()));

app.all("/v1/*", policy(), identity(), body(), fingerprint(), region(), admit(), async (c) => {
  const decision = c.get("decision");
  const account = c.get("account");
  const requestId = c.get("requestId");
  const upstream = buildUpstreamRequest({
    request: c.req.raw,
    originUrl: c.env.ORIGIN_URL,
    body: c.get("body"),
    decision,
    policy: c.get("policy"),
    trusted: trustedHeaders({
      requestId,
      accountId: account.id,
      decision,
      country: c.get("region").country,
      fingerprintSummary: summarizeFingerprint(c.get("fingerprint")),
    }),
  });
  let proxied: Awaited<ReturnType<typeof proxyToOrigin>>;
  try {
    proxied = await proxyToOrigin(upstream);
  } catch (err) {
    c.executionCtx.waitUntil(settle(c.env, account.id, decision.leaseId, null, 502));
    throw err;
  }
  c.executionCtx.waitUntil(
    proxied.done.then(({ status, usage, outcome }) => {
      // The decision line went out with the headers; an answer that did not finish gets a second line.
      if (outcome !== "complete") logStreamEnd({ requestId, account: account.id, outcome, usage: usage !== null });
      return settle(c.env, account.id, decision.leaseId, usage, status);
    }),
  );
  return proxied.response;
});

export default {
  fetch: app.fetch,
  /** Cron: link accounts into clusters over the account↔fingerprint graph. */
  async scheduled(_controller, env, ctx) {
    const policy = await currentPolicy(env.CONFIG, (p) => ctx.waitUntil(p));
    ctx.waitUntil(linkClusters(env, policy));
  },
} satisfies ExportedHandler<Env>;

export { app };
