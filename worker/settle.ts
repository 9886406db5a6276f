/**
 * Step 7 — settle (in waitUntil). When the origin's answer has been passed on
 * — finished, cut short by the client, or failed — the account object learns
 * what it really cost and the concurrency lease is given back.
 *
 * Settles are coalesced per account in the isolate: the account's next admit
 * carries them (no extra call), and whatever no admit picked up within
 * SETTLE_DELAY_MS goes in one `settleMany` call. A busy account then costs one
 * Durable Object call per request instead of two; a quiet one gets its lease
 * back a few tens of milliseconds later than it would otherwise. A request admitted
 * within an allowance settles in the isolate (worker/allowance.ts).
 */
import type { SettleRequest } from "../lib/decision.ts";
import { flushAllowanceReport, RETURN_DELAY_MS, settleWithinAllowance } from "./allowance.ts";
import { accountObjectName } from "../lib/names.ts";
import type { Usage } from "../lib/usage.ts";
import { withRetry } from "../lib/retry.ts";

// Long enough for a busy account's next request to carry the settle; short enough that a slot given back
// is soon visible to requests of the account that arrive through other isolates. (Through this isolate
// the next admit carries the settle, so it never waits.)
const SETTLE_DELAY_MS = 100;
// A settle batch never grows past this; a flush is forced instead.
const MAX_PENDING_PER_ACCOUNT = 64;

const pending = new Map<string, SettleRequest[]>();

/** Settles waiting for this account, handed to its admit call (which applies them before deciding). */
export function takePendingSettles(accountId: string): SettleRequest[] {
  const waiting = pending.get(accountId);
  if (!waiting) return [];
  pending.delete(accountId);
  return waiting;
}

/** Puts settles back after an admit that carried them failed, so they are not lost. */
export function returnPendingSettles(accountId: string, settles: SettleRequest[]): void {
  if (settles.length === 0) return;
  pending.set(accountId, [...settles, ...(pending.get(accountId) ?? [])]);
}

async function flush(env: Env, accountId: string): Promise<void> {
  const batch = takePendingSettles(accountId);
  if (batch.length === 0) return;
  try {
    const stub = env.ACCOUNTS.getByName(accountObjectName(accountId));
    await withRetry(() => stub.settleMany(batch));
  } catch (err) {
    // The leases expire on their own (limits.leaseSeconds), so a lost settle cannot leak a slot for long.
    console.error(JSON.stringify({ msg: "settle failed", account: accountId, settles: batch.length, error: String(err) }));
  }
}

export async function settle(
  env: Env,
  accountId: string,
  leaseId: string | null,
  usage: Usage | null,
  status: number,
): Promise<void> {
  if (!leaseId) return;
  // Admitted within an allowance: settled here, and the object hears of it when the allowance goes back.
  const local = settleWithinAllowance({ leaseId, usage, status }, Date.now());
  if (local) {
    if (local.returned) await flushAllowanceReport(env, accountId, RETURN_DELAY_MS);
    return;
  }
  const waiting = pending.get(accountId);
  if (waiting) {
    waiting.push({ leaseId, usage, status });
    if (waiting.length >= MAX_PENDING_PER_ACCOUNT) await flush(env, accountId);
    // Someone else's timer flushes this batch.
    return;
  }
  pending.set(accountId, [{ leaseId, usage, status }]);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_DELAY_MS));
  await flush(env, accountId);
}
