/**
 * Accounts: upsert, read, list, revoke keys. Keys are hashed before anything
 * is stored; the KV key index (`key:<hash>` → profile) is kept in step, and a
 * removed key is revoked at once in KV and in this isolate's cache (other
 * isolates stop accepting it within cache.keyTtlSeconds).
 */
import { Hono } from "hono";
import * as z from "../../lib/zod.ts";
import {
  accountIdSchema,
  accountRecordName,
  accountUpsertSchema,
  keyIndexName,
  parseAccountRecord,
  parseProfile,
  type AccountRecord,
  type AccountUpsert,
} from "../../lib/accounts.ts";
import { insertRows } from "../../lib/d1-rows.ts";
import type { AccountProfile } from "../../lib/decision.ts";
import { sha256Hex } from "../../lib/hash.ts";
import { accountObjectName } from "../../lib/names.ts";
import { effectiveLimits } from "../../lib/quota/adaptive.ts";
import { withRetry } from "../../lib/retry.ts";
import type { AppEnv } from "../context.ts";
import { GatewayError } from "../errors.ts";
import { forgetKeys } from "../identity.ts";
import { auditStatements, writeAudit } from "./audit.ts";
import { adminBody, cursorParam, decodeCursor, limitParam, notFound, page, parse, parseBody, parseQuery, splitReasons } from "./validate.ts";

export function parseAccountId(raw: string): string {
  return parse(accountIdSchema, raw, "path");
}

/** What one upsert will write, worked out from the current record before anything is written. */
type PlannedUpsert = { id: string; record: AccountRecord; created: boolean; removed: string[] };

// Keys per bulk KV read: the most one `get([...])` takes.
const KV_BULK_GET = 100;

/**
 * The current records and key owners of some upserts, in bulk KV reads (one per 100 names rather
 * than two reads per account), then each upsert worked out from them.
 */
async function planUpserts(
  env: Env,
  accounts: ReadonlyArray<AccountUpsert & { id: string }>,
  defaultTier: string,
): Promise<PlannedUpsert[]> {
  const hashes = await Promise.all(accounts.map(async (a) => [...new Set(await Promise.all(a.keys.map((key) => sha256Hex(key))))]));
  const names = [...new Set([...accounts.map((a) => accountRecordName(a.id)), ...hashes.flat().map(keyIndexName)])];
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += KV_BULK_GET) chunks.push(names.slice(i, i + KV_BULK_GET));
  const stored = new Map<string, string | null>();
  for (const got of await inBatches(chunks, IMPORT_PARALLELISM, (chunk) => env.CONFIG.get(chunk, "text"))) {
    for (const [name, value] of got) stored.set(name, value);
  }
  const now = new Date().toISOString();
  return accounts.map(({ id, ...input }, i) => planUpsert(id, input, defaultTier, hashes[i] ?? [], (name) => stored.get(name) ?? null, now));
}

function planUpsert(
  id: string,
  input: Omit<AccountUpsert, "keys">,
  defaultTier: string,
  keyHashes: string[],
  stored: (name: string) => string | null,
  now: string,
): PlannedUpsert {
  const existing = parseAccountRecord(stored(accountRecordName(id)));
  const previous = existing?.profile;
  const profile: AccountProfile = {
    id,
    tier: input.tier ?? previous?.tier ?? defaultTier,
    orgType: input.orgType !== undefined ? input.orgType : (previous?.orgType ?? null),
    verified: input.verified ?? previous?.verified ?? false,
    billingCountry: input.billingCountry !== undefined ? input.billingCountry : (previous?.billingCountry ?? null),
    paymentFingerprint:
      input.paymentFingerprint !== undefined ? input.paymentFingerprint : (previous?.paymentFingerprint ?? null),
  };
  const owners = keyHashes.map((hash) => parseProfile(stored(keyIndexName(hash))));
  if (owners.some((owner) => owner !== null && owner.id !== id)) {
    throw new GatewayError("invalid_request_error", `body.keys: one of the keys of account ${id} already belongs to another account`);
  }
  const removed = (existing?.keyHashes ?? []).filter((hash) => !keyHashes.includes(hash));
  const createdAt = input.createdAt !== undefined ? new Date(Date.parse(input.createdAt)).toISOString() : (existing?.createdAt ?? now);
  // In the key index too: the account object reads the profile the edge found, and account age is
  // verdict evidence (a burst of new accounts on one key).
  const createdMs = Date.parse(createdAt);
  if (Number.isFinite(createdMs)) profile.createdAt = createdMs;
  const record: AccountRecord = { profile, keyHashes, createdAt, updatedAt: now };
  return { id, record, created: existing === null, removed };
}

