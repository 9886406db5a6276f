/** Shared test helpers: requests through the real gateway, accounts through the real admin API. */
import { env, exports } from "cloudflare:workers";
import { POLICY_KEY, refreshPolicyNow } from "../worker/policy.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
/** The demo origin of this test run (vitest.config.ts picks a free port). */
export const ORIGIN: string = env.ORIGIN_URL;
export const GATEWAY = "https://gateway.test";

let counter = 0;
/** A name unique to this test run, so tests never share accounts, keys or objects. */
export function unique(prefix: string): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function gateway(path: string, init?: RequestInit & { cf?: Record<string, unknown> }): Promise<Response> {
  return exports.default.fetch(new Request(`${GATEWAY}${path}`, init as RequestInit));
}

export async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return gateway(`/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export type TestAccount = { id: string; key: string };

export async function createAccount(fields: Record<string, unknown> = {}): Promise<TestAccount> {
  const id = unique("acct");
  const key = `sk-test-${unique("key")}`;
  const res = await admin("PUT", `/accounts/${id}`, { keys: [key], ...fields });
  if (res.status !== 201) throw new Error(`account upsert failed: ${res.status} ${await res.text()}`);
  return { id, key };
}

export function messageBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "demo-model-1",
    max_tokens: 64,
    messages: [{ role: "user", content: "Hello there, how are you today?" }],
    ...overrides,
  };
}

export function postMessage(
  key: string,
  body: unknown = messageBody(),
  options: { headers?: Record<string, string>; cf?: Record<string, unknown>; signal?: AbortSignal } = {},
): Promise<Response> {
  return gateway("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01", ...options.headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    cf: options.cf,
    signal: options.signal,
  });
}

/** How many requests carrying this tag reached the demo origin. */
export async function originSaw(tag: string): Promise<number> {
  const res = await fetch(`${ORIGIN}/__demo/seen?tag=${encodeURIComponent(tag)}`);
  return ((await res.json()) as { count: number }).count;
}

export { env };

/** Puts a policy in KV and makes this isolate use it at once (tests that share KV reset it afterwards). */
export async function usePolicy(policy: unknown): Promise<void> {
  await env.CONFIG.put(POLICY_KEY, JSON.stringify(policy));
  await refreshPolicyNow(env.CONFIG);
}

/** Back to the built-in defaults (the refresh also drops the last-good copy). */
export async function resetPolicy(): Promise<void> {
  await env.CONFIG.delete(POLICY_KEY);
  await refreshPolicyNow(env.CONFIG);
}
