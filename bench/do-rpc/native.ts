// Variant A: native Durable Object RPC (workerd JS RPC, no fetch/JSON layer).
import { DurableObject } from "cloudflare:workers";
import { COUNTER_DDL, COUNTER_UPSERT } from "./sql.ts";

export class NativeCounter extends DurableObject<NativeEnv> {
  constructor(ctx: DurableObjectState, env: NativeEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(COUNTER_DDL);
  }

  /** Adds n to the stored total (SQLite-backed storage) and returns the new total. */
  hit(n: number): number {
    return this.ctx.storage.sql.exec<{ total: number }>(COUNTER_UPSERT, n).one().total;
  }
}

export interface NativeEnv {
  NATIVE: DurableObjectNamespace<NativeCounter>;
}

/** ONE RPC call per request. */
export async function handleNative(name: string, n: number, env: NativeEnv): Promise<Response> {
  const ns = env.NATIVE;
  // getByName exists on DurableObjectNamespace in current workerd; keep a fallback for older runtimes.
  const stub =
    typeof ns.getByName === "function" ? ns.getByName(name) : ns.get(ns.idFromName(name));
  const total = await stub.hit(n);
  return Response.json({ total });
}
