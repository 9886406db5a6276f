/**
 * Step 4½ — entitle. The account's entitlement (lib/entitlements.ts) is checked
 * after region and before admit, so a refused request costs no call to the
 * account object. A request beyond a `clamp` entitlement goes on lowered: the
 * body in the context is replaced (the forwarder sends it as is) and the
 * fingerprint's capability follows, so admission reserves what will be asked
 * of the origin, not what the client wanted. In a model's launch window
 * (policy.launchGuard, lib/launch-guard.ts) the guard's rule is checked first,
 * then the account's own; the rule holds for the accounts its `when` names and
 * for new ones.
 *
 * Step 5½ — entitle by risk (`entitleRisky`), between admit and forward: only
 * the account object knows an account's risk, and its admission answer carries
 * it, so a risky account is held to the guard's rule there rather than with a
 * call of its own. It is only ever clamped; admission already reserved what the
 * client asked for, and settle gives back what the origin did not generate.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { parseBatch } from "../lib/batch.ts";
import { checkEntitlement, entitlementFor, type EntitledRoute, type Entitlement } from "../lib/entitlements.ts";
import { isNewAccount, isRiskyAccount, launchRule, newAccountRule, riskyAccountRule, type LaunchGuard } from "../lib/launch-guard.ts";
import { isShadow } from "../lib/policy/index.ts";
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

/** Why the launch guard holds an account: its rule's `when`, its age, or its risk. */
type HeldFor = "rule" | "new_account" | "risk";

type Check = { rules: readonly Entitlement[]; during?: string; scope?: string; how?: string };

type LaunchWindow = NonNullable<ReturnType<typeof launchRule>>;

/** The launch window the request's model is in, or null. */
function launchWindow(c: Context<AppEnv>, guard: LaunchGuard, route: EntitledRoute, now: number): LaunchWindow | null {
  if (guard.models.length === 0) return null;
  return modelsOf(route, c.get("body").json).map((model) => launchRule(guard, model, now)).find((l) => l !== null) ?? null;
}

/** The guard's check before admission, and why it holds the account: its rule's `when` or its age; null when neither. */
function launchCheck(c: Context<AppEnv>, guard: LaunchGuard, launch: LaunchWindow, now: number): { check: Check; heldFor: HeldFor } | null {
  const account = c.get("account");
  if (entitlementFor([launch.rule], account) !== null) return { check: { rules: [launch.rule], during: launch.during }, heldFor: "rule" };
  if (!isNewAccount(guard, account, now)) return null;
  const { rule, scope, how } = newAccountRule(guard);
  return { check: { rules: [rule], during: launch.during, scope, how }, heldFor: "new_account" };
}

/**
 * Replaces the request body with the lowered one, and the fingerprint's capability with what it now asks.
 * A batch's contained requests follow too: admission reserves for each of them, and without them it would
 * count the batch as one request.
 */
function lowerRequest(c: Context<AppEnv>, lowered: Record<string, unknown>): void {
  const bytes = new TextEncoder().encode(JSON.stringify(lowered));
  const batch = c.get("body").contained ? parseBatch(lowered, Number.POSITIVE_INFINITY) : null;
  c.set("body", { bytes, json: lowered, ...(batch?.ok ? { contained: batch.params } : {}) });
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
}

function logEntitlement(c: Context<AppEnv>, fields: { outcome: "refused" | "clamped"; heldFor: HeldFor | null; enforced: boolean; entitlements: string[] }): void {
  console.log(JSON.stringify({
    msg: "entitlement",
    requestId: c.get("requestId"),
    account: c.get("account").id,
    outcome: fields.outcome,
    launch: fields.heldFor !== null,
    ...(fields.heldFor === null ? {} : { heldFor: fields.heldFor }),
    enforced: fields.enforced,
    entitlements: fields.entitlements,
  }));
}

export function entitle(options: EntitleOptions = {}) {
  const routeOf = options.routeOf ?? defaultRouteOf;
  return createMiddleware<AppEnv>(async function entitle(c, next) {
    const policy = c.get("policy");
    const guarded = policy.entitlements.length > 0 || policy.launchGuard.models.length > 0;
    const route = guarded ? routeOf(c.req.method, c.req.path) : null;
    if (route === null) return next();
    const account = c.get("account");
    const checks: Check[] = [];
    const now = Date.now();
    const launch = launchWindow(c, policy.launchGuard, route, now);
    const held = launch === null ? null : launchCheck(c, policy.launchGuard, launch, now);
    // The launch guard first: a request must fit the launch window's rule and the account's own entitlement.
    if (held) checks.push(held.check);
    if (policy.entitlements.length > 0) checks.push({ rules: policy.entitlements });
    let json: unknown = c.get("body").json;
    const changes: string[] = [];
    let refused: { message: string; entitlements: string[] } | null = null;
    for (const check of checks) {
      const outcome = checkEntitlement({ ...check, account, route, body: json, help: policy.entitlementHelp });
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
    logEntitlement(c, {
      outcome: refused ? "refused" : "clamped",
      heldFor: held?.heldFor ?? null,
      enforced: !shadow,
      entitlements: refused ? refused.entitlements : [...new Set(changes)],
    });
    if (shadow) return next();
    if (refused) throw new GatewayError("permission_error", refused.message);
    lowerRequest(c, json as Record<string, unknown>);
    return next();
  });
}

/** Step 5½: a risky account's request on a model in its launch window, lowered to the guard's limits. */
export function entitleRisky(options: EntitleOptions = {}) {
  const routeOf = options.routeOf ?? defaultRouteOf;
  return createMiddleware<AppEnv>(async function entitleRisky(c, next) {
    const policy = c.get("policy");
    const guard = policy.launchGuard;
    const decision = c.get("decision");
    if (guard.models.length === 0 || !isRiskyAccount(guard, decision.risk)) return next();
    const route = routeOf(c.req.method, c.req.path);
    const rule = riskyAccountRule(guard);
    if (route === null || rule === null) return next();
    const now = Date.now();
    const launch = launchWindow(c, guard, route, now);
    // Held before admission already (its `when` or its age): that check was the stricter one.
    if (launch === null || launchCheck(c, guard, launch, now) !== null) return next();
    const outcome = checkEntitlement({ rules: [rule], account: c.get("account"), route, body: c.get("body").json, help: policy.entitlementHelp });
    if (outcome.kind !== "clamped") return next();
    const shadow = isShadow(policy, "entitlements");
    logEntitlement(c, { outcome: "clamped", heldFor: "risk", enforced: !shadow, entitlements: outcome.changes });
    if (!shadow) lowerRequest(c, outcome.body);
    return next();
  });
}
