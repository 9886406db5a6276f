/** How much of a request the content fingerprints read, and when a prompt counts as elicitation (lib/fingerprint/). */
import * as z from "../zod.ts";
import { intBetween, section, share } from "./fields.ts";

export const fingerprintSchema = section({
  /** Content fingerprints look at most this many bytes of system prompt + first user turn. */
  maxContentBytes: z._default(intBetween(256, 1024 * 1024), 16 * 1024),
  /** SHA-256 (hex) of shared system prompts of legitimate tools: not a template signal. */
  allowedSystemPromptHashes: z._default(z.array(z.string().check(z.regex(/^[0-9a-f]{64}$/))), []),
  /** Elicitation score (0..1) from which a prompt counts as chain-of-thought elicitation. */
  elicitationThreshold: z._default(share, 0.5),
  /**
   * Score from which one request adds the `cot_elicitation` risk signal to its own account. Above
   * elicitationThreshold because a behaviour signal accumulates: a heavy honest user's rare false
   * positives must not add up to a degrade. 0.85 is the lowest point at which the scorer's validation
   * ordinary prompts fire at most 0.1 % and its hard ones (tutors, own-product QA, homework) 0.5 %
   * (`npm run train:elicitation` prints it); keys' eliciting share is judged at elicitationThreshold.
   */
  elicitationSignalThreshold: z._default(share, 0.85),
});
