/**
 * The model-launch guard: for a number of hours after a model's release,
 * unverified, new and risky accounts get a tighter entitlement on that model,
 * and a fingerprint key whose traffic moves to it is evidence for the key's
 * verdict. One campaign moved half its traffic to a new model within 24 hours
 * of its release; the guard keeps the first days of a launch from being its
 * harvest, while established customers are untouched.
 *
 * The limits are an entitlement rule (lib/entitlements.ts) that holds only in
 * the window, checked before the policy's own entitlements; a request must fit
 * both. Who is held is three questions: the rule's `when` (by default,
 * unverified) and the account's age, both known at the edge from the profile;
 * and its risk, which only the account object knows and tells in its admission
 * answer, so a risky account is clamped after admission, never refused (a
 * refusal would have to say that risk was the reason).
 *
 * Pure: no bindings.
 */
import { entitlementSchema, globMatches, type EntitledAccount, type Entitlement } from "./entitlements.ts";
import * as z from "./zod.ts";

const HOUR_MS = 3_600_000;

export const launchGuardSchema = z.strictObject({
  /** Newly released models: an id glob and its release time. */
  models: z._default(
    z.array(z.strictObject({ model: z.string().check(z.minLength(1), z.maxLength(128)), releasedAt: z.iso.datetime({ offset: true }) })).check(z.maxLength(100)),
    [],
  ),
  /** Hours after release the guard holds. */
  hours: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(90 * 24)), 72),
  /** What low-trust accounts (the rule's `when`; by default unverified ones) get on the model meanwhile. */
  rule: z._default(entitlementSchema, { when: { verified: false }, maxTokens: 4_096, thinkingBudgetTokens: 2_048, beyond: "clamp" }),
  /**
   * Accounts registered less than this many hours before the request are held to the rule whatever its
   * `when` says; 0 holds none for their age. A week: accounts bought or registered for a launch are days old,
   * and a customer's first week on a new model is rarely its heaviest. Accounts whose registration time is
   * unknown (recorded before it was kept) count as established.
   */
  newAccountHours: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(365 * 24)), 168),
  /**
   * Accounts whose risk is at least this are held to the rule's max_tokens and thinking budget (clamped,
   * never refused); null holds none for their risk. 20: where risk starts shrinking an account's quota
   * (quota.riskFloor's default), below the degrade action, which clamps harder anyway.
   */
  riskAtLeast: z._default(z.nullable(z.number().check(z.minimum(0), z.maximum(100))), 20),
  /**
   * Share of a fingerprint key's window traffic on a listed model, in its window, from which the key's
   * cluster root counts a model pivot as evidence (and the same share on any model new to the key).
   * 0.5: the campaign in the public report moved half its traffic to a new model within a day; honest
   * adoption by a crowd of established accounts climbs slowly and stays below it in the first days.
   */
  pivotShare: z._default(z.number().check(z.minimum(0.05), z.maximum(1)), 0.5),
});
export type LaunchGuard = z.infer<typeof launchGuardSchema>;

/** A listed launch whose window holds now: the glob that named the model and when it was released. */
export type Launch = { model: string; releasedAt: number; endsAt: number };

/** The listed launch whose window holds `model` at `now`, or null. */
export function launchOf(guard: LaunchGuard, model: unknown, now: number): Launch | null {
  if (typeof model !== "string") return null;
  const windowMs = guard.hours * HOUR_MS;
  for (const launch of guard.models) {
    const releasedAt = Date.parse(launch.releasedAt);
    if (now >= releasedAt && now < releasedAt + windowMs && globMatches(launch.model, model)) {
      return { model: launch.model, releasedAt, endsAt: releasedAt + windowMs };
    }
  }
  return null;
}

/** The guard's rule and its wording for this model now, or null when the model is not in a launch window. */
export function launchRule(guard: LaunchGuard, model: unknown, now: number): { rule: Entitlement; during: string } | null {
  const launch = launchOf(guard, model, now);
  return launch === null ? null : { rule: guard.rule, during: `in the first ${guard.hours} hours after ${launch.model} is released` };
}

/** What the guard looks at in an account before admission: the profile's trust and its registration time. */
export type GuardedAccount = EntitledAccount & { createdAt?: number };

/** Whether the account was registered within `newAccountHours` of now; an unknown (or 0) registration time is established. */
export function isNewAccount(guard: LaunchGuard, account: GuardedAccount, now: number): boolean {
  const createdAt = account.createdAt;
  if (guard.newAccountHours === 0 || createdAt === undefined || createdAt <= 0) return false;
  return now - createdAt < guard.newAccountHours * HOUR_MS;
}

/**
 * The rule a new account is held to whatever the rule's `when`: the same limits for any account, with the
 * wording of a refusal saying who (registered recently) and how to get more (wait, or the help text).
 */
export function newAccountRule(guard: LaunchGuard): { rule: Entitlement; scope: string; how: string } {
  return {
    rule: { ...guard.rule, when: undefined },
    scope: `accounts less than ${guard.newAccountHours} hours old`,
    how: `An account ${guard.newAccountHours} hours old or more is entitled to more`,
  };
}

/** Whether an account of this risk (the account object's, from admission) is held to the rule. */
export function isRiskyAccount(guard: LaunchGuard, risk: number): boolean {
  return guard.riskAtLeast !== null && risk >= guard.riskAtLeast;
}

/**
 * The rule a risky account is held to: only what can be lowered (max_tokens, the thinking budget), and
 * always lowered. Streaming, tools, batches and models cannot be lowered, only refused, and a refusal
 * names its reason: risk is never told to the client.
 */
export function riskyAccountRule(guard: LaunchGuard): Entitlement | null {
  const { maxTokens, thinkingBudgetTokens } = guard.rule;
  if (maxTokens === undefined && thinkingBudgetTokens === undefined) return null;
  return {
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(thinkingBudgetTokens === undefined ? {} : { thinkingBudgetTokens }),
    beyond: "clamp",
  };
}

/** A key's traffic that moved to one model: the model and its share (0..1) of the key's window requests. */
export type Pivot = { model: string; share: number; launch: string | null };

/**
 * A model pivot on one fingerprint key, from its window's requests by model. A listed model counts in its
 * launch window when the key had traffic before the release (its accounts moved, rather than a key born on
 * the new model); any other model counts when it is new to the key (first seen within `recentMs` and after
 * the key's own first request). Either must carry at least `pivotShare` of the window's requests; the
 * largest share wins.
 */
export function detectPivot(input: {
  guard: LaunchGuard;
  /** The key's window requests by model. */
  models: Record<string, number>;
  /** When each model was first seen on the key. */
  firstSeen: { get(model: string): number | undefined };
  /** When the key itself was first seen. */
  keyFirstSeen: number;
  now: number;
  /** How recent an unlisted model's first request on the key must be to count as new. */
  recentMs: number;
}): Pivot | null {
  const { guard, models, firstSeen, keyFirstSeen, now, recentMs } = input;
  let total = 0;
  for (const n of Object.values(models)) total += n;
  if (total === 0) return null;
  let best: Pivot | null = null;
  for (const [model, n] of Object.entries(models)) {
    const share = n / total;
    if (share < guard.pivotShare || (best !== null && share <= best.share)) continue;
    const launch = launchOf(guard, model, now);
    if (launch !== null) {
      if (keyFirstSeen < launch.releasedAt) best = { model, share, launch: launch.model };
      continue;
    }
    const seen = firstSeen.get(model);
    if (seen !== undefined && now - seen <= recentMs && seen > keyFirstSeen) best = { model, share, launch: null };
  }
  return best;
}
