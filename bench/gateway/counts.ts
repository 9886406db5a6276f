/** What the bench's account objects count (bench/gateway/entry.ts) as the bench process reads it: plain data, no Worker types. */

/** Rows written and statements that wrote any, per "call: VERB table" (e.g. "renew: INSERT allowances"). */
export type RowSources = Record<string, { rows: number; statements: number }>;

export type DoCalls = { admit: number; renew: number; settle: number; reconcile: number; alarm: number; rowsWritten: number; inFlight: number; rowsBy: RowSources };
