/**
 * distillguard: the gateway Worker. The request path reads left to right:
 * policy → identity → body → fingerprint → region → admit → forward (which
 * hands the answer to settle). The cron linker is apart, in cron/.
 */
import { Hono } from "hono";
import { adminRoutes } from "./admin/index.ts";
import { admit } from "./admit.ts";
import { body } from "./body.ts";
import type { AppEnv } from "./context.ts";
import { runCron } from "./cron/index.ts";
import { GatewayError, onError } from "./errors.ts";
import { fingerprint } from "./fingerprint.ts";
import { forward } from "./forward.ts";
import { identity } from "./identity.ts";
import { currentPolicy, policy } from "./policy.ts";
import { region } from "./region.ts";
import { requestContext } from "./request-context.ts";

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
app.route("/admin", new Hono<AppEnv>().use("*", policy()).route("/", adminRoutes()));
app.all("/v1/*", policy(), identity(), body(), fingerprint(), region(), admit(), forward());

export default {
  fetch: app.fetch,
  /** Cron: D1 retention, then linking accounts into clusters over the account↔fingerprint graph. */
  async scheduled(_controller, env, ctx) {
    const policy = await currentPolicy(env.CONFIG, (p) => ctx.waitUntil(p));
    ctx.waitUntil(runCron(env, policy));
  },
} satisfies ExportedHandler<Env>;

export { app };
