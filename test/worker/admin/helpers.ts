/** D1 rows for the admin tests: the cluster machinery fills these tables in production; here we write them directly. */
import { env } from "cloudflare:workers";
import { admin, unique } from "../../helpers.ts";

export type ErrorBody = { type: string; error: { type: string; message: string; problems?: Array<{ path: string; message: string }> } };

export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export async function expectError(res: Response, status: number, type: string): Promise<ErrorBody> {
  const body = await json<ErrorBody>(res);
  if (res.status !== status || body.type !== "error" || body.error.type !== type) {
    throw new Error(`expected ${status} ${type}, got ${res.status} ${JSON.stringify(body)}`);
  }
  return body;
}

export type ComponentSeed = {
  id?: string;
  size?: number;
  keys?: string[];
  verdict?: "none" | "suspect" | "confirmed";
  reasons?: string;
  rate?: number;
  createdAt?: number;
  updatedAt?: number;
  members?: string[];
};

export async function seedComponent(seed: ComponentSeed = {}): Promise<string> {
  const id = seed.id ?? `cc:${unique("c")}`;
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO clusters (id, size, keys, verdict, reasons, requests_per_window, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(id, seed.size ?? seed.members?.length ?? 2, JSON.stringify(seed.keys ?? []), seed.verdict ?? "suspect", seed.reasons ?? "synchronized", seed.rate ?? 0, seed.createdAt ?? now - 3_600_000, seed.updatedAt ?? now)
    .run();
  for (const account of seed.members ?? []) {
    await env.DB.prepare("INSERT INTO cluster_members (cluster_id, account_id) VALUES (?, ?)").bind(id, account).run();
  }
  return id;
}

export type KeySeed = {
  key: string;
  accounts?: number;
  rate?: number;
  verdict?: "none" | "suspect" | "confirmed";
  reasons?: string;
  allowlisted?: boolean;
  updatedAt?: number;
};

export async function seedKey(seed: KeySeed): Promise<string> {
  await env.DB.prepare(
    `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
       elicitation_share, top_model, verdict, reasons, allowlisted, updated_at)
     VALUES (?, ?, ?, ?, 0, 0.7, 0.6, 0.4, 'demo-model-1', ?, ?, ?, ?)`,
  )
    .bind(seed.key, seed.key.split(":")[0] ?? "", seed.accounts ?? 25, seed.rate ?? 300, seed.verdict ?? "confirmed", seed.reasons ?? "templated,synchronized", seed.allowlisted ? 1 : 0, seed.updatedAt ?? Date.now())
    .run();
  return seed.key;
}

export async function seedEdge(account: string, key: string, firstSeen = Date.now() - 86_400_000, lastSeen = Date.now()): Promise<void> {
  await env.DB.prepare(
    "INSERT OR REPLACE INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
  )
    .bind(account, key, key.split(":")[0] ?? "", firstSeen, lastSeen)
    .run();
}

export async function seedDecision(account: string, fields: { action?: string; reasons?: string; detail?: string; at?: string } = {}): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO audit_log (at, kind, request_id, account_id, action, enforced, reasons, risk, country, cluster, detail)
     VALUES (?, 'decision', ?, ?, ?, 1, ?, 72.5, 'FR', NULL, ?)`,
  )
    .bind(fields.at ?? new Date().toISOString(), `req_${unique("r")}`, account, fields.action ?? "block", fields.reasons ?? "cluster_verdict,region.asn_hosting", fields.detail ?? null)
    .run();
}

/** A random lower-case hex string, the shape of the hashed fingerprint values. */
export function hex(length = 16): string {
  let out = "";
  for (let i = 0; i < length; i++) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}

export { admin, unique };
