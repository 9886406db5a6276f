/**
 * The origin routes the gateway serves, and how each is metered. Every route is
 * either metered for what it will generate or refused: a Messages request
 * reserves its input and max_tokens, a batch the sum over the requests it
 * holds, and the routes that generate nothing (token counting, models, batch
 * reads, the policy's extra routes) count as one request with no token
 * reservation. Anything else is 404.
 *
 * The origin is always asked at the canonical path of the route that was
 * metered, rebuilt from the route template and its checked parameters, never
 * at the path as the client spelled it.
 *
 * Pure: no bindings.
 */
import type { Policy } from "./policy/index.ts";

export type Endpoint = {
  /** Names the route in logs and tests. */
  name: "messages" | "count_tokens" | "models" | "model" | "batch_create" | "batch_read" | "extra";
  /**
   * What the body must be: a Messages request object, a batch of them, nothing (a body sent anyway is
   * neither read nor forwarded), or anything (the policy's extra routes: forwarded as sent).
   */
  body: "message" | "batch" | "none" | "any";
  /** What admission reserves: a message's tokens, a batch's summed tokens and request count, or one bare request. */
  meter: "message" | "batch" | "request";
  /** Whether `degrade` rewrites the body (max_tokens clamped, thinking dropped); token counting generates nothing. */
  degrades: boolean;
  /** A published entitlement the account's tier must hold (policy `endpoints.<name>.tiers`). */
  entitlement?: "batches";
};

export const ENDPOINTS = {
  messages: { name: "messages", body: "message", meter: "message", degrades: true },
  countTokens: { name: "count_tokens", body: "message", meter: "request", degrades: false },
  models: { name: "models", body: "none", meter: "request", degrades: false },
  model: { name: "model", body: "none", meter: "request", degrades: false },
  batchCreate: { name: "batch_create", body: "batch", meter: "batch", degrades: true, entitlement: "batches" },
  batchRead: { name: "batch_read", body: "none", meter: "request", degrades: false },
  extra: { name: "extra", body: "any", meter: "request", degrades: false },
} as const satisfies Record<string, Endpoint>;

/**
 * Ids in a path (a model, a batch): one segment of letters, digits, `_`, `-`, `.` and `:`, starting with a
 * letter or digit, so `.`, `..`, an encoded `/` and anything else that could move the origin path never pass.
 */
const PATH_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;

/**
 * The origin path for a route template ("/v1/models/:id") and the decoded parameters the router matched;
 * null when a parameter is not a plain id.
 */
export function originPathFor(template: string, params: Readonly<Record<string, string>>): string | null {
  let ok = true;
  const path = template.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    if (value === undefined || !PATH_ID.test(value)) {
      ok = false;
      return "";
    }
    return value;
  });
  return ok ? path : null;
}

/** Whether the policy lists this exact method and raw (still percent-encoded) path as an extra route. */
export function isListed(policy: Policy, method: string, rawPath: string): boolean {
  return policy.endpoints.extra.some((route) => route.method === method && route.path === rawPath);
}

/**
 * Whether the account's tier holds the entitlement ("*" in the list: every tier). A tier the policy does
 * not define is the default tier, as for limits.
 */
export function isEntitled(policy: Policy, entitlement: "batches", tier: string): boolean {
  const tiers = policy.endpoints[entitlement].tiers;
  const effective = Object.hasOwn(policy.tiers, tier) ? tier : policy.defaultTier;
  return tiers.includes("*") || tiers.includes(effective);
}
