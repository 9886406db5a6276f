/** The simulator's transport inside workerd: the gateway reached through `exports.default.fetch`, no HTTP. */
import { env, exports } from "cloudflare:workers";
import { clusterCollectorName } from "../../lib/names.ts";
import type { Policy } from "../../lib/policy/index.ts";
import type { SimRequest } from "../../sim/requests.ts";
import { outputTokensOf, type PeriodicTask, type Transport } from "../../sim/replay.ts";
import { GATEWAY } from "../helpers.ts";

/** `request.cf` set on the Request itself, the client address as CF-Connecting-IP. */
export const inProcess: Transport = async (r: SimRequest) => {
  const res = await exports.default.fetch(
    new Request(`${GATEWAY}${r.path}`, {
      method: r.method,
      headers: { ...r.headers, "cf-connecting-ip": r.ip },
      body: r.body,
      cf: r.cf as RequestInitCfProperties,
    }),
  );
  const text = await res.text();
  return { status: res.status, outputTokens: res.status === 200 ? outputTokensOf(text) : null, requestId: res.headers.get("request-id") };
};

/**
 * Every collector flushed once per report interval. Collectors flush on their own alarms too; flushing
 * here keeps verdict staleness to one interval inside a test's replay.
 */
export function flushCollectorsTask(policy: Policy): PeriodicTask {
  const { shards, reportIntervalSeconds } = policy.clusters;
  return {
    name: "flush collectors",
    everyMs: reportIntervalSeconds * 1000,
    run: async () => {
      for (let i = 0; i < shards; i++) await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(i)).flushNow();
    },
  };
}
