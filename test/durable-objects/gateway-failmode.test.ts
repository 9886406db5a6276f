/**
 * What the gateway does when the account object cannot answer: the policy's
 * failMode decides. The object is made to fail by a test-only hook (refused
 * outside ENVIRONMENT "test"). These tests write the shared KV policy.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { accountObjectName } from "../../lib/names.ts";
import { POLICY_KEY, refreshPolicyNow } from "../../worker/policy.ts";
import { createAccount, postMessage, unique } from "../helpers.ts";
import { failNextAdmits } from "./account-helpers.ts";

async function setFailMode(failMode: "open" | "closed", extra: Record<string, unknown> = {}): Promise<void> {
  await env.CONFIG.put(POLICY_KEY, JSON.stringify({ failMode, ...extra }));
  await refreshPolicyNow(env.CONFIG);
}

async function originSaw(tag: string): Promise<number> {
  const res = await fetch(`${env.ORIGIN_URL}/__demo/seen?tag=${encodeURIComponent(tag)}`);
  return ((await res.json()) as { count: number }).count;
}

afterEach(async () => {
  await env.CONFIG.delete(POLICY_KEY);
  await refreshPolicyNow(env.CONFIG);
});

describe("account object unavailable", () => {
  it("should let the request through, marked for the origin, when failMode is open", async () => {
    await setFailMode("open");
    const account = await createAccount();
    await failNextAdmits(env.ACCOUNTS.getByName(accountObjectName(account.id)), 1);
    const res = await postMessage(account.key, undefined, { headers: { "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { headers: Record<string, string> };
    expect(seen.headers["x-distillguard-reasons"]).toContain("admit.unavailable_fail_open");
    // The next request reaches a healthy object again and is counted as usual.
    expect((await postMessage(account.key)).status).toBe(200);
    expect((await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect()).usage.requests).toBe(1);
  });

  it("should still refuse a denied country when failing open, unless the region rule is shadowed", async () => {
    const regions = { deniedCountries: ["KP"] };
    await setFailMode("open", { regions });
    const account = await createAccount();
    const stub = env.ACCOUNTS.getByName(accountObjectName(account.id));
    await failNextAdmits(stub, 1);
    const denied = await postMessage(account.key, undefined, { cf: { country: "KP" } });
    expect(denied.status).toBe(403);
    await denied.arrayBuffer();

    await setFailMode("open", { regions, shadowRules: ["region"] });
    await failNextAdmits(stub, 1);
    const shadowed = await postMessage(account.key, undefined, { cf: { country: "KP" }, headers: { "x-demo-echo": "1" } });
    expect(shadowed.status).toBe(200);
    const seen = (await shadowed.json()) as { headers: Record<string, string> };
    expect(seen.headers["x-distillguard-action"]).toBe("block;shadow");
  });

  it("should refuse with 529 overloaded_error and retry-after, without reaching the origin, when failMode is closed", async () => {
    await setFailMode("closed");
    const account = await createAccount();
    await failNextAdmits(env.ACCOUNTS.getByName(accountObjectName(account.id)), 1);
    const tag = unique("closed");
    const res = await postMessage(account.key, undefined, { headers: { "x-demo-tag": tag } });
    expect(res.status).toBe(529);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({ type: "error", error: { type: "overloaded_error", message: expect.any(String) } });
    expect(await originSaw(tag)).toBe(0);
  });
});
