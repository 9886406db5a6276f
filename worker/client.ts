/**
 * What the edge knows about the client, from sources a client cannot forge at
 * the real edge: `request.cf` and the `CF-Connecting-IP` header that Cloudflare
 * overwrites. Every field may be missing (local dev, tests, odd clients).
 */
export function cfOf(request: Request): Record<string, unknown> | undefined {
  const cf: unknown = (request as Request & { cf?: unknown }).cf;
  return typeof cf === "object" && cf !== null ? (cf as Record<string, unknown>) : undefined;
}

export function clientIp(request: Request): string | null {
  return request.headers.get("cf-connecting-ip")?.trim() || null;
}
