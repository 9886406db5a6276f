/**
 * The value shapes the policy's sections are written in (lib/policy/*.ts), and `section()`, which
 * makes a nested object whose absence means "all its defaults".
 */
import * as z from "../zod.ts";

export const nonNegInt = z.number().check(z.int(), z.nonnegative());
export const positiveNumber = z.number().check(z.positive());
/** A number within [min, max]. */
export const between = (min: number, max: number) => z.number().check(z.minimum(min), z.maximum(max));
/** An integer within [min, max]. */
export const intBetween = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));
/** An integer of at least min. */
export const intFrom = (min: number) => z.number().check(z.int(), z.minimum(min));
export const share = between(0, 1);
export const points = between(0, 100);
export const strings = z.array(z.string());

/** A section of the policy: unknown keys refused, and an absent section is `{}` with its own defaults. */
export function section<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const object = z.strictObject(shape);
  // Every field of a section has a default or is optional, so `{}` is valid input. The type
  // system cannot see that through a generic shape; DEFAULT_POLICY (index.ts) parses `{}` at load,
  // so a section that breaks it fails at once.
  return z.prefault(object, {} as z.input<typeof object>);
}
