/**
 * Account records and the KV key index. An API key is never stored: only its
 * SHA-256, which is what the edge computes from the request to find the account.
 */
import * as z from "./zod.ts";
import type { AccountProfile } from "./decision.ts";
import { hash64Hex } from "./fasthash.ts";

/** `key:<sha256 hex>` → the account profile, so identity is one KV read on a cache miss. */
export function keyIndexName(keyHash: string): string {
  return `key:${keyHash}`;
}

/** `account:<id>` → the account record with the hashes of its keys. */
export function accountRecordName(accountId: string): string {
  return `account:${accountId}`;
}

export const accountIdSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "account id: 1-128 characters of A-Z a-z 0-9 . _ -, starting alphanumeric"));

export const accountUpsertSchema = z.strictObject({
  keys: z
    .array(z.string().check(z.minLength(8, "api keys must be at least 8 characters"), z.maxLength(512)))
    .check(z.minLength(1), z.maxLength(100)),
  tier: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  orgType: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(64)))),
  verified: z.optional(z.boolean()),
  billingCountry: z.optional(
    z.nullable(z.string().check(z.regex(/^[A-Z]{2}$/, "billingCountry must be an upper-case ISO 3166-1 alpha-2 code"))),
  ),
  paymentFingerprint: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(256)))),
  /**
   * When the account was opened at the provider (ISO 8601). Account age is verdict evidence (a burst of
   * new accounts on one key), and a gateway put in front of an existing customer base would otherwise
   * see every customer as created the day they were imported. Absent: kept, or now for a new account.
   */
  createdAt: z.optional(
    z.string().check(
      z.maxLength(64),
      z.refine((v) => Number.isFinite(Date.parse(v)), "createdAt must be an ISO 8601 date-time"),
      // A day of slack for clocks; an account opened in the future is a typo.
      z.refine((v) => Date.parse(v) <= Date.now() + 86_400_000, "createdAt must not be in the future"),
    ),
  ),
});
export type AccountUpsert = z.infer<typeof accountUpsertSchema>;

export const profileSchema = z.object({
  id: z.string(),
  tier: z.string(),
  orgType: z.nullable(z.string()),
  verified: z.boolean(),
  billingCountry: z.nullable(z.string()),
  paymentFingerprint: z.nullable(z.string()),
  createdAt: z.optional(z.number()),
});

export const accountRecordSchema = z.object({
  profile: profileSchema,
  keyHashes: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AccountRecord = z.infer<typeof accountRecordSchema>;

export function parseProfile(raw: string | null): AccountProfile | null {
  if (raw === null) return null;
  try {
    const result = profileSchema.safeParse(JSON.parse(raw));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

export function parseAccountRecord(raw: string | null): AccountRecord | null {
  if (raw === null) return null;
  try {
    const result = accountRecordSchema.safeParse(JSON.parse(raw));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

/**
 * The fingerprint key of the card an account pays with: accounts sharing one are as linked as accounts
 * sharing a TLS stack, and more telling (a campaign buys accounts in bulk with few cards). The account
 * object adds it to every request's keys from the profile, so the edge sends nothing new. Hashed: the
 * processor's fingerprint is payment data, and keys end up in D1, logs and the admin API.
 */
export function paymentKey(account: Pick<AccountProfile, "paymentFingerprint">): string | null {
  const fp = account.paymentFingerprint;
  return fp === null || fp === "" ? null : `payment:${hash64Hex(fp)}`;
}
