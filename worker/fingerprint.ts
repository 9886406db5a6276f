/**
 * Step 3 — fingerprint. Pure functions in lib/fingerprint turn the request into
 * stable keys (what accounts share) and features (what a request asks for);
 * this step runs them once per request and hands the result to admission.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AdmitRequest } from "../lib/decision.ts";
import { clusterKeysOf, fingerprintRequest } from "../lib/fingerprint/index.ts";
import { policyText, type RiskSignal } from "../lib/policy.ts";
import { cfOf, clientIp } from "./client.ts";
import type { AppEnv } from "./context.ts";

export function fingerprint() {
  return createMiddleware<AppEnv>(async function fingerprint(c, next) {
    const policy = c.get("policy");
    c.set(
      "fingerprint",
      await fingerprintRequest({
        cf: cfOf(c.req.raw),
        headers: c.req.raw.headers,
        ip: clientIp(c.req.raw),
        body: c.get("body").json,
        policy,
      }),
    );
    await next();
  });
}

/** Everything admission needs, gathered from the earlier steps. */
export function admitRequestFrom(c: Context<AppEnv>): AdmitRequest {
  const policy = c.get("policy");
  const fp = c.get("fingerprint");
  const region = c.get("region");
  const body = c.get("body");
  const signals: RiskSignal[] = [...region.signals];
  const reasons = [...region.reasons];
  if (fp.elicitation.score >= policy.fingerprint.elicitationThreshold) {
    signals.push("cot_elicitation");
    reasons.push("content.elicitation");
  }
  if (fp.client.mismatch) {
    signals.push("client_mismatch");
    reasons.push("client.tls_mismatch");
  }
  const maxTokens = fp.capability.maxTokens ?? policy.limits.defaultMaxTokens;
  const thinkingBudget = fp.capability.thinking ? (fp.capability.thinkingBudget ?? 0) : 0;
  return {
    account: c.get("account"),
    policyJson: policyText(policy),
    estimate: {
      inputTokens: Math.ceil((body.bytes?.byteLength ?? 0) / policy.limits.bytesPerInputToken),
      outputTokens: Math.max(maxTokens, thinkingBudget),
    },
    signals,
    reasons,
    fingerprint: {
      keys: clusterKeysOf(fp, policy),
      country: region.country,
      prefix: fp.network.prefix,
      model: fp.capability.model ?? "unknown",
      elicitation: fp.elicitation.score,
      thinking: fp.capability.thinking,
    },
    deny: region.deny ? { reason: region.deny.reason, status: 403 } : null,
    requestId: c.get("requestId"),
  };
}
