/**
 * One structured JSON line per decision, and the same decision counted in
 * Analytics Engine. Never the API key, never prompt text: only ids, codes and numbers.
 */
import type { StreamOutcome } from "../lib/usage.ts";

export type DecisionLog = {
  requestId: string;
  account: string | null;
  action: string;
  enforced: boolean;
  reasons: string[];
  risk: number;
  status: number;
  country: string;
  clusters: string[];
  latencyMs: number;
  /** Admitted within the isolate's allowance (worker/allowance.ts), not by the account object. */
  local?: true;
};

export function logDecision(entry: DecisionLog): void {
  console.log(JSON.stringify({ msg: "decision", ...entry }));
}

/** An answer that ended before the origin finished it: the client went away, or the origin failed mid-stream. */
export function logStreamEnd(entry: { requestId: string; account: string; outcome: StreamOutcome; usage: boolean }): void {
  console.log(JSON.stringify({ msg: "answer ended early", ...entry }));
}

/** Decision counts for charts without touching D1: blobs are dimensions, doubles are values. */
export function countDecision(dataset: AnalyticsEngineDataset | undefined, entry: DecisionLog): void {
  if (!dataset) return;
  try {
    dataset.writeDataPoint({
      indexes: [entry.account ?? "anonymous"],
      blobs: [entry.action, entry.reasons[0] ?? "none", entry.country, entry.clusters[0] ?? "none", entry.enforced ? "enforced" : "shadow"],
      doubles: [1, entry.risk, entry.latencyMs, entry.status],
    });
  } catch (err) {
    // Analytics are best effort: a full buffer must never fail a request.
    console.error(JSON.stringify({ msg: "analytics write failed", error: String(err) }));
  }
}
