import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_POLICY, validatePolicy, type Policy } from "../../../lib/policy/index.ts";
import { POLICY_KEY, refreshPolicyNow } from "../../../worker/policy.ts";
import example from "../../../policy.example.json";
import { admin, createAccount, gateway } from "../../helpers.ts";
import { expectError, json } from "./helpers.ts";

type PolicyView = { fromKv: boolean; version: number; policy: Policy; kvProblems?: Array<{ path: string; message: string }> };

afterEach(async () => {
  await env.CONFIG.delete(POLICY_KEY);
  await refreshPolicyNow(env.CONFIG);
});

describe("GET /admin/policy", () => {
  it("should show the built-in defaults when KV holds no policy", async () => {
    const view = await json<PolicyView>(await admin("GET", "/policy"));
    expect(view).toEqual({ fromKv: false, version: 0, policy: DEFAULT_POLICY });
  });

  it("should show the KV document with defaults filled in", async () => {
    await env.CONFIG.put(POLICY_KEY, JSON.stringify({ version: 7, mode: "shadow" }));
    const view = await json<PolicyView>(await admin("GET", "/policy"));
    expect(view).toMatchObject({ fromKv: true, version: 7, policy: { mode: "shadow", limits: DEFAULT_POLICY.limits } });
  });

  it("should show defaults and why, when the KV document is invalid", async () => {
    await env.CONFIG.put(POLICY_KEY, JSON.stringify({ version: 8, mode: "panic" }));
    const view = await json<PolicyView>(await admin("GET", "/policy"));
    expect(view).toMatchObject({ fromKv: false, version: 0, kvProblems: [{ path: "mode" }] });
  });
});

describe("PUT /admin/policy", () => {
  it("should store the document, apply it in this isolate at once and audit the change", async () => {
    const res = await admin("PUT", "/policy", { version: 12, mode: "shadow", cache: { keyTtlSeconds: 5 } });
    expect(res.status).toBe(200);
    expect(await json<PolicyView>(res)).toMatchObject({ ok: true, version: 12, policy: { mode: "shadow", cache: { keyTtlSeconds: 5 } } });
    expect(JSON.parse((await env.CONFIG.get(POLICY_KEY)) ?? "null")).toEqual({ version: 12, mode: "shadow", cache: { keyTtlSeconds: 5 } });
    expect((await refreshPolicyNow(env.CONFIG)).version).toBe(12);
    const audit = await env.DB.prepare("SELECT detail FROM audit_log WHERE kind = 'admin' AND action = 'policy_put' ORDER BY id DESC LIMIT 1").first<{ detail: string }>();
    expect(JSON.parse(audit?.detail ?? "null")).toEqual({ version: 12, previousVersion: 0, mode: "shadow" });
  });

  it("should take effect on the next gateway request", async () => {
    const account = await createAccount();
    await admin("PUT", "/policy", { version: 13, regions: { deniedCountries: ["FR"] } });
    const res = await gateway("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": account.key, "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-model-1", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
      cf: { country: "FR" },
    } as RequestInit);
    expect(res.status).toBe(403);
  });

  it("should refuse an invalid policy with 400 listing every problem, and keep KV unchanged", async () => {
    await admin("PUT", "/policy", { version: 1 });
    const res = await admin("PUT", "/policy", {
      version: -1,
      mode: "panic",
      actions: { tag: 90, block: 10 },
      defaultTier: "gold",
      surprise: true,
    });
    const body = await expectError(res, 400, "invalid_request_error");
    const paths = (body.error.problems ?? []).map((p) => p.path).sort();
    expect(paths).toEqual(["", "actions", "mode", "version"]);
    for (const path of ["version", "mode", "actions"]) expect(body.error.message).toContain(`${path}:`);
    expect(body.error.message).toMatch(/^policy has 4 problems/);
    expect(JSON.parse((await env.CONFIG.get(POLICY_KEY)) ?? "null")).toEqual({ version: 1 });
  });

  it("should report a tier problem found after the schema passes", async () => {
    const body = await expectError(await admin("PUT", "/policy", { defaultTier: "gold" }), 400, "invalid_request_error");
    expect(body.error.problems).toEqual([{ path: "defaultTier", message: 'tier "gold" is not defined in tiers' }]);
  });

  it("should stay writable after a policy lowers maxBodyBytes below the size of a policy", async () => {
    expect((await admin("PUT", "/policy", { version: 2, limits: { maxBodyBytes: 1024 } })).status).toBe(200);
    expect(JSON.stringify(example).length).toBeGreaterThan(1024);
    expect((await admin("PUT", "/policy", example)).status).toBe(200);
  });

  it("should refuse a body over 1 MB with 413", async () => {
    await expectError(await admin("PUT", "/policy", { version: 1, pad: "x".repeat(1024 * 1024) }), 413, "request_too_large");
  });

  it("should refuse an empty or non-JSON body with 400", async () => {
    await expectError(await admin("PUT", "/policy"), 400, "invalid_request_error");
    const res = await gateway("/admin/policy", {
      method: "PUT",
      headers: { authorization: "Bearer test-admin-token-0123456789", "content-type": "application/json" },
      body: "{not json",
    });
    await expectError(res, 400, "invalid_request_error");
    expect(await env.CONFIG.get(POLICY_KEY)).toBeNull();
  });
});

describe("POST /admin/policy/validate", () => {
  it("should answer 200 ok:true with defaults filled, writing nothing", async () => {
    const res = await admin("POST", "/policy/validate", { mode: "shadow" });
    expect(res.status).toBe(200);
    expect(await json<{ ok: boolean; policy: Policy }>(res)).toEqual({ ok: true, policy: { ...DEFAULT_POLICY, mode: "shadow" } });
    expect(await env.CONFIG.get(POLICY_KEY)).toBeNull();
  });

  it("should answer 200 ok:false with every problem", async () => {
    const res = await admin("POST", "/policy/validate", { mode: "panic", limits: { windowSeconds: 0 } });
    expect(res.status).toBe(200);
    const body = await json<{ ok: boolean; problems: Array<{ path: string }> }>(res);
    expect(body.ok).toBe(false);
    expect(body.problems.map((p) => p.path).sort()).toEqual(["limits.windowSeconds", "mode"]);
  });

  it("should accept policy.example.json", async () => {
    expect(validatePolicy(example).ok).toBe(true);
    expect(await json<{ ok: boolean }>(await admin("POST", "/policy/validate", example))).toMatchObject({ ok: true });
  });
});

describe("policy combination kinds", () => {
  it("should refuse a combination naming a fingerprint kind that does not exist", async () => {
    const res = await admin("POST", "/policy/validate", { clusters: { combinations: [["tls", "sdkk"]] } });
    const body = (await res.json()) as { ok: boolean; problems?: Array<{ path: string }> };
    expect(body.ok).toBe(false);
    expect(body.problems?.[0]?.path).toBe("clusters.combinations.0.1");
  });
});
