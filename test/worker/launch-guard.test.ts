import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { keyIndexName } from "../../lib/accounts.ts";
import { emptyCounts, type KeyDelta } from "../../lib/cluster/rollup.ts";
import { sha256Hex } from "../../lib/hash.ts";
import { clusterRootName } from "../../lib/names.ts";
import { policyText, validatePolicy, type Policy } from "../../lib/policy/index.ts";
import { admin, createAccount, messageBody, postMessage, resetPolicy, unique, usePolicy, type TestAccount } from "../helpers.ts";
import { accountStateWhen, call, QUIET, ROOMY } from "./routes/helpers.ts";

type Echo = { headers: Record<string, string>; body: string };
type ErrorBody = { type: string; error: { type: string; message: string } };

const HOUR = 3_600_000;
const HELP = "verify at https://console.example.test/verify";
// Roomy enough for a few 64k answers per window: a request above the window's whole output limit is refused as oversized.
const ROOMY_TIERS = { free: { requests: 20, inputTokens: 200_000, outputTokens: 400_000, exchangesPerDay: 1_000, concurrency: 4 } };

afterEach(resetPolicy);

function launchPolicy(launchGuard: Record<string, unknown> = {}) {
  const releasedAt = new Date(Date.now() - HOUR).toISOString();
  return { tiers: ROOMY_TIERS, entitlementHelp: HELP, launchGuard: { models: [{ model: "demo-model-2", releasedAt }], hours: 72, ...launchGuard } };
}

/** An account registered long ago: its key index entry says so, as it would for a customer of a year. */
async function establishedAccount(fields: Record<string, unknown>, ageHours = 24 * 365): Promise<TestAccount> {
  const account = await createAccount(fields);
  const name = keyIndexName(await sha256Hex(account.key));
  const profile = JSON.parse((await env.CONFIG.get(name)) ?? "null") as Record<string, unknown> | null;
  if (profile === null) throw new Error("no key index entry");
  await env.CONFIG.put(name, JSON.stringify({ ...profile, createdAt: Date.now() - ageHours * HOUR }));
  return account;
}

/** The body the origin was sent for this request (the demo origin echoes it). */
async function sent(res: Response): Promise<Record<string, unknown>> {
  return (await echoed(res)).body;
}

/** The body and the gateway's headers the origin was sent. */
async function echoed(res: Response): Promise<{ body: Record<string, unknown>; headers: Record<string, string> }> {
  expect(res.status).toBe(200);
  const echo = (await res.json()) as Echo;
  return { body: JSON.parse(echo.body) as Record<string, unknown>, headers: echo.headers };
}

const ECHO = { headers: { "x-demo-echo": "1" } };
const TOR = { cf: { country: "T1" } };
const asked = messageBody({ model: "demo-model-2", max_tokens: 64_000, thinking: { type: "enabled", budget_tokens: 16_000 } });

