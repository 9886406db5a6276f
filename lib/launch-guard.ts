/**
 * The model-launch guard, limits side: for a number of hours after a model's
 * release, low-trust accounts get a tighter entitlement on that model. One
 * campaign moved half its traffic to a new model within 24 hours of its
 * release; the guard keeps the first days of a launch from being its harvest,
 * while verified customers are untouched.
 *
 * The guard is an entitlement rule (lib/entitlements.ts) that holds only in the
 * window, checked before the policy's own entitlements; a request must fit both.
 * Pure: no bindings.
 */
import { entitlementSchema, globMatches, type Entitlement } from "./entitlements.ts";
import * as z from "./zod.ts";

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
});
export type LaunchGuard = z.infer<typeof launchGuardSchema>;

/** The guard's rule and its wording for this model now, or null when the model is not in a launch window. */
export function launchRule(guard: LaunchGuard, model: unknown, now: number): { rule: Entitlement; during: string } | null {
  if (typeof model !== "string") return null;
  const windowMs = guard.hours * 3_600_000;
  for (const launch of guard.models) {
    const releasedAt = Date.parse(launch.releasedAt);
    if (now >= releasedAt && now < releasedAt + windowMs && globMatches(launch.model, model)) {
      return { rule: guard.rule, during: `in the first ${guard.hours} hours after ${launch.model} is released` };
    }
  }
  return null;
}
