/**
 * The policy step when the KV document goes bad: a fresh isolate must not fall
 * back to the built-in defaults and silently drop denied countries, custom
 * tiers or the fail mode. These tests write the shared KV policy.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  LAST_GOOD_POLICY_KEY,
  POLICY_KEY,
  policyDocumentIsBad,
  refreshPolicyNow,
  resetPolicyIsolate,
} from "../../worker/policy.ts";
import { admin, createAccount, env, messageBody, postMessage, resetPolicy } from "../helpers.ts";

const KOREA = { country: "KP", asn: 131279 };
const POLICY = { version: 3, failMode: "closed", regions: { deniedCountries: ["KP"] } };

afterEach(async () => {
  vi.restoreAllMocks();
  await resetPolicy();
});

/** A request from a denied country, answered by a brand-new isolate state. */
async function coldRequestFromKorea(key: string): Promise<number> {
  resetPolicyIsolate();
  const res = await postMessage(key, messageBody(), { cf: KOREA });
  await res.arrayBuffer();
  return res.status;
}

describe("a bad policy document and a cold isolate", () => {
  it("should keep a country denied by the last pushed policy when the document is corrupted", async () => {
    const account = await createAccount();
    expect((await admin("PUT", "/policy", POLICY)).status).toBe(200);
    expect(await coldRequestFromKorea(account.key)).toBe(403);

    await env.CONFIG.put(POLICY_KEY, "{ this is not json");
    expect(await coldRequestFromKorea(account.key)).toBe(403);
    expect(policyDocumentIsBad()).toBe(true);
  });

  it("should keep the last good document when the new one fails validation, even one written around the admin API", async () => {
    const account = await createAccount();
    // Written straight to KV: the isolate that validates it keeps the last-good copy in step.
    await env.CONFIG.put(POLICY_KEY, JSON.stringify(POLICY));
    resetPolicyIsolate();
    await refreshPolicyNow(env.CONFIG);
    expect(await env.CONFIG.get(LAST_GOOD_POLICY_KEY)).toBe(JSON.stringify(POLICY));

    await env.CONFIG.put(POLICY_KEY, JSON.stringify({ ...POLICY, version: 4, failMode: "sideways" }));
    expect(await coldRequestFromKorea(account.key)).toBe(403);
    const view = (await (await admin("GET", "/policy")).json()) as { fromKv: boolean; version: number; kvProblems: unknown[] };
    expect(view).toMatchObject({ fromKv: false, version: 3, kvProblems: [{ path: "failMode" }] });
  });

  it("should log a bad document once however often it is re-read, and recover when it is fixed", async () => {
    const account = await createAccount();
    expect((await admin("PUT", "/policy", POLICY)).status).toBe(200);
    const errors = vi.spyOn(console, "error");
    await env.CONFIG.put(POLICY_KEY, JSON.stringify({ limits: { windowSeconds: "soon" } }));
    for (let i = 0; i < 3; i++) await refreshPolicyNow(env.CONFIG);
    const rejected = errors.mock.calls.filter(([line]) => String(line).includes("policy rejected"));
    expect(rejected).toHaveLength(1);
    expect(policyDocumentIsBad()).toBe(true);

    await env.CONFIG.put(POLICY_KEY, JSON.stringify({ version: 5 }));
    await refreshPolicyNow(env.CONFIG);
    expect(policyDocumentIsBad()).toBe(false);
    expect(await coldRequestFromKorea(account.key)).toBe(200);
    expect(await env.CONFIG.get(LAST_GOOD_POLICY_KEY)).toBe(JSON.stringify({ version: 5 }));
  });

  it("should run the defaults when there is no document, and drop the last-good copy with it", async () => {
    const account = await createAccount();
    expect((await admin("PUT", "/policy", POLICY)).status).toBe(200);
    await env.CONFIG.delete(POLICY_KEY);
    expect(await coldRequestFromKorea(account.key)).toBe(200);
    expect(await env.CONFIG.get(LAST_GOOD_POLICY_KEY)).toBeNull();
  });
});
