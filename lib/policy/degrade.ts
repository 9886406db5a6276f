/**
 * What a degraded answer looks like (`degrade`), and what enforced answers lose and tell the client
 * (`safeguards`, applied by worker/safeguards.ts).
 */
import * as z from "../zod.ts";
import { intFrom, section } from "./fields.ts";

export const degradeSchema = section({
  /** max_tokens is clamped to this when the action is degrade. */
  maxTokens: z._default(intFrom(1), 1_024),
  /** Extended-thinking requests have `thinking` removed when degraded. */
  dropThinking: z._default(z.boolean(), true),
});

export const safeguardsSchema = section({
  /** Enforced degrade answers lose their thinking and redacted_thinking blocks (JSON and streams). */
  stripThinking: z._default(z.boolean(), true),
  /**
   * Which enforced actions the client is told about, in the `distillguard-notice` answer header
   * (the action and appealContact, never the reasons or the risk). Off by default: a notice tells
   * a campaign what it tripped as surely as it tells a customer why answers are short.
   */
  notice: section({
    degrade: z._default(z.boolean(), false),
    throttle: z._default(z.boolean(), false),
    block: z._default(z.boolean(), false),
  }),
  /** Where a client appeals (a URL or an address), named in the notice; printable ASCII, no quotes. */
  appealContact: z._default(z.string().check(z.maxLength(200), z.regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/, "printable ASCII without quotes or backslashes")), ""),
});
