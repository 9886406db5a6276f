/**
 * Step 4½ — entitle. The account's entitlement (lib/entitlements.ts) is checked
 * after region and before admit, so a refused request costs no call to the
 * account object. A request beyond a `clamp` entitlement goes on lowered: the
 * body in the context is replaced (the forwarder sends it as is) and the
 * fingerprint's capability follows, so admission reserves what will be asked
 * of the origin, not what the client wanted. In a model's launch window
 * (policy.launchGuard) the guard's rule is checked first, then the account's own.
 */
import { createMiddleware } from "hono/factory";
import { checkEntitlement, type EntitledRoute, type Entitlement } from "../lib/entitlements.ts";
import { launchRule } from "../lib/launch-guard.ts";
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

/** The model a request asks for: a message's own, or the first contained request's in a launch window. */
function modelsOf(route: EntitledRoute, json: unknown): unknown[] {
  if (typeof json !== "object" || json === null) return [];
  const body = json as Record<string, unknown>;
  if (route === "messages") return [body.model];
  if (!Array.isArray(body.requests)) return [];
  return body.requests.map((r: unknown) => (typeof r === "object" && r !== null ? (r as { params?: { model?: unknown } }).params?.model : undefined));
}

export function entitle(options: EntitleOptions = {}) {
  const routeOf = options.routeOf ?? defaultRouteOf;
  return createMiddleware<AppEnv>(async function entitle(c, next) {
    const policy = c.get("policy");
    const guarded = policy.entitlements.length > 0 || policy.launchGuard.models.length > 0;
    const route = guarded ? routeOf(c.req.method, c.req.path) : null;
    if (route === null) return next();
    const account = c.get("account");
    const checks: Array<{ rules: readonly Entitlement[]; during?: string }> = [];
    const now = Date.now();
    const launch = modelsOf(route, c.get("body").json).map((model) => launchRule(policy.launchGuard, model, now)).find((l) => l !== null);
    // The launch guard first: a request must fit the launch window's rule and the account's own entitlement.
    if (launch) checks.push({ rules: [launch.rule], during: launch.during });
    if (policy.entitlements.length > 0) checks.push({ rules: policy.entitlements });
    let json: unknown = c.get("body").json;
    const changes: string[] = [];
    let refused: { message: string; entitlements: string[] } | null = null;
    for (const check of checks) {
      const outcome = checkEntitlement({ rules: check.rules, account, route, body: json, help: policy.entitlementHelp, during: check.during });
      if (outcome.kind === "refused") {
        refused = outcome;
        break;
      }
      if (outcome.kind === "clamped") {
        json = outcome.body;
        changes.push(...outcome.changes);
      }
    }
    if (refused === null && changes.length === 0) return next();
    const shadow = isShadow(policy, "entitlements");
    console.log(JSON.stringify({
      msg: "entitlement",
      requestId: c.get("requestId"),
      account: account.id,
      outcome: refused ? "refused" : "clamped",
      launch: launch !== undefined,
      enforced: !shadow,
      entitlements: refused ? refused.entitlements : [...new Set(changes)],
    }));
    if (shadow) return next();
    if (refused) throw new GatewayError("permission_error", refused.message);
    const lowered = json as Record<string, unknown>;
    c.set("body", { bytes: new TextEncoder().encode(JSON.stringify(lowered)), json: lowered });
    const fp = c.get("fingerprint");
    const thinking = typeof lowered.thinking === "object" && lowered.thinking !== null ? (lowered.thinking as Record<string, unknown>) : null;
    c.set("fingerprint", {
      ...fp,
      capability: {
        ...fp.capability,
        maxTokens: typeof lowered.max_tokens === "number" ? lowered.max_tokens : fp.capability.maxTokens,
        thinking: thinking === null ? false : fp.capability.thinking,
        thinkingBudget: typeof thinking?.budget_tokens === "number" ? thinking.budget_tokens : null,
      },
    });
    return next();
  });
}
