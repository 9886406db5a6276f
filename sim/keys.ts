/**
 * Which fingerprint keys each population presents, computed with the
 * gateway's own pure fingerprint code (lib/fingerprint) on the simulator's
 * requests. Used to attribute a confirmed key from GET /admin/clusters to the
 * population that produced it, and by the Durable Object load model.
 */
import { clusterKeysOf, fingerprintRequest } from "../lib/fingerprint/index.ts";
import type { Policy } from "../lib/policy/index.ts";
import type { Generated } from "./generate.ts";
import { buildRequest } from "./requests.ts";

/**
 * Headers as the Worker sees them locally: Miniflare's entry worker rewrites
 * Accept-Encoding on every request, so the gateway never sees the client's own.
 */
function headersAtGateway(headers: Record<string, string>): Headers {
  const h = new Headers(headers);
  h.set("accept-encoding", "br, gzip");
  return h;
}

export async function keysOfRequest(gen: Generated, i: number, policy: Policy): Promise<string[]> {
  return (await requestFingerprint(gen, i, policy)).keys;
}

/** A request's keys and elicitation score as the gateway computes them: what verdictApplies reads. */
export async function requestFingerprint(gen: Generated, i: number, policy: Policy): Promise<{ keys: string[]; elicitation: number }> {
  const request = buildRequest(gen, i);
  const fp = await fingerprintRequest({
    cf: request.cf,
    headers: headersAtGateway(request.headers),
    ip: request.ip,
    body: JSON.parse(request.body) as unknown,
    policy,
  });
  return { keys: clusterKeysOf(fp, policy), elicitation: fp.elicitation.score };
}

/** Keys of each account's first scheduled request: one fingerprint per account is enough for load and attribution. */
export async function keysByAccount(gen: Generated, policy: Policy): Promise<Map<number, string[]>> {
  const firstRequest = new Map<number, number>();
  for (let i = 0; i < gen.schedule.count; i++) {
    const account = gen.schedule.account[i] ?? 0;
    if (!firstRequest.has(account)) firstRequest.set(account, i);
  }
  const out = new Map<number, string[]>();
  let done = 0;
  for (const [account, i] of firstRequest) {
    out.set(account, await keysOfRequest(gen, i, policy));
    // Awaiting resolved promises never yields to I/O: without a macrotask break now and then, this loop
    // would stall the simulator's HTTP client and the in-process demo origin for seconds at a time.
    if (++done % 256 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return out;
}

/**
 * key → population index: the population with the most accounts on the key.
 * A key every population shares (a popular SDK build) goes to the largest one,
 * which is why only keys with a clear owner are attributed in the report.
 */
export function keyOwners(gen: Generated, keys: Map<number, string[]>): Map<string, { population: number; share: number; accounts: number }> {
  const counts = new Map<string, Map<number, number>>();
  for (const [account, list] of keys) {
    const p = gen.accounts[account]?.population ?? -1;
    for (const key of list) {
      let byPop = counts.get(key);
      if (!byPop) counts.set(key, (byPop = new Map()));
      byPop.set(p, (byPop.get(p) ?? 0) + 1);
    }
  }
  const owners = new Map<string, { population: number; share: number; accounts: number }>();
  for (const [key, byPop] of counts) {
    let best = -1;
    let bestCount = 0;
    let total = 0;
    for (const [p, n] of byPop) {
      total += n;
      if (n > bestCount) [best, bestCount] = [p, n];
    }
    owners.set(key, { population: best, share: bestCount / total, accounts: total });
  }
  return owners;
}
