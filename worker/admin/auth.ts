/**
 * Operator authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in
 * constant time (both sides hashed first, so even the length is not leaked).
 * Without a configured token every admin call is refused.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context.ts";
import { GatewayError } from "../errors.ts";

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

export async function tokensMatch(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

export function adminAuth() {
  return createMiddleware<AppEnv>(async function adminAuth(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (!expected || !match?.[1] || !(await tokensMatch(match[1], expected))) {
      throw new GatewayError("authentication_error", "a valid admin token is required");
    }
    await next();
  });
}
