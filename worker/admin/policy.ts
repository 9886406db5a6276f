/**
 * The policy document in KV `CONFIG` under `policy`. Nothing reaches KV without
 * passing validatePolicy, and a write takes effect in this isolate at once
 * (others within cache.policyTtlSeconds). The document is stored as sent, so
 * defaults it leaves out follow the gateway's built-ins, and also as the
 * last-good copy a fresh isolate falls back to (worker/policy.ts).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { DEFAULT_POLICY, validatePolicy, type PolicyProblem } from "../../lib/policy/index.ts";
import type { AppEnv } from "../context.ts";
import { errorBody } from "../errors.ts";
import { LAST_GOOD_POLICY_KEY, POLICY_KEY, refreshPolicyNow, writePolicyDocument } from "../policy.ts";
import { writeAudit } from "./audit.ts";
import { adminBody } from "./validate.ts";

function describeProblems(problems: PolicyProblem[]): string {
  const list = problems.map((p) => `${p.path || "(root)"}: ${p.message}`).join("; ");
  return `policy has ${problems.length} problem${problems.length === 1 ? "" : "s"}: ${list}`;
}

/** The usual error shape, plus every problem as `{path, message}` for tools. */
function invalidPolicy(c: Context<AppEnv>, problems: PolicyProblem[]) {
  const shape = errorBody("invalid_request_error", describeProblems(problems));
  return c.json({ ...shape, error: { ...shape.error, problems } }, 400);
}

export function policyRoutes() {
  const routes = new Hono<AppEnv>();

  routes.get("/", async (c) => {
    const raw = await c.env.CONFIG.get(POLICY_KEY);
    if (raw === null) return c.json({ fromKv: false, version: DEFAULT_POLICY.version, policy: DEFAULT_POLICY });
    const result = validatePolicy(raw);
    if (result.ok) return c.json({ fromKv: true, version: result.policy.version, policy: result.policy });
    // An invalid document in KV (written around this API) never takes effect; show why, and what runs instead.
    const lastGood = validatePolicy((await c.env.CONFIG.get(LAST_GOOD_POLICY_KEY)) ?? "{}");
    const fallback = lastGood.ok ? lastGood.policy : DEFAULT_POLICY;
    return c.json({ fromKv: false, version: fallback.version, policy: fallback, kvProblems: result.problems });
  });

  routes.put("/", adminBody(), async (c) => {
    const json = c.get("body").json;
    const result = validatePolicy(json);
    if (!result.ok) return invalidPolicy(c, result.problems);
    const previous = validatePolicy((await c.env.CONFIG.get(POLICY_KEY)) ?? "{}");
    await writePolicyDocument(c.env.CONFIG, JSON.stringify(json));
    await refreshPolicyNow(c.env.CONFIG);
    await writeAudit(c.env.DB, {
      kind: "admin",
      action: "policy_put",
      detail: { version: result.policy.version, previousVersion: previous.ok ? previous.policy.version : null, mode: result.policy.mode },
    });
    return c.json({ ok: true, version: result.policy.version, policy: result.policy });
  });

  // Validation is the answer here, not a failure of the call: 200 either way, `ok` tells.
  routes.post("/validate", adminBody(), (c) => {
    const result = validatePolicy(c.get("body").json);
    return c.json(result.ok ? { ok: true, policy: result.policy } : { ok: false, problems: result.problems });
  });

  return routes;
}
