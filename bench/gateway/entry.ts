// Benchmark entry: the real gateway Worker, with an AccountDO that counts, from the object's side,
// the RPC calls it serves (billed as Durable Object requests), the alarms it runs and the SQLite rows
// its statements write (billed per row). Only /__bench/do-calls is added; every other request goes to
// the gateway unchanged. Nothing here is in the production Worker.
import type { AdmitRequest, AdmitResult, SettleRequest } from "../../lib/decision.ts";
import { accountObjectName } from "../../lib/names.ts";
import gateway, { AccountDO as GatewayAccountDO } from "../../worker/index.ts";

export { ClusterCollectorDO, ClusterRootDO } from "../../worker/index.ts";

export type DoCalls = { admit: number; settle: number; reconcile: number; alarm: number; rowsWritten: number; inFlight: number };

/**
 * Wraps the object's `sql.exec` so every cursor is kept until the next count: a cursor's `rowsWritten`
 * is final once its statement has run, which it has by the time the next RPC call reads it.
 */
function countRows(ctx: DurableObjectState): () => number {
  const sql = ctx.storage.sql;
  const exec = sql.exec.bind(sql);
  let cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  let written = 0;
  sql.exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
    const cursor = exec<T>(query, ...bindings);
    cursors.push(cursor);
    return cursor;
  };
  return () => {
    for (const cursor of cursors) written += cursor.rowsWritten;
    cursors = [];
    return written;
  };
}

export class AccountDO extends GatewayAccountDO {
  private benchCalls = { admit: 0, settle: 0, reconcile: 0, alarm: 0 };
  private readonly rowsWritten: () => number;

  constructor(ctx: DurableObjectState, env: Env) {
    const rows = countRows(ctx);
    super(ctx, env);
    this.rowsWritten = rows;
  }

  override admit(req: AdmitRequest): AdmitResult {
    this.benchCalls.admit++;
    return super.admit(req);
  }

  // Only calls that cross the RPC boundary count: settles carried by an admit are not calls.
  override settleMany(requests: SettleRequest[]): void {
    this.benchCalls.settle++;
    super.settleMany(requests);
  }

  override async alarm(): Promise<void> {
    this.benchCalls.alarm++;
    await super.alarm();
  }

  callCounts(): DoCalls {
    return { ...this.benchCalls, rowsWritten: this.rowsWritten(), inFlight: this.inspect().usage.inFlight };
  }
}

type BenchEnv = Omit<Env, "ACCOUNTS"> & { ACCOUNTS: DurableObjectNamespace<AccountDO> };

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/__bench/do-calls") return gateway.fetch(request, env as unknown as Env, ctx);
    const total: DoCalls = { admit: 0, settle: 0, reconcile: 0, alarm: 0, rowsWritten: 0, inFlight: 0 };
    for (const id of (url.searchParams.get("ids") ?? "").split(",").filter(Boolean)) {
      const calls = await env.ACCOUNTS.getByName(accountObjectName(id)).callCounts();
      for (const k of Object.keys(total) as (keyof DoCalls)[]) total[k] += calls[k];
    }
    return Response.json(total);
  },
  scheduled: gateway.scheduled,
};
