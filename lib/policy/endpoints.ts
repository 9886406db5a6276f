/** The origin routes the gateway forwards beyond the built-in ones, and who may use batches (lib/endpoints.ts). */
import * as z from "../zod.ts";
import { intBetween, section } from "./fields.ts";

export const endpointsSchema = section({
  batches: section({
    /**
     * Tiers whose accounts may use the Message Batches API ("*": every tier); others get 403
     * permission_error naming the entitlement. Batches are bulk harvesting made easy, so free is out by default.
     */
    tiers: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(64))), ["build", "scale", "enterprise"]),
    /** Most Messages requests one batch may hold; a bigger batch gets 413 before anything is counted. */
    maxRequests: z._default(intBetween(1, 100_000), 1_000),
  }),
  /**
   * Further routes forwarded to the origin, by exact method and path (no parameters), each metered as
   * one request with no token reservation.
   */
  extra: z._default(
    z
      .array(
        z.strictObject({
          method: z.enum(["GET", "POST", "DELETE"]),
          path: z
            .string()
            .check(
              z.maxLength(256),
              z.regex(/^\/v1(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+$/, "must be an exact /v1/… path of letters, digits, '_', '-' and '.'"),
            ),
        }),
      )
      .check(z.maxLength(64)),
    [],
  ),
});
