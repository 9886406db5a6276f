/**
 * Step 7 — settle (in waitUntil). When the origin's answer has been passed on
 * — finished, cut short by the client, or failed — the account object learns
 * what it really cost and the concurrency lease is given back.
 */
import type { SettleRequest } from "../lib/decision.ts";
import { accountObjectName } from "../lib/names.ts";
import type { StreamOutcome, Usage } from "../lib/usage.ts";
import { withRetry } from "./admit.ts";

export async function settle(
  env: Env,
  accountId: string,
  leaseId: string | null,
  usage: Usage | null,
  status: number,
  outcome: StreamOutcome,
  requestId: string,
): Promise<void> {
  if (!leaseId) return;
  const request: SettleRequest = { leaseId, usage, status };
  try {
    const stub = env.ACCOUNTS.getByName(accountObjectName(accountId));
    await withRetry(() => stub.settle(request));
  } catch (err) {
    // The lease expires on its own (limits.leaseSeconds), so a lost settle cannot leak a slot for long.
    console.error(JSON.stringify({ msg: "settle failed", requestId, account: accountId, outcome, error: String(err) }));
  }
}
