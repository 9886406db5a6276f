/** Helpers for the per-route security tests: raw calls through the real gateway, and the account object's own counts. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { accountObjectName } from "../../../lib/names.ts";
import type { AccountState } from "../../../lib/decision.ts";
import { gateway, originSaw, unique } from "../../helpers.ts";

export type Echo = { method: string; headers: Record<string, string>; body: string; url: string };

/** A tier that never throttles the few requests a test makes, so every difference is the route's metering. */
export const ROOMY = { requests: 1_000, inputTokens: 10_000_000, outputTokens: 10_000_000, exchangesPerDay: 100_000, concurrency: 1_000 };
/** Every request lands on "degrade", whatever its risk. */
export const ALWAYS_DEGRADE = { tag: 0, degrade: 0, throttle: 100, block: 100 };
/** Risk never acts: only limits decide. */
export const QUIET = { tag: 100, degrade: 100, throttle: 100, block: 100 };

export function call(
  method: string,
  path: string,
  key: string | null,
  options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "anthropic-version": "2023-06-01", ...options.headers };
  if (key !== null) headers["x-api-key"] = key;
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  return gateway(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
    signal: options.signal,
  });
}

export async function expectError(res: Response, status: number, type: string): Promise<string> {
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(status);
  const parsed = JSON.parse(text) as { type: string; error: { type: string; message: string } };
  expect(parsed.type).toBe("error");
  expect(parsed.error.type).toBe(type);
  return parsed.error.message;
}

export function accountState(accountId: string): Promise<AccountState> {
  return env.ACCOUNTS.getByName(accountObjectName(accountId)).inspect();
}

/** The account's state once `ready` holds (settles arrive in waitUntil, up to ~100 ms after the answer). */
export async function accountStateWhen(accountId: string, ready: (s: AccountState) => boolean, tries = 150): Promise<AccountState> {
  let state = await accountState(accountId);
  for (let i = 0; i < tries && !ready(state); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    state = await accountState(accountId);
  }
  return state;
}

/** A tag for x-demo-tag, and how many requests carrying it reached the origin. */
export function tagged(): { tag: string; seen: () => Promise<number> } {
  const tag = unique("tag");
  return { tag, seen: () => originSaw(tag) };
}

export function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}
