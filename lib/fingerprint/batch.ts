/**
 * One fingerprint for a Message Batch, from the fingerprints of the requests it
 * holds. The batch counts towards the keys of its most typical request — the
 * one whose template bands the most other contained requests share (a
 * campaign's batch is its template many times over), the first on a tie — and
 * carries what the whole batch asks for: the highest elicitation score (one
 * reasoning-harvest prompt is enough to look like the campaign), the share of
 * eliciting requests (for the cluster's elicitation share) and whether any asks
 * for extended thinking.
 *
 * Pure: no bindings.
 */
import type { Fingerprint } from "./index.ts";

export type BatchFingerprint = {
  /** The most typical contained request's fingerprint, with the batch's elicitation and thinking. */
  representative: Fingerprint;
  /** Share (0..1) of contained requests scoring at or above the elicitation threshold. */
  elicitedShare: number;
};

export function batchFingerprint(contained: readonly Fingerprint[], elicitationThreshold: number): BatchFingerprint | null {
  const first = contained[0];
  if (!first) return null;
  const bandCounts = new Map<string, number>();
  for (const fp of contained) for (const band of fp.keys.template) bandCounts.set(band, (bandCounts.get(band) ?? 0) + 1);
  let best = first;
  let bestScore = -1;
  let top = first.elicitation;
  let eliciting = 0;
  let thinking = false;
  for (const fp of contained) {
    let score = 0;
    for (const band of fp.keys.template) score += bandCounts.get(band) ?? 0;
    if (score > bestScore) {
      best = fp;
      bestScore = score;
    }
    if (fp.elicitation.score > top.score) top = fp.elicitation;
    if (fp.elicitation.score >= elicitationThreshold) eliciting++;
    thinking ||= fp.capability.thinking;
  }
  return {
    representative: { ...best, elicitation: top, capability: { ...best.capability, thinking } },
    elicitedShare: eliciting / contained.length,
  };
}
