// Benchmark entry: the real gateway Worker, with an AccountDO that counts, from the object's side,
// the RPC calls it serves (billed as Durable Object requests), the alarms it runs and the SQLite rows
// its statements write (billed per row), each row by the call that wrote it and the statement's verb
// and table. Only /__bench/do-calls is added; every other request goes to the gateway unchanged.
// Nothing here is in the production Worker.
import type { AdmitRequest, AdmitResult, AllowanceReport, RenewRequest, RenewResult, SettleRequest } from "../../lib/decision.ts";
import { accountObjectName } from "../../lib/names.ts";
import gateway, { AccountDO as GatewayAccountDO } from "../../worker/index.ts";
import type { DoCalls, RowSources } from "./counts.ts";

export { ClusterCollectorDO, ClusterRootDO } from "../../worker/index.ts";

type CallKind = "admit" | "renew" | "settle" | "reconcile" | "alarm" | "start-up" | "other";
type Counts = { admit: number; renew: number; settle: number; reconcile: number; alarm: number; rows: number; rowsBy: RowSources };

// By object id, outside the instance: an object evicted and started again mid-run keeps counting.
const counts = new Map<string, Counts>();

/** "INSERT fingerprints", "DELETE allowances", …: what a statement does to which table. */
export function statementLabel(query: string): string {
  const m = /^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|SELECT)\b(?:\s+OR\s+\w+)?(?:\s+(?:INTO|FROM|TABLE(?:\s+IF\s+NOT\s+EXISTS)?))?\s+(\w+)/i.exec(query);
  return m ? `${(m[1] ?? "").toUpperCase()} ${m[2] ?? ""}` : query.trim().slice(0, 24);
}

/**
 * Wraps the object's `sql.exec` so every cursor is kept, with the call it ran in and its statement's
 * label, until the next count: a cursor's `rowsWritten` is final once its statement has run, which it
 * has by the time the next RPC call reads it. `call()` is read when the statement runs: the RPC
 * methods below set it around their synchronous bodies, and the alarm around all of it (a call that
 * runs while the alarm awaits its collector sets its own and puts the alarm's back).
 */
function countRows(ctx: DurableObjectState, into: Counts, call: () => CallKind): () => void {
  const sql = ctx.storage.sql;
  const exec = sql.exec.bind(sql);
  let cursors: { cursor: SqlStorageCursor<Record<string, SqlStorageValue>>; label: string }[] = [];
  sql.exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
    const cursor = exec<T>(query, ...bindings);
    cursors.push({ cursor, label: `${call()}: ${statementLabel(query)}` });
    return cursor;
  };
  return () => {
    for (const { cursor, label } of cursors) {
      const rows = cursor.rowsWritten;
      into.rows += rows;
      if (rows === 0) continue;
      const by = (into.rowsBy[label] ??= { rows: 0, statements: 0 });
      by.rows += rows;
      by.statements++;
    }
    cursors = [];
  };
}

export class AccountDO extends GatewayAccountDO {
  private readonly benchCalls: Counts;
  private readonly countRows: () => void;
  /** The call running now, as the row counter reads it. */
  private readonly running: { call: CallKind };

  constructor(ctx: DurableObjectState, env: Env) {
    const id = ctx.id.toString();
    const mine = counts.get(id) ?? { admit: 0, renew: 0, settle: 0, reconcile: 0, alarm: 0, rows: 0, rowsBy: {} };
    counts.set(id, mine);
    // Made before super(), whose start-up runs statements of its own: `this` does not exist yet.
    const running: { call: CallKind } = { call: "start-up" };
    const rows = countRows(ctx, mine, () => running.call);
    super(ctx, env);
    this.benchCalls = mine;
    this.countRows = rows;
    this.running = running;
    running.call = "other";
  }

  /** Runs a synchronous call with its label, putting back whatever was there (an alarm awaiting its collector). */
  private as<T>(kind: CallKind, run: () => T): T {
    const before = this.running.call;
    this.running.call = kind;
    try {
      return run();
    } finally {
      this.running.call = before;
    }
  }

  override admit(req: AdmitRequest): AdmitResult {
    this.benchCalls.admit++;
    return this.as("admit", () => super.admit(req));
  }

  // Billed like any call, but no request waits for it.
  override renew(req: RenewRequest): RenewResult {
    this.benchCalls.renew++;
    return this.as("renew", () => super.renew(req));
  }

  // Only calls that cross the RPC boundary count: settles carried by an admit are not calls.
  override settleMany(requests: SettleRequest[]): void {
    this.benchCalls.settle++;
    this.as("settle", () => super.settleMany(requests));
  }

  override reconcile(report: AllowanceReport): void {
    this.benchCalls.reconcile++;
    this.as("reconcile", () => super.reconcile(report));
  }

  override async alarm(): Promise<void> {
    this.benchCalls.alarm++;
    this.running.call = "alarm";
    try {
      await super.alarm();
    } finally {
      this.running.call = "other";
    }
  }

  callCounts(): DoCalls {
    this.countRows();
    const { rows, rowsBy, ...calls } = this.benchCalls;
    return { ...calls, rowsWritten: rows, inFlight: this.inspect().usage.inFlight, rowsBy: structuredClone(rowsBy) };
  }
}

type BenchEnv = Omit<Env, "ACCOUNTS"> & { ACCOUNTS: DurableObjectNamespace<AccountDO> };

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    // A string test, not a URL parse: the gateway's requests should cost here what they cost in production.
    if (!request.url.includes("/__bench/")) return gateway.fetch(request, env as unknown as Env, ctx);
    const url = new URL(request.url);
    if (url.pathname !== "/__bench/do-calls") return gateway.fetch(request, env as unknown as Env, ctx);
    const total: DoCalls = { admit: 0, renew: 0, settle: 0, reconcile: 0, alarm: 0, rowsWritten: 0, inFlight: 0, rowsBy: {} };
    for (const id of (url.searchParams.get("ids") ?? "").split(",").filter(Boolean)) {
      const calls = await env.ACCOUNTS.getByName(accountObjectName(id)).callCounts();
      total.admit += calls.admit;
      total.renew += calls.renew;
      total.settle += calls.settle;
      total.reconcile += calls.reconcile;
      total.alarm += calls.alarm;
      total.rowsWritten += calls.rowsWritten;
      total.inFlight += calls.inFlight;
      for (const [label, by] of Object.entries(calls.rowsBy)) {
        const into = (total.rowsBy[label] ??= { rows: 0, statements: 0 });
        into.rows += by.rows;
        into.statements += by.statements;
      }
    }
    return Response.json(total);
  },
  scheduled: gateway.scheduled,
};
