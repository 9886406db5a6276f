/**
 * Which origin route this is, once the key is known: the route's metering
 * (lib/endpoints.ts), the canonical origin path rebuilt from the route
 * template, and the tier entitlement a route may need. A request the table
 * does not name — and the policy does not list — is 404 and reaches nothing.
 */
import { createMiddleware } from "hono/factory";
import { isEntitled, isListed, originPathFor, type Endpoint } from "../lib/endpoints.ts";
import type { AppEnv, RouteMatch } from "./context.ts";
import { GatewayError } from "./errors.ts";

function notFound(): GatewayError {
  return new GatewayError("not_found_error", "Not found");
}

/** A built-in route: the path the router matched, with its ids checked and put back in canonical form. */
export function endpoint(spec: Endpoint) {
  // A route without parameters ("/v1/messages") has one origin path: its match is made once, not per request.
  const fixed = new Map<string, RouteMatch>();
  return createMiddleware<AppEnv>(async function endpoint(c, next) {
    const template = c.req.routePath;
    let match = fixed.get(template);
    if (match === undefined) {
      const parameterless = !template.includes(":");
      const originPath = originPathFor(template, parameterless ? {} : (c.req.param() as Record<string, string>));
      if (originPath === null) throw notFound();
      match = { ...spec, originPath };
      if (parameterless) fixed.set(template, match);
    }
    if (spec.entitlement && !isEntitled(c.get("policy"), spec.entitlement, c.get("account").tier)) {
      throw new GatewayError(
        "permission_error",
        `Message Batches are not available on the "${c.get("account").tier}" tier (entitlement: batches); upgrade to a tier that includes batches to use them`,
      );
    }
    c.set("endpoint", match);
    await next();
  });
}

/** Every other /v1 path: forwarded only when the policy lists its exact method and path, else 404. */
export function listedEndpoint(spec: Endpoint) {
  return createMiddleware<AppEnv>(async function listedEndpoint(c, next) {
    // The raw path, still percent-encoded: the listed path is plain, so no encoding of it can match.
    const rawPath = new URL(c.req.url).pathname;
    if (!isListed(c.get("policy"), c.req.method, rawPath)) throw notFound();
    c.set("endpoint", { ...spec, originPath: rawPath });
    await next();
  });
}
