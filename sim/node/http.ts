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
import type { SimRequest } from "../generate.ts";
import { outputTokensOf, type SimResponse, type Transport } from "../replay.ts";

/** Miniflare compresses answers for clients that accept it (the SDKs send gzip, deflate); real clients decode, so do we. */
function decode(body: Buffer, encoding: string | undefined): string {
  const e = encoding?.trim().toLowerCase();
  const raw = e === "gzip" ? gunzipSync(body) : e === "br" ? brotliDecompressSync(body) : e === "deflate" ? inflateSync(body) : body;
  return raw.toString("utf8");
}

export type HttpClient = {
  transport: Transport;
  /** One raw request: admin calls, the overhead benchmark. */
  send: (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<{ status: number; text: string }>;
  close: () => void;
};

export function httpClient(baseUrl: string, maxSockets: number): HttpClient {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
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
              resolve({ status: res.statusCode ?? 0, text: decode(Buffer.concat(chunks), res.headers["content-encoding"]) });
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
    const { status, text } = await send(r.method, r.path, { ...r.headers, "mf-cf-blob": JSON.stringify(r.cf), "cf-connecting-ip": r.ip }, r.body);
    return { status, outputTokens: status === 200 ? outputTokensOf(text) : null };
  };
  return { transport, send, close: () => agent.destroy() };
}
