/**
 * distillguard: the gateway Worker. The request path reads left to right:
 * policy → identity → endpoint → body → fingerprint → region → entitle →
 * shared indicators → safeguards → admit → entitle by risk → forward (which
 * hands the answer to settle). One line per origin route, each metered
 * for what it will generate (lib/endpoints.ts); any other /v1 path is 404
 * unless the policy lists it. The cron linker is apart, in cron/.
 */
import { Hono } from "hono";
import { adminRoutes } from "./admin/index.ts";
import { admit } from "./admit.ts";
import { ENDPOINTS, type Endpoint } from "../lib/endpoints.ts";
import { body } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { runCron } from "./cron/index.ts";
import { endpoint, listedEndpoint } from "./endpoint.ts";
import { entitle, entitleRisky } from "./entitle.ts";
import { GatewayError, onError } from "./errors.ts";
import { favicon } from "./favicon.ts";
import { fingerprint } from "./fingerprint.ts";
import { forward } from "./forward.ts";
import { identity } from "./identity.ts";
import { currentPolicy, policy } from "./policy.ts";
import { region } from "./region.ts";
import { requestContext } from "./request-context.ts";
import { safeguards } from "./safeguards.ts";
import { sharedIndicators } from "./shared-indicators.ts";

export { AccountDO } from "../durable-objects/account/index.ts";
export { ClusterCollectorDO } from "../durable-objects/cluster-collector.ts";
export { ClusterRootDO } from "../durable-objects/cluster-root.ts";

const app = new Hono<AppEnv>();
app.onError(onError);
app.notFound(() => {
  throw new GatewayError("not_found_error", "Not found");
});
app.use("*", requestContext());

app.get("/healthz", (c) => c.json({ ok: true }));
app.get("/favicon.ico", favicon);
app.route("/admin", new Hono<AppEnv>().use("*", policy()).route("/", adminRoutes()));

/** The steps after the route is known: every origin route goes through all of them. */
const metered = () =>
  [body(), fingerprint(), region(), entitle(), sharedIndicators(), safeguards(), admit(), entitleRisky(), forward()] as const;
const route = (spec: Endpoint) => [policy(), identity(), endpoint(spec), ...metered()] as const;

app.post("/v1/messages", ...route(ENDPOINTS.messages));
app.post("/v1/messages/count_tokens", ...route(ENDPOINTS.countTokens));
app.get("/v1/models", ...route(ENDPOINTS.models));
app.get("/v1/models/:id", ...route(ENDPOINTS.model));
app.post("/v1/messages/batches", ...route(ENDPOINTS.batchCreate));
app.get("/v1/messages/batches", ...route(ENDPOINTS.batchRead));
app.get("/v1/messages/batches/:id", ...route(ENDPOINTS.batchRead));
app.get("/v1/messages/batches/:id/results", ...route(ENDPOINTS.batchRead));
app.post("/v1/messages/batches/:id/cancel", ...route(ENDPOINTS.batchRead));
app.delete("/v1/messages/batches/:id", ...route(ENDPOINTS.batchRead));
app.all("/v1/*", policy(), identity(), listedEndpoint(ENDPOINTS.extra), ...metered());

export default {
  fetch: app.fetch,
  /** Cron: D1 retention, then linking accounts into clusters over the account↔fingerprint graph. */
  async scheduled(_controller, env, ctx) {
    const policy = await currentPolicy(env.CONFIG, (p) => ctx.waitUntil(p));
    ctx.waitUntil(runCron(env, policy));
  },
} satisfies ExportedHandler<Env>;

export { app };
