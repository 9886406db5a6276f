/**
 * HTTP to a local gateway (wrangler dev or Miniflare's port) over keep-alive
 * connections. node:http rather than fetch: at 100k+ requests on two cores the
 * client's own CPU matters, and a plain Agent costs a fraction of undici's fetch.
 *
 * `request.cf` travels as MF-CF-Blob and the client address as
 * CF-Connecting-IP: both honoured by Miniflare only (local simulation).
 */
import http from "node:http";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import type { SimRequest } from "../requests.ts";
import { outputTokensOf, type SimResponse, type Transport } from "../replay.ts";

export type HttpAnswer = { status: number; text: string; requestId: string | null };

/** Miniflare compresses answers for clients that accept it (the SDKs send gzip, deflate); real clients decode, so do we. */
function decode(body: Buffer, encoding: string | undefined): string {
  const e = encoding?.trim().toLowerCase();
  const raw = e === "gzip" ? gunzipSync(body) : e === "br" ? brotliDecompressSync(body) : e === "deflate" ? inflateSync(body) : body;
  return raw.toString("utf8");
}

export type HttpClient = {
  transport: Transport;
  /** One raw request: admin calls, the overhead benchmark. */
  send: (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<HttpAnswer>;
  close: () => void;
};

export function httpClient(baseUrl: string, maxSockets: number): HttpClient {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body);
      const req = http.request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: payload === undefined ? headers : { ...headers, "content-length": String(payload.byteLength) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            try {
              const id = res.headers["request-id"];
              resolve({
                status: res.statusCode ?? 0,
                text: decode(Buffer.concat(chunks), res.headers["content-encoding"]),
                requestId: typeof id === "string" ? id : null,
              });
            } catch (err) {
              reject(err);
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  const transport: Transport = async (r: SimRequest): Promise<SimResponse> => {
    // Accept-Encoding stays off the wire: Miniflare replaces it before the Worker sees it (the client's
    // value reaches the gateway as cf.clientAcceptEncoding, as at the edge), and leaving it on only
    // makes Miniflare gzip every answer, on the same workerd thread the gateway runs on.
    const { "accept-encoding": _dropped, ...headers } = r.headers;
    const { status, text, requestId } = await send(r.method, r.path, { ...headers, "mf-cf-blob": JSON.stringify(r.cf), "cf-connecting-ip": r.ip }, r.body);
    return { status, outputTokens: status === 200 ? outputTokensOf(text) : null, requestId };
  };
  return { transport, send, close: () => agent.destroy() };
}