describe("the launch guard through the gateway", () => {
  it("should leave an established, verified, low-risk account's request on a new model untouched", async () => {
    await usePolicy(launchPolicy());
    const account = await establishedAccount({ tier: "free", verified: true });
    const { body, headers } = await echoed(await postMessage(account.key, asked, ECHO));
    expect(headers["x-distillguard-risk"]).toBe("0.0");
    expect(body).toMatchObject({ max_tokens: 64_000, thinking: { budget_tokens: 16_000 } });
  });

  it("should hold a verified account registered this week to the launch limits on the new model, and not on an old one", async () => {
    await usePolicy(launchPolicy());
    const account = await createAccount({ tier: "free", verified: true });
    expect(await sent(await postMessage(account.key, asked, ECHO))).toMatchObject({ model: "demo-model-2", max_tokens: 4_096, thinking: { budget_tokens: 2_048 } });
    expect(await sent(await postMessage(account.key, { ...asked, model: "demo-model-1" }, ECHO))).toMatchObject({ max_tokens: 64_000 });
  });

  it("should tell a new account what it may not do on the new model and how to get it, naming its age, not its verification", async () => {
    await usePolicy(launchPolicy({ rule: { when: { verified: false }, streaming: false } }));
    const account = await createAccount({ tier: "free", verified: true });
    const res = await postMessage(account.key, { ...asked, stream: true });
    expect(res.status).toBe(403);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.type).toBe("permission_error");
    expect(body.error.message).toBe(
      "streaming is not included for accounts less than 168 hours old in the first 72 hours after demo-model-2 is released. " +
        `An account 168 hours old or more is entitled to more: ${HELP}`,
    );
    // An older account is past the age criterion.
    const older = await establishedAccount({ tier: "free", verified: true }, 200);
    expect((await postMessage(older.key, { ...asked, stream: true })).status).toBe(200);
  });

  it("should hold a new account to nothing for its age when newAccountHours is 0", async () => {
    await usePolicy(launchPolicy({ newAccountHours: 0 }));
    const account = await createAccount({ tier: "free", verified: true });
    expect(await sent(await postMessage(account.key, asked, ECHO))).toMatchObject({ max_tokens: 64_000 });
  });

  it("should clamp an established verified account whose risk reached riskAtLeast, after admission, on the new model only", async () => {
    await usePolicy(launchPolicy());
    const account = await establishedAccount({ tier: "free", verified: true });
    // A Tor exit is the tor signal (20 points by default): the account object's risk is 20, the threshold.
    const { body, headers } = await echoed(await postMessage(account.key, asked, { ...ECHO, ...TOR }));
    expect(headers["x-distillguard-risk"]).toBe("20.0");
    expect(body).toMatchObject({ max_tokens: 4_096, thinking: { budget_tokens: 2_048 } });
    expect(await sent(await postMessage(account.key, { ...asked, model: "demo-model-1" }, { ...ECHO, ...TOR }))).toMatchObject({ max_tokens: 64_000 });
  });

  it("should only clamp a risky account, never refuse it what the rule cannot lower, and leave it alone below riskAtLeast", async () => {
    await usePolicy(launchPolicy({ rule: { when: { verified: false }, maxTokens: 2_000, streaming: false, beyond: "refuse" } }));
    const risky = await establishedAccount({ tier: "free", verified: true });
    const streamed = await postMessage(risky.key, { ...asked, thinking: undefined, stream: true }, TOR);
    expect(streamed.status).toBe(200);
    await streamed.arrayBuffer();
    expect(await sent(await postMessage(risky.key, { ...asked, thinking: undefined }, { ...ECHO, ...TOR }))).toMatchObject({ max_tokens: 2_000 });

    await usePolicy(launchPolicy({ riskAtLeast: 25 }));
    const below = await establishedAccount({ tier: "free", verified: true });
    expect(await sent(await postMessage(below.key, asked, { ...ECHO, ...TOR }))).toMatchObject({ max_tokens: 64_000 });
  });

  it("should admit a new account's clamped batch per contained request, at the clamped max_tokens", async () => {
    await usePolicy({ ...launchPolicy(), tiers: { roomy: ROOMY }, defaultTier: "roomy", actions: QUIET, endpoints: { batches: { tiers: ["roomy"] } } });
    const account = await createAccount({ tier: "roomy" });
    const requests = Array.from({ length: 5 }, (_, i) => ({ custom_id: `r${i}`, params: messageBody({ model: "demo-model-2", max_tokens: 64_000 }) }));
    const res = await call("POST", "/v1/messages/batches", account.key, { body: { requests } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const state = await accountStateWhen(account.id, (s) => s.usage.inFlight === 0);
    // A batch's answer carries no usage: its cost is what admission reserved for the five lowered requests.
    expect(state.usage.requests).toBe(5);
    expect(state.usage.outputTokens).toBe(5 * 4_096);
  });

  it("should only log a risky account's clamp while entitlements are in shadow", async () => {
    await usePolicy({ ...launchPolicy(), shadowRules: ["entitlements"] });
    const account = await establishedAccount({ tier: "free", verified: true });
    expect(await sent(await postMessage(account.key, asked, { ...ECHO, ...TOR }))).toMatchObject({ max_tokens: 64_000 });
  });
});

describe("a model pivot as cluster evidence", () => {
  function clusterPolicy(): Policy {
    const result = validatePolicy({
      ...launchPolicy(),
      clusters: { minAccounts: 10, minRequestsPerWindow: 20, shards: 4 },
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.policy;
  }

  function delta(key: string, accounts: string[], at: number, models: Record<string, number>): KeyDelta {
    const counts = emptyCounts();
    counts.models = models;
    counts.requests = Object.values(models).reduce((a, b) => a + b, 0);
    counts.inputTokens = counts.requests * 100;
    counts.outputTokens = counts.requests * 500;
    return { key, accounts, counts, synchrony: null, at };
  }

  /** A key seen two hours ago, before the release, and now with `newShare` of its traffic on the new model. */
  async function keyMoving(newShare: number) {
    const p = clusterPolicy();
    const key = `asn:${unique("pivot")}`;
    const accounts = Array.from({ length: 40 }, () => unique("a"));
    const root = env.CLUSTER_ROOTS.getByName(clusterRootName(key));
    await root.rollup(delta(key, accounts, Date.now() - 2 * HOUR, { "demo-model-1": 200 }), policyText(p));
    const moved = Math.round(200 * newShare);
    await root.rollup(delta(key, accounts, Date.now(), { "demo-model-1": 200 - moved, "demo-model-2": moved }), policyText(p));
    return { key, state: await root.inspectRoot(p) };
  }

  it("should count a key whose accounts moved half their traffic to a listed model as model_pivot, shown with the model and share", async () => {
    const { key, state } = await keyMoving(0.5);
    expect(state.metrics).toMatchObject({ pivotModel: "demo-model-2", pivotShare: 0.5 });
    expect(state.evidence.find((e) => e.evidence === "model_pivot")).toMatchObject({ value: 0.5, model: "demo-model-2", reason: "cluster.model_pivot" });
    // One item of evidence, never a verdict by itself: a quiet key that pivots is still `none`.
    expect(state.verdict).toBe("none");

    const res = await admin("GET", `/clusters/${encodeURIComponent(key)}`);
    expect(res.status).toBe(200);
    const detail = (await res.json()) as { cluster: { evidence: Array<{ evidence: string; value: number; model?: string; points: number; reason: string | null }> } };
    const item = detail.cluster.evidence.find((e) => e.evidence === "model_pivot");
    expect(item).toMatchObject({ value: 0.5, model: "demo-model-2", reason: "cluster.model_pivot" });
    expect(item?.points).toBeGreaterThan(0);
  });

  it("should not count a crowd that moved a fifth of its traffic to the new model", async () => {
    const { state } = await keyMoving(0.2);
    expect(state.metrics?.pivotModel).toBeNull();
    expect(state.evidence.find((e) => e.evidence === "model_pivot")).toEqual({ evidence: "model_pivot", value: 0, points: 0 });
  });
});
