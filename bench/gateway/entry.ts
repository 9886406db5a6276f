// Benchmark entry: the real gateway Worker, with an AccountDO that counts its RPC calls so the
// benchmark can check "exactly 1 synchronous DO call per request" from the object's side.
// Only /__bench/do-calls is added; every other request goes to the gateway unchanged.
import type { AdmitRequest, AdmitResult, SettleRequest } from "../../lib/decision.ts";
import { accountObjectName } from "../../lib/names.ts";
import gateway, { AccountDO as GatewayAccountDO } from "../../worker/index.ts";

export { ClusterCollectorDO, ClusterRootDO } from "../../worker/index.ts";

export type DoCalls = { admit: number; settle: number; inFlight: number };

export class AccountDO extends GatewayAccountDO {
  private benchCalls = { admit: 0, settle: 0 };

  override admit(req: AdmitRequest): AdmitResult {
    this.benchCalls.admit++;
    return super.admit(req);
  }

  // Only calls that cross the RPC boundary count: settles carried by an admit are not calls.
  override settleMany(requests: SettleRequest[]): void {
    this.benchCalls.settle++;
    super.settleMany(requests);
  }

  callCounts(): DoCalls {
    return { ...this.benchCalls, inFlight: this.inspect().usage.inFlight };
  }
}

type BenchEnv = Omit<Env, "ACCOUNTS"> & { ACCOUNTS: DurableObjectNamespace<AccountDO> };

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/__bench/do-calls") return gateway.fetch(request, env as unknown as Env, ctx);
    const total: DoCalls = { admit: 0, settle: 0, inFlight: 0 };
    for (const id of (url.searchParams.get("ids") ?? "").split(",").filter(Boolean)) {
      const calls = await env.ACCOUNTS.getByName(accountObjectName(id)).callCounts();
      total.admit += calls.admit;
      total.settle += calls.settle;
      total.inFlight += calls.inFlight;
    }
    return Response.json(total);
  },
  scheduled: gateway.scheduled,
};
