/**
 * Account upsert: keys are hashed before anything is stored; the KV key index
 * (`key:<hash>` → profile) is kept in step, and keys removed from an account
 * are revoked at once in KV (other isolates within cache.keyTtlSeconds).
 */
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
import type { AccountProfile } from "../../lib/decision.ts";
import { sha256Hex } from "../../lib/hash.ts";
import { GatewayError } from "../errors.ts";
import { forgetKeys } from "../identity.ts";

export function parseAccountId(raw: string): string {
  const result = accountIdSchema.safeParse(raw);
  if (!result.success) throw new GatewayError("invalid_request_error", result.error.issues[0]?.message ?? "bad account id");
  return result.data;
}

export function parseUpsert(json: unknown): AccountUpsert {
  const result = accountUpsertSchema.safeParse(json);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    throw new GatewayError("invalid_request_error", detail);
  }
  return result.data;
}

export async function upsertAccount(
  env: Env,
  id: string,
  input: AccountUpsert,
  defaultTier: string,
): Promise<{ record: AccountRecord; created: boolean }> {
  const now = new Date().toISOString();
  const existing = parseAccountRecord(await env.CONFIG.get(accountRecordName(id)));
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
  const keyHashes = [...new Set(await Promise.all(input.keys.map((key) => sha256Hex(key))))];
  for (const hash of keyHashes) {
    const owner = parseProfile(await env.CONFIG.get(keyIndexName(hash)));
    if (owner !== null && owner.id !== id) {
      throw new GatewayError("invalid_request_error", "one of the keys already belongs to another account");
    }
  }
  const removed = (existing?.keyHashes ?? []).filter((hash) => !keyHashes.includes(hash));
  const record: AccountRecord = { profile, keyHashes, createdAt: existing?.createdAt ?? now, updatedAt: now };

  const profileJson = JSON.stringify(profile);
  await Promise.all([
    ...keyHashes.map((hash) => env.CONFIG.put(keyIndexName(hash), profileJson)),
    ...removed.map((hash) => env.CONFIG.delete(keyIndexName(hash))),
    env.CONFIG.put(accountRecordName(id), JSON.stringify(record)),
  ]);
  forgetKeys([...keyHashes, ...removed]);

  await env.DB.prepare(
    `INSERT INTO accounts (id, tier, org_type, verified, billing_country, payment_fingerprint, key_count, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
     ON CONFLICT (id) DO UPDATE SET tier = ?2, org_type = ?3, verified = ?4, billing_country = ?5,
       payment_fingerprint = ?6, key_count = ?7, updated_at = ?8`,
  )
    .bind(id, profile.tier, profile.orgType, profile.verified ? 1 : 0, profile.billingCountry, profile.paymentFingerprint, keyHashes.length, now)
    .run();
  return { record, created: existing === null };
}

/** The account as the admin API shows it: never the key hashes' preimages, and only a count of keys. */
export function publicAccount(record: AccountRecord) {
  return { ...record.profile, keyCount: record.keyHashes.length, createdAt: record.createdAt, updatedAt: record.updatedAt };
}
