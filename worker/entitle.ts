/**
 * Step 4½ — entitle. The account's entitlement (lib/entitlements.ts) is checked
 * after region and before admit, so a refused request costs no call to the
 * account object. A request beyond a `clamp` entitlement goes on lowered: the
 * body in the context is replaced (the forwarder sends it as is) and the
 * fingerprint's capability follows, so admission reserves what will be asked
 * of the origin, not what the client wanted.
 */
import { createMiddleware } from "hono/factory";
import { checkEntitlement, type EntitledRoute } from "../lib/entitlements.ts";
import { isShadow } from "../lib/policy.ts";
import type { AppEnv } from "./context.ts";
import { GatewayError } from "./errors.ts";

export type EntitleOptions = {
  /** Which POST paths are checked, and as what. */
  routeOf?: (method: string, path: string) => EntitledRoute | null;
};

function defaultRouteOf(method: string, path: string): EntitledRoute | null {
  if (method !== "POST") return null;
  if (path === "/v1/messages") return "messages";
  if (path === "/v1/messages/batches") return "batches";
  return null;
}

export function entitle(options: EntitleOptions = {}) {
  const routeOf = options.routeOf ?? defaultRouteOf;
  return createMiddleware<AppEnv>(async function entitle(c, next) {
    const policy = c.get("policy");
    const route = policy.entitlements.length === 0 ? null : routeOf(c.req.method, c.req.path);
    if (route === null) return next();
    const outcome = checkEntitlement({
      rules: policy.entitlements,
      account: c.get("account"),
      route,
      body: c.get("body").json,
      help: policy.entitlementHelp,
    });
    if (outcome.kind === "within") return next();
    const shadow = isShadow(policy, "entitlements");
    console.log(JSON.stringify({
      msg: "entitlement",
      requestId: c.get("requestId"),
      account: c.get("account").id,
      outcome: outcome.kind,
      enforced: !shadow,
      entitlements: outcome.kind === "refused" ? outcome.entitlements : outcome.changes,
    }));
    if (shadow) return next();
    if (outcome.kind === "refused") throw new GatewayError("permission_error", outcome.message);
    const json = outcome.body;
    c.set("body", { bytes: new TextEncoder().encode(JSON.stringify(json)), json });
    const fp = c.get("fingerprint");
    const thinking = typeof json.thinking === "object" && json.thinking !== null ? (json.thinking as Record<string, unknown>) : null;
    c.set("fingerprint", {
      ...fp,
      capability: {
        ...fp.capability,
        maxTokens: typeof json.max_tokens === "number" ? json.max_tokens : fp.capability.maxTokens,
        thinking: thinking === null ? false : fp.capability.thinking,
        thinkingBudget: typeof thinking?.budget_tokens === "number" ? thinking.budget_tokens : null,
      },
    });
    return next();
  });
}
