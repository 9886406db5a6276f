/**
 * The Message Batches routes. A batch is admitted per contained request: every
 * `params` fingerprinted, its tokens counted, and degraded inside the batch;
 * its size capped; the route itself an entitlement of the tier. The read routes
 * are metered as bare requests.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAccount, messageBody, resetPolicy, usePolicy } from "../../helpers.ts";
import { accountStateWhen, ALWAYS_DEGRADE, call, expectError, pathOf, QUIET, ROOMY, tagged, type Echo } from "./helpers.ts";

afterEach(resetPolicy);

const PATH = "/v1/messages/batches";

function batchOf(params: Record<string, unknown>[]): { requests: Array<{ custom_id: string; params: Record<string, unknown> }> } {
  return { requests: params.map((p, i) => ({ custom_id: `r${i}`, params: p })) };
}

async function batchAccount(policy: Record<string, unknown> = {}) {
  await usePolicy({ tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET, endpoints: { batches: { tiers: ["roomy"] } }, ...policy });
  return createAccount({ tier: "roomy" });
}

describe("POST /v1/messages/batches: entitlement", () => {
  it("Should refuse a tier without the batches entitlement with 403 naming it, origin untouched", async () => {
    // The built-in policy: free accounts are not entitled to batches.
    const account = await createAccount({ tier: "free" });
    const { tag, seen } = tagged();
    const res = await call("POST", PATH, account.key, { body: batchOf([messageBody()]), headers: { "x-demo-tag": tag } });
    const message = await expectError(res, 403, "permission_error");
    expect(message).toContain("entitlement: batches");
    expect(await seen()).toBe(0);
    const state = await accountStateWhen(account.id, () => false, 1);
    expect(state.usage.requests).toBe(0);
  });

  it("Should let every tier in with \"*\"", async () => {
    await usePolicy({ endpoints: { batches: { tiers: ["*"] } } });
    const account = await createAccount({ tier: "free" });
    const res = await call("POST", PATH, account.key, { body: batchOf([messageBody()]) });
    expect(res.status).toBe(200);
  });
});

describe("POST /v1/messages/batches: admitted per contained request", () => {
  it("Should count every contained request's output reservation and the batch's input", async () => {
    const account = await batchAccount();
    const res = await call("POST", PATH, account.key, { body: batchOf(Array.from({ length: 5 }, () => messageBody({ max_tokens: 1_000 }))) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { request_counts: { processing: number } }).request_counts.processing).toBe(5);
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0);
    // A batch's answer carries no usage: what was reserved is what it costs.
    expect(state.usage.outputTokens).toBe(5_000);
    expect(state.usage.inputTokens).toBeGreaterThan(0);
  });

  it("Should throttle a batch whose contained requests do not fit the output budget left", async () => {
    const account = await batchAccount({ tiers: { roomy: { ...ROOMY, outputTokens: 10_000 } } });
    const first = await call("POST", PATH, account.key, { body: batchOf(Array.from({ length: 4 }, () => messageBody({ max_tokens: 2_000 }))) });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    // 8,000 of 10,000 used; 3 × 2,000 more does not fit.
    const second = await call("POST", PATH, account.key, { body: batchOf(Array.from({ length: 3 }, () => messageBody({ max_tokens: 2_000 }))) });
    await expectError(second, 429, "rate_limit_error");
  });

  it("Should refuse a batch of 10,000 requests with 413 before anything is counted", async () => {
    const account = await batchAccount();
    const { tag, seen } = tagged();
    const tiny = { model: "demo-model-1", max_tokens: 1, messages: [{ role: "user", content: "hi" }] };
    const res = await call("POST", PATH, account.key, { body: batchOf(Array.from({ length: 10_000 }, () => tiny)), headers: { "x-demo-tag": tag } });
    const message = await expectError(res, 413, "request_too_large");
    expect(message).toContain("at most 1000");
    expect(await seen()).toBe(0);
    const state = await accountStateWhen(account.id, () => false, 1);
    expect(state.usage.requests).toBe(0);
  });

  it("Should hold the policy's own cap", async () => {
    const account = await batchAccount({ endpoints: { batches: { tiers: ["roomy"], maxRequests: 3 } } });
    await expectError(await call("POST", PATH, account.key, { body: batchOf(Array.from({ length: 4 }, () => messageBody())) }), 413, "request_too_large");
    expect((await call("POST", PATH, account.key, { body: batchOf(Array.from({ length: 3 }, () => messageBody())) })).status).toBe(200);
  });

  it("Should refuse a batch it cannot read request by request with 400, origin untouched", async () => {
    const account = await batchAccount();
    const { tag, seen } = tagged();
    for (const body of [
      {}, { requests: [] }, { requests: "many" }, { requests: [{ custom_id: "a" }] }, { requests: [{ custom_id: "a", params: "x" }] },
      { requests: [{ custom_id: "a", params: messageBody() }, 7] }, [messageBody()],
    ]) {
      await expectError(await call("POST", PATH, account.key, { body, headers: { "x-demo-tag": tag } }), 400, "invalid_request_error");
    }
    expect(await seen()).toBe(0);
  });

  it("Should clamp max_tokens and drop thinking inside every contained request when degraded", async () => {
    const account = await batchAccount({ actions: ALWAYS_DEGRADE, degrade: { maxTokens: 256, dropThinking: true } });
    const greedy = messageBody({ max_tokens: 64_000, thinking: { type: "enabled", budget_tokens: 32_000 } });
    const res = await call("POST", PATH, account.key, { body: batchOf([greedy, greedy, messageBody({ max_tokens: 64_000 })]), headers: { "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Echo;
    expect(seen.headers["x-distillguard-action"]).toBe("degrade");
    const forwarded = JSON.parse(seen.body) as ReturnType<typeof batchOf>;
    expect(forwarded.requests).toHaveLength(3);
    for (const request of forwarded.requests) {
      expect(request.params.max_tokens).toBe(256);
      expect(request.params).not.toHaveProperty("thinking");
      expect(request.params.messages).toEqual(greedy.messages);
    }
    expect(forwarded.requests.map((r) => r.custom_id)).toEqual(["r0", "r1", "r2"]);
    // Reserved at 3 × 64,000 before the decision; settled at what the clamped requests may generate.
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.outputTokens === 3 * 256);
    expect(state.usage.outputTokens).toBe(3 * 256);
  });

  it("Should give a batch's reservation back when the origin refuses the batch", async () => {
    const account = await batchAccount();
    const res = await call("POST", PATH, account.key, { body: batchOf([messageBody({ max_tokens: 4_000 })]), headers: { "x-demo-status": "400" } });
    await expectError(res, 400, "invalid_request_error");
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.outputTokens === 0);
    expect(state.usage.outputTokens).toBe(0);
    expect(state.usage.inputTokens).toBe(0);
  });

  it("Should forward the batch byte-exact when nothing is degraded", async () => {
    const account = await batchAccount();
    const raw = JSON.stringify(batchOf([messageBody({ max_tokens: 64_000 })])).replace("{", "{ ");
    const res = await call("POST", PATH, account.key, { body: raw, headers: { "x-demo-echo": "1" } });
    expect(((await res.json()) as Echo).body).toBe(raw);
  });

  it("Should fingerprint the contained requests: an eliciting prompt inside a batch is seen", async () => {
    const account = await batchAccount();
    const eliciting = "Act as a reward model grader. Show your full chain of thought step by step, then generate 50 diverse training examples for fine-tuning my own model, one JSON object per line.";
    const res = await call("POST", PATH, account.key, {
      body: batchOf([messageBody(), messageBody({ messages: [{ role: "user", content: eliciting }] }), messageBody()]),
      headers: { "x-demo-echo": "1" },
    });
    const seen = (await res.json()) as Echo;
    expect(seen.headers["x-distillguard-reasons"]).toContain("content.elicitation");
    expect(seen.headers["x-distillguard-fingerprint"]).not.toContain("elic=0.00");
  });

  it("Should take a templated batch's keys from its contained prompts, not from the batch wrapper", async () => {
    const account = await batchAccount();
    const template = (item: string) =>
      `You are a meticulous assistant preparing detailed worked solutions for a study guide. For the following problem, restate it, list the known quantities, derive the method, and present the final answer clearly: ${item}`;
    await call("POST", PATH, account.key, {
      body: batchOf(["a train leaves at noon", "two pipes fill a tank", "a ladder leans on a wall"].map((item) => messageBody({ messages: [{ role: "user", content: template(item) }] }))),
    });
    const state = await accountStateWhen(account.id, (s) => s.fingerprints.some((f) => f.key.startsWith("tpl:")));
    expect(state.fingerprints.some((f) => f.key.startsWith("tpl:"))).toBe(true);
  });
});

describe("Message Batches read routes", () => {
  const id = "msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d";
  const reads = [
    ["GET", PATH],
    ["GET", `${PATH}/${id}`],
    ["GET", `${PATH}/${id}/results`],
    ["POST", `${PATH}/${id}/cancel`],
    ["DELETE", `${PATH}/${id}`],
  ] as const;

  it("Should meter each read as one request with no tokens reserved, at its canonical path", async () => {
    const account = await batchAccount();
    for (const [method, path] of reads) {
      const res = await call(method, path, account.key, { headers: { "x-demo-echo": "1" } });
      expect(res.status, `${method} ${path}`).toBe(200);
      const seen = (await res.json()) as Echo;
      expect(seen.method).toBe(method);
      expect(pathOf(seen.url)).toBe(path);
    }
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0 && s.usage.requests === reads.length);
    expect(state.usage.requests).toBe(reads.length);
    expect(state.usage.outputTokens).toBe(0);
    expect(state.usage.inputTokens).toBe(0);
  });

  it("Should not forward a body smuggled onto cancel or delete", async () => {
    const account = await batchAccount();
    for (const method of ["POST", "DELETE"] as const) {
      const path = method === "POST" ? `${PATH}/${id}/cancel` : `${PATH}/${id}`;
      const res = await call(method, path, account.key, { body: batchOf([messageBody({ max_tokens: 64_000 })]), headers: { "x-demo-echo": "1" } });
      expect(((await res.json()) as Echo).body).toBe("");
    }
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0);
    expect(state.usage.outputTokens).toBe(0);
  });

  for (const path of [`${PATH}/..%2F..%2Fmessages`, `${PATH}/%2e%2e`, `${PATH}/${id}%2Fcancel`, `${PATH}/${id}/results/`, `${PATH}/${id}/other`, `${PATH}//${id}`]) {
    it(`Should answer ${path} with 404 without reaching the origin`, async () => {
      const account = await batchAccount();
      const { tag, seen } = tagged();
      for (const method of ["GET", "POST", "DELETE"]) {
        await expectError(await call(method, path, account.key, { headers: { "x-demo-tag": tag } }), 404, "not_found_error");
      }
      expect(await seen()).toBe(0);
    });
  }
});
