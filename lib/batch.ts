/**
 * A Message Batch body (`POST /v1/messages/batches`): `{"requests": [{"custom_id", "params"}, …]}`,
 * where each `params` is a whole Messages request. The gateway admits a batch
 * per contained request, so it must see every `params` as an object; anything
 * it cannot read is refused rather than forwarded unmetered.
 *
 * Pure: no bindings; the worker's body step, fingerprint step and forwarder share it.
 */

export type BatchProblem = { kind: "invalid" | "too_large"; message: string };

export type ParsedBatch = { ok: true; params: Record<string, unknown>[] } | { ok: false; problem: BatchProblem };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Each contained request's `params`, in order; a batch over `maxRequests` is too large before any is read. */
export function parseBatch(json: unknown, maxRequests: number): ParsedBatch {
  if (!isObject(json) || !Array.isArray(json.requests)) {
    return { ok: false, problem: { kind: "invalid", message: "requests: a batch must hold a `requests` array" } };
  }
  const requests: unknown[] = json.requests;
  if (requests.length === 0) return { ok: false, problem: { kind: "invalid", message: "requests: a batch must hold at least one request" } };
  if (requests.length > maxRequests) {
    return {
      ok: false,
      problem: { kind: "too_large", message: `requests: a batch may hold at most ${maxRequests} requests, this one holds ${requests.length}` },
    };
  }
  const params: Record<string, unknown>[] = [];
  for (const [i, request] of requests.entries()) {
    if (!isObject(request) || !isObject(request.params)) {
      return { ok: false, problem: { kind: "invalid", message: `requests.${i}.params: must be a Messages request object` } };
    }
    params.push(request.params);
  }
  return { ok: true, params };
}

/**
 * The batch with `rewrite` applied to each contained `params` (null: leave that one as it is);
 * null when nothing changed, so an untouched batch is forwarded byte-exact.
 */
export function rewriteBatch(
  json: unknown,
  rewrite: (params: Record<string, unknown>) => Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (!isObject(json) || !Array.isArray(json.requests)) return null;
  let changed = false;
  const requests = json.requests.map((request: unknown) => {
    if (!isObject(request) || !isObject(request.params)) return request;
    const params = rewrite(request.params);
    if (params === null) return request;
    changed = true;
    return { ...request, params };
  });
  return changed ? { ...json, requests } : null;
}
