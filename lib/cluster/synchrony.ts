/**
 * Timing synchrony across accounts that share a fingerprint: per-second
 * request-start histograms, one per account, and the mean pairwise Pearson
 * correlation between them. Humans and independent CI jobs are uncorrelated
 * (≈ 0); a campaign driving many accounts from one scheduler fires them in the
 * same seconds (→ 1). Accounts with a single request carry no timing evidence
 * and are skipped.
 */

/** Sparse histogram: second (epoch s) → request starts in that second. */
export type StartHistogram = Array<[second: number, count: number]>;

// 24 accounts → 276 pairs: plenty for a stable mean, bounded CPU per flush.
export const MAX_SAMPLED_ACCOUNTS = 24;

function pearson(a: Map<number, number>, b: Map<number, number>, from: number, to: number): number | null {
  const n = to - from + 1;
  if (n < 2) return null;
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let s = from; s <= to; s++) {
    const x = a.get(s) ?? 0;
    const y = b.get(s) ?? 0;
    sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y;
  }
  const cov = sab - (sa * sb) / n;
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  if (va <= 0 || vb <= 0) return null;
  return cov / Math.sqrt(va * vb);
}

/**
 * Mean pairwise correlation (clipped to 0..1) of the given accounts' histograms
 * over their common span; null when fewer than two accounts carry evidence.
 */
export function synchrony(histograms: StartHistogram[]): { value: number; pairs: number } | null {
  const usable = histograms
    .filter((h) => h.reduce((sum, [, c]) => sum + c, 0) >= 2)
    .slice(0, MAX_SAMPLED_ACCOUNTS)
    .map((h) => new Map(h));
  if (usable.length < 2) return null;
  let from = Infinity;
  let to = -Infinity;
  for (const h of usable) {
    for (const s of h.keys()) {
      if (s < from) from = s;
      if (s > to) to = s;
    }
  }
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < usable.length; i++) {
    for (let j = i + 1; j < usable.length; j++) {
      const a = usable[i];
      const b = usable[j];
      if (!a || !b) continue;
      const r = pearson(a, b, from, to);
      if (r === null) continue;
      total += Math.max(0, r);
      pairs++;
    }
  }
  return pairs === 0 ? null : { value: total / pairs, pairs };
}

/** Adds one start to a sparse histogram kept as a Map while an account accumulates its report. */
export function recordStart(histogram: Map<number, number>, atMs: number): void {
  const second = Math.floor(atMs / 1000);
  histogram.set(second, (histogram.get(second) ?? 0) + 1);
}
