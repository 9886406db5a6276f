// Benchmark entry: the real gateway Worker, with an AccountDO that counts, from the object's side,
// the RPC calls it serves (billed as Durable Object requests), the alarms it runs and the SQLite rows
// its statements write (billed per row). Only /__bench/do-calls is added; every other request goes to
// the gateway unchanged. Nothing here is in the production Worker.
import type { AdmitRequest, AdmitResult, AllowanceReport, RenewRequest, RenewResult, SettleRequest } from "../../lib/decision.ts";
import { accountObjectName } from "../../lib/names.ts";
import gateway, { AccountDO as GatewayAccountDO } from "../../worker/index.ts";

export { ClusterCollectorDO, ClusterRootDO } from "../../worker/index.ts";

export type DoCalls = { admit: number; renew: number; settle: number; reconcile: number; alarm: number; rowsWritten: number; inFlight: number };

type Counts = { admit: number; renew: number; settle: number; reconcile: number; alarm: number; rows: number };

// By object id, outside the instance: an object evicted and started again mid-run keeps counting.
const counts = new Map<string, Counts>();

/**
 * Wraps the object's `sql.exec` so every cursor is kept until the next count: a cursor's `rowsWritten`
 * is final once its statement has run, which it has by the time the next RPC call reads it.
 */
function countRows(ctx: DurableObjectState, into: Counts): () => void {
  const sql = ctx.storage.sql;
  const exec = sql.exec.bind(sql);
  let cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  sql.exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
    const cursor = exec<T>(query, ...bindings);
    cursors.push(cursor);
    return cursor;
  };
  return () => {
    for (const cursor of cursors) into.rows += cursor.rowsWritten;
    cursors = [];
  };
}

export class AccountDO extends GatewayAccountDO {
  private readonly benchCalls: Counts;
  private readonly countRows: () => void;

  constructor(ctx: DurableObjectState, env: Env) {
    const id = ctx.id.toString();
    const mine = counts.get(id) ?? { admit: 0, renew: 0, settle: 0, reconcile: 0, alarm: 0, rows: 0 };
    counts.set(id, mine);
    const rows = countRows(ctx, mine);
    super(ctx, env);
    this.benchCalls = mine;
    this.countRows = rows;
  }

  override admit(req: AdmitRequest): AdmitResult {
    this.benchCalls.admit++;
    return super.admit(req);
  }

  // Billed like any call, but no request waits for it.
  override renew(req: RenewRequest): RenewResult {
    this.benchCalls.renew++;
    return super.renew(req);
  }

  // Only calls that cross the RPC boundary count: settles carried by an admit are not calls.
  override settleMany(requests: SettleRequest[]): void {
    this.benchCalls.settle++;
    super.settleMany(requests);
  }

  override reconcile(report: AllowanceReport): void {
    this.benchCalls.reconcile++;
    super.reconcile(report);
  }

  override async alarm(): Promise<void> {
    this.benchCalls.alarm++;
    await super.alarm();
  }

  callCounts(): DoCalls {
    this.countRows();
    const { rows, ...calls } = this.benchCalls;
    return { ...calls, rowsWritten: rows, inFlight: this.inspect().usage.inFlight };
  }
}

type BenchEnv = Omit<Env, "ACCOUNTS"> & { ACCOUNTS: DurableObjectNamespace<AccountDO> };

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    // A string test, not a URL parse: the gateway's requests should cost here what they cost in production.
    if (!request.url.includes("/__bench/")) return gateway.fetch(request, env as unknown as Env, ctx);
    const url = new URL(request.url);
    if (url.pathname !== "/__bench/do-calls") return gateway.fetch(request, env as unknown as Env, ctx);
    const total: DoCalls = { admit: 0, renew: 0, settle: 0, reconcile: 0, alarm: 0, rowsWritten: 0, inFlight: 0 };
    for (const id of (url.searchParams.get("ids") ?? "").split(",").filter(Boolean)) {
      const calls = await env.ACCOUNTS.getByName(accountObjectName(id)).callCounts();
      for (const k of Object.keys(total) as (keyof DoCalls)[]) total[k] += calls[k];
    }
    return Response.json(total);
  },
  scheduled: gateway.scheduled,
};
