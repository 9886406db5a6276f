/**
 * The cron trigger's work, apart from the request path: the retention job first (bounded, so it never
 * delays the linker by much), then the linker, which then no longer sees the edges retention removed.
 * A failed retention run is logged and retried by the next trigger; it never stops the linker.
 */
import type { Policy } from "../../lib/policy/index.ts";
import { linkClusters } from "./linker.ts";
import { applyRetention } from "./retention.ts";

export async function runCron(env: Env, policy: Policy, now = Date.now()): Promise<void> {
  try {
    await applyRetention(env.DB, policy, now);
  } catch (err) {
    console.error(JSON.stringify({ msg: "retention run failed", error: String(err) }));
  }
  await linkClusters(env, policy, now);
}
