/** The simulator's transport inside workerd: the gateway reached through `exports.default.fetch`, no HTTP. */
import { exports } from "cloudflare:workers";
import type { SimRequest } from "../../sim/generate.ts";
import { outputTokensOf, type Transport } from "../../sim/replay.ts";
import { GATEWAY } from "../helpers.ts";

/** `request.cf` set on the Request itself, the client address as CF-Connecting-IP. */
export const inProcess: Transport = async (r: SimRequest) => {
  const res = await exports.default.fetch(
    new Request(`${GATEWAY}${r.path}`, {
      method: r.method,
      headers: { ...r.headers, "cf-connecting-ip": r.ip },
      body: r.body,
      cf: r.cf as RequestInitCfProperties,
    }),
  );
  const text = await res.text();
  return { status: res.status, outputTokens: res.status === 200 ? outputTokensOf(text) : null, requestId: res.headers.get("request-id") };
};