/** KV first (what the edge reads), then this isolate's key cache. */
async function writeKv(env: Env, plan: PlannedUpsert): Promise<void> {
  const profileJson = JSON.stringify(plan.record.profile);
  await Promise.all([
    ...plan.record.keyHashes.map((hash) => env.CONFIG.put(keyIndexName(hash), profileJson)),
    ...plan.removed.map((hash) => env.CONFIG.delete(keyIndexName(hash))),
    env.CONFIG.put(accountRecordName(plan.id), JSON.stringify(plan.record)),
  ]);
  forgetKeys([...plan.record.keyHashes, ...plan.removed]);
}

/** The registry upserts and audit rows of some upserts, for one D1 batch: a few statements however many accounts. */
function d1Statements(env: Env, plans: readonly PlannedUpsert[]): D1PreparedStatement[] {
  return [
    ...insertRows(
      env.DB,
      "accounts",
      ["id", "tier", "org_type", "verified", "billing_country", "payment_fingerprint", "key_count", "created_at", "updated_at"],
      // created_at is the record's: when the account was opened at the provider if the operator said so.
      plans.map(({ id, record: { profile, keyHashes, createdAt, updatedAt } }) => [
        id, profile.tier, profile.orgType, profile.verified, profile.billingCountry, profile.paymentFingerprint, keyHashes.length, createdAt, updatedAt,
      ]),
      `ON CONFLICT (id) DO UPDATE SET tier = excluded.tier, org_type = excluded.org_type, verified = excluded.verified,
         billing_country = excluded.billing_country, payment_fingerprint = excluded.payment_fingerprint,
         key_count = excluded.key_count, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ),
    // Profile facts only as flags: billing country and payment fingerprint stay out of the log.
    ...auditStatements(
      env.DB,
      plans.map((plan) => ({
        kind: "admin",
        action: plan.created ? "account_create" : "account_update",
        accountId: plan.id,
        detail: { tier: plan.record.profile.tier, verified: plan.record.profile.verified, keyCount: plan.record.keyHashes.length },
      })),
    ),
  ];
}

export async function upsertAccount(
  env: Env,
  id: string,
  input: AccountUpsert,
  defaultTier: string,
): Promise<{ record: AccountRecord; created: boolean }> {
  const [plan] = await planUpserts(env, [{ ...input, id }], defaultTier);
  if (!plan) throw new Error("planUpserts answered no plan for one account");
  await writeKv(env, plan);
  await env.DB.batch(d1Statements(env, [plan]));
  return { record: plan.record, created: plan.created };
}

// KV operations one bulk import keeps in flight: enough to overlap round trips, few enough to stay
// inside a Worker's simultaneous-connection budget.
const IMPORT_PARALLELISM = 32;

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/**
 * Many upserts in one call (moving an existing customer base behind the
 * gateway). All-or-nothing on validation: ids and keys are checked across the
 * whole batch and against KV before anything is written; then KV, then one D1
 * batch with every registry and audit row.
 */
export async function importAccounts(
  env: Env,
  accounts: ReadonlyArray<AccountUpsert & { id: string }>,
  defaultTier: string,
): Promise<PlannedUpsert[]> {
  const ids = new Set<string>();
  for (const a of accounts) {
    if (ids.has(a.id)) throw new GatewayError("invalid_request_error", `body.accounts: account ${a.id} appears twice`);
    ids.add(a.id);
  }
  const plans = await planUpserts(env, accounts, defaultTier);
  const owner = new Map<string, string>();
  for (const plan of plans) {
    for (const hash of plan.record.keyHashes) {
      const other = owner.get(hash);
      if (other !== undefined && other !== plan.id) {
        throw new GatewayError("invalid_request_error", `body.accounts: accounts ${other} and ${plan.id} share a key`);
      }
      owner.set(hash, plan.id);
    }
  }
  await inBatches(plans, IMPORT_PARALLELISM, (plan) => writeKv(env, plan));
  await env.DB.batch(d1Statements(env, plans));
  return plans;
}

/** The account as the admin API shows it: never the key hashes' preimages, and only a count of keys. */
export function publicAccount(record: AccountRecord) {
  return { ...record.profile, keyCount: record.keyHashes.length, createdAt: record.createdAt, updatedAt: record.updatedAt };
}

type AccountRow = {
  id: string;
  tier: string;
  org_type: string | null;
  verified: number;
  billing_country: string | null;
  payment_fingerprint: string | null;
  key_count: number;
  created_at: string;
  updated_at: string;
};

function accountFromRow(row: AccountRow): ReturnType<typeof publicAccount> {
  return {
    id: row.id,
    tier: row.tier,
    orgType: row.org_type,
    verified: row.verified === 1,
    billingCountry: row.billing_country,
    paymentFingerprint: row.payment_fingerprint,
    keyCount: row.key_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The account from KV (what the edge uses), else from D1 (the registry; KV is
 * eventually consistent across locations). 404 when neither knows it.
 */
export async function findAccount(env: Env, id: string) {
  const [raw, row] = await Promise.all([
    env.CONFIG.get(accountRecordName(id)),
    env.DB.prepare("SELECT * FROM accounts WHERE id = ?").bind(id).first<AccountRow>(),
  ]);
  const record = parseAccountRecord(raw);
  if (record) return { account: publicAccount(record), record };
  if (row) return { account: accountFromRow(row), record: null };
  throw notFound(`account ${id}`);
}

export function accountStub(env: Env, id: string) {
  return env.ACCOUNTS.getByName(accountObjectName(id));
}

/**
 * The list's sort keys, each a fixed SQL expression over the listing below (never client text). Risk,
 * latest action and activity are what D1 already holds: the latest audited decision (allowed requests
 * are not audited, so an account that was only ever allowed has none) and the freshest fingerprint
 * edge (collectors refresh an edge hourly). No account object is called for a list.
 */
const SORT_KEY = {
  id: "id",
  tier: "tier",
  verified: "verified",
  risk: "COALESCE(risk, -1)",
  // Mildest first, as lib/decision.ts ACTIONS; no audited decision sorts below allow.
  action: "CASE action WHEN 'allow' THEN 1 WHEN 'tag' THEN 2 WHEN 'degrade' THEN 3 WHEN 'throttle' THEN 4 WHEN 'block' THEN 5 ELSE 0 END",
  activity: "MAX(COALESCE(seen_ms, 0), COALESCE(decided_ms, 0))",
} as const;
type AccountSort = keyof typeof SORT_KEY;
const SORTS = Object.keys(SORT_KEY) as [AccountSort, ...AccountSort[]];

const listQuery = z.strictObject({
  limit: limitParam(100, 500),
  cursor: cursorParam,
  /** Accounts whose id starts with this (the registry's own ids: the same characters an id may hold). */
  prefix: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, "1-128 characters of A-Z a-z 0-9 . _ -"))),
  sort: z._default(z.enum(SORTS), "id"),
  // Without one: ids and tiers A→Z, the rest highest first (the riskiest, busiest, latest blocked on top).
  order: z.optional(z.enum(["asc", "desc"])),
});

/** Every registry row with what D1 knows of its activity: one index seek per account into the audit log and the edges. */
const ACCOUNT_LISTING = `
  SELECT a.*, d.risk, d.action, d.at AS decided_at,
         CAST(strftime('%s', d.at) AS INTEGER) * 1000 AS decided_ms,
         (SELECT MAX(f.last_seen) FROM account_fingerprints f WHERE f.account_id = a.id) AS seen_ms
  FROM accounts a
  LEFT JOIN audit_log d ON d.id = (SELECT MAX(l.id) FROM audit_log l WHERE l.account_id = a.id AND l.kind = 'decision')
  WHERE ?1 = '' OR substr(a.id, 1, length(?1)) = ?1`;

type ListedAccountRow = AccountRow & {
  risk: number | null;
  action: string | null;
  decided_at: string | null;
  decided_ms: number | null;
  seen_ms: number | null;
  sort_value: string | number;
};

function listedAccount(row: ListedAccountRow) {
  const activity = Math.max(row.seen_ms ?? 0, row.decided_ms ?? 0);
  return {
    ...accountFromRow(row),
    risk: row.risk,
    action: row.action,
    decidedAt: row.decided_at,
    lastActivityAt: activity > 0 ? new Date(activity).toISOString() : null,
  };
}

// 500 per call: a whole batch is validated before anything is written and lands in one D1 batch.
export const IMPORT_MAX_ACCOUNTS = 500;
const importBody = z.strictObject({
  accounts: z.array(z.extend(accountUpsertSchema, { id: accountIdSchema })).check(z.minLength(1), z.maxLength(IMPORT_MAX_ACCOUNTS)),
});

const revokeBody = z.optional(
  z.strictObject({ keys: z.array(z.string().check(z.minLength(1), z.maxLength(512))).check(z.minLength(1), z.maxLength(100)) }),
);

type MembershipRow = {
  cluster_id: string;
  size: number | null;
  verdict: string | null;
  reasons: string | null;
  updated_at: number | null;
};

export function accountRoutes() {
  const routes = new Hono<AppEnv>();

  routes.put("/:id", adminBody(), async (c) => {
    const id = parseAccountId(c.req.param("id"));
    const input = parseBody(c, accountUpsertSchema);
    const { record, created } = await upsertAccount(c.env, id, input, c.get("policy").defaultTier);
    return c.json({ account: publicAccount(record) }, created ? 201 : 200);
  });

  routes.post("/", adminBody(), async (c) => {
    const input = parseBody(c, importBody);
    const plans = await importAccounts(c.env, input.accounts, c.get("policy").defaultTier);
    return c.json({
      created: plans.filter((p) => p.created).length,
      updated: plans.filter((p) => !p.created).length,
      accounts: plans.map((p) => publicAccount(p.record)),
    });
  });

  routes.get("/", async (c) => {
    const q = parseQuery(c, listQuery);
    const order = q.order ?? (q.sort === "id" || q.sort === "tier" ? "asc" : "desc");
    // The cursor names its sort and order: one from another ordering of the list is refused, not misread.
    const after = decodeCursor(q.cursor, z.tuple([z.literal(q.sort), z.literal(order), z.union([z.string(), z.number()]), z.string()]));
    const key = SORT_KEY[q.sort];
    const direction = order === "asc" ? "ASC" : "DESC";
    const seek = after === null ? "" : `WHERE (sort_value, id) ${order === "asc" ? ">" : "<"} (?3, ?4)`;
    const { results } = await c.env.DB.prepare(
      `SELECT * FROM (SELECT *, ${key} AS sort_value FROM (${ACCOUNT_LISTING})) ${seek}
       ORDER BY sort_value ${direction}, id ${direction} LIMIT ?2`,
    )
      .bind(q.prefix ?? "", q.limit + 1, ...(after === null ? [] : [after[2], after[3]]))
      .all<ListedAccountRow>();
    const { items, nextCursor } = page(results, q.limit, (row) => [q.sort, order, row.sort_value, row.id]);
    return c.json({ accounts: items.map(listedAccount), sort: q.sort, order, nextCursor });
  });

  routes.get("/:id", async (c) => {
    const id = parseAccountId(c.req.param("id"));
    const { account } = await findAccount(c.env, id);
    const stub = accountStub(c.env, id);
    const [state, memberships] = await Promise.all([
      withRetry(() => stub.inspect()),
      c.env.DB.prepare(
        `SELECT m.cluster_id, c.size, c.verdict, c.reasons, c.updated_at
         FROM cluster_members m LEFT JOIN clusters c ON c.id = m.cluster_id
         WHERE m.account_id = ? ORDER BY c.size DESC LIMIT 100`,
      )
        .bind(id)
        .all<MembershipRow>(),
    ]);
    const clusters = memberships.results.map((row) => ({
      id: row.cluster_id,
      size: row.size,
      verdict: row.verdict,
      reasons: splitReasons(row.reasons),
      updatedAt: row.updated_at === null ? null : new Date(row.updated_at).toISOString(),
    }));
    const policy = c.get("policy");
    const quota = state.overrides.find((o) => o.kind === "quota");
    return c.json({
      account,
      state,
      clusters,
      // What the policy gives this account now (tier × standing × risk × operator multiplier), whether or
      // not its object has admitted anything since it last loaded (state.limits is null until then).
      // A cluster's aggregate cap comes on top, per cluster (state.clusters[].capPerWindow).
      limits: {
        windowSeconds: policy.limits.windowSeconds,
        dayWindowSeconds: policy.limits.dayWindowSeconds,
        ...effectiveLimits(policy, account, state.risk.score, quota?.multiplier ?? null),
      },
      thresholds: policy.actions,
    });
  });

  // No body: revoke every key (the account stays, and can get new keys with PUT). With
  // {"keys": [...]}: revoke just those, e.g. one leaked key of several.
  routes.delete("/:id/keys", adminBody(), async (c) => {
    const id = parseAccountId(c.req.param("id"));
    const input = parseBody(c, revokeBody);
    const { record } = await findAccount(c.env, id);
    if (!record) throw notFound(`account ${id}`);
    let revoked = record.keyHashes;
    if (input) {
      const hashes = await Promise.all(input.keys.map((key) => sha256Hex(key)));
      const foreign = hashes.filter((hash) => !record.keyHashes.includes(hash)).length;
      if (foreign > 0) {
        throw new GatewayError("invalid_request_error", `body.keys: ${foreign} of the keys do not belong to account ${id}; nothing revoked`);
      }
      revoked = [...new Set(hashes)];
    }
    const now = new Date().toISOString();
    const next: AccountRecord = { ...record, keyHashes: record.keyHashes.filter((h) => !revoked.includes(h)), updatedAt: now };
    await Promise.all([
      ...revoked.map((hash) => c.env.CONFIG.delete(keyIndexName(hash))),
      c.env.CONFIG.put(accountRecordName(id), JSON.stringify(next)),
      c.env.DB.prepare("UPDATE accounts SET key_count = ?, updated_at = ? WHERE id = ?").bind(next.keyHashes.length, now, id).run(),
    ]);
    forgetKeys(revoked);
    await writeAudit(c.env.DB, {
      kind: "admin",
      action: "revoke_keys",
      accountId: id,
      detail: { revoked: revoked.length, remaining: next.keyHashes.length },
    });
    return c.json({ account: publicAccount(next), revoked: revoked.length });
  });

  return routes;
}
