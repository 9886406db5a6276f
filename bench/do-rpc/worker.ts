// Benchmark Worker: /native?n=..&name=.. and /itty?n=..&name=.. each make exactly
// ONE Durable Object method call for the given account name and return the new total.
import { handleNative, type NativeEnv } from "./native.ts";
import { handleItty, type IttyEnv } from "./itty.ts";

export { NativeCounter } from "./native.ts";
export { IttyCounter } from "./itty.ts";

type Env = NativeEnv & IttyEnv;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") ?? "1");
    const name = url.searchParams.get("name") ?? "acct-0";
    if (!Number.isSafeInteger(n)) return new Response("bad n", { status: 400 });
    switch (url.pathname) {
      case "/native":
        return handleNative(name, n, env);
      case "/itty":
        return handleItty(request, name, n, env);
      // Supplementary: the same per-request handler run k times inside ONE request, so the
      // benchmark can see the per-call cost without the Node->workerd HTTP hop of dispatchFetch.
      case "/batch/native":
      case "/batch/itty": {
        const k = Math.min(Math.max(Number(url.searchParams.get("k") ?? "100") | 0, 1), 1000);
        const native = url.pathname === "/batch/native";
        let total = 0;
        for (let i = 0; i < k; i++) {
          const res = native ? await handleNative(name, n, env) : await handleItty(request, name, n, env);
          total = ((await res.json()) as { total: number }).total;
        }
        return Response.json({ total, k });
      }
      default:
        return new Response("not found", { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;
