// Variant B: itty-durable 2.4.1, used the way its README intends:
//   DO class extends createDurable(); the Worker gets "magic stubs" from the
//   withDurables() middleware and calls `request.ITTY.get(name).hit(n)`.
// Under the hood every method call is stub.fetch() of
//   GET https://itty-durable/do/call/hit  (args JSON in the `do-content` header)
// routed by an itty-router inside the DO and answered with a JSON Response.
import { createDurable, withDurables } from "itty-durable";
import { COUNTER_DDL, COUNTER_UPSERT } from "./sql.ts";

// itty-durable ships loose typings (state: {}), so describe what we use.
type IttyState = DurableObjectState & Record<string, unknown>;

export class IttyCounter extends createDurable() {
  constructor(state: DurableObjectState, env: Record<string, unknown>) {
    super(state, env);
    (this.state as IttyState).storage.sql.exec(COUNTER_DDL);
  }

  /** Adds n to the stored total (SQLite-backed storage) and returns the new total. */
  hit(n: number): number {
    return (this.state as IttyState).storage.sql
      .exec<{ total: number }>(COUNTER_UPSERT, n)
      .one().total;
  }
}

export interface IttyEnv {
  ITTY: DurableObjectNamespace;
}

// parse: true => stub methods resolve to the parsed JSON body rather than the raw Response.
const durables = withDurables({ parse: true });

/** ONE DO method call per request (one stub.fetch under the hood). */
export async function handleItty(request: Request, name: string, n: number, env: IttyEnv): Promise<Response> {
  durables(request, env);
  const itty = (request as unknown as { ITTY: { get(name: string): { hit(n: number): Promise<number> } } }).ITTY;
  const total = await itty.get(name).hit(n);
  return Response.json({ total });
}
