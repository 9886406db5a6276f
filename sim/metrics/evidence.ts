/** The clusters the admin API reports, attributed to the campaigns that own them. */

/** A cluster the admin API reports, attributed to the campaign that owns its keys. */
export type ClusterEvidence = {
  id: string;
  type: "key" | "component";
  verdict: string;
  size: number;
  score: number | null;
  reasons: string[];
  evidence: { evidence: string; value: number | null; points: number; reason: string | null }[];
  /** For a component: its linking keys. */
  keys: string[];
  /** Share of the cluster's accounts the campaign holds (keys: from the simulator's own fingerprints). */
  ownerShare: number;
  /** A component's members by population (its detail lists them); empty for a key. */
  members: Record<string, number>;
};

export type IndicatorSample = { total: number; clusters: number; omitted: Record<string, number>; sample: { type: string; value: string; accounts: number; clusters: string[] }[] };

export type EvidenceReport = {
  byPopulation: { population: string; clusters: ClusterEvidence[] }[];
  indicators: IndicatorSample | null;
  /** Why evidence is missing, when it is. */
  note: string | null;
};

/** A cluster as GET /admin/clusters/{id} answers it (the fields the report reads). */
export type ClusterDetail = {
  id: string;
  type: "key" | "component";
  verdict: string;
  size: number;
  score?: number | null;
  reasons?: string[];
  evidence?: { evidence: string; value: number | null; points: number; reason: string | null }[];
  sharedKeys?: string[];
  /** A component's members by population index, when its detail was read. */
  members?: Map<number, number>;
};

/**
 * Each campaign's clusters: a key goes to the population holding most of its accounts (at least
 * `minShare` of them, as for confirmed keys); a component to the population most of its members
 * belong to (whatever the share: a component mixing honest and attack accounts is worth seeing),
 * or, without its members, to the owner of most of its keys.
 */
export function attributeClusters(
  clusters: readonly ClusterDetail[],
  owners: Map<string, { population: number; share: number; accounts: number }>,
  populations: readonly string[],
  minShare = 0.8,
): EvidenceReport["byPopulation"] {
  const out = new Map<number, ClusterEvidence[]>();
  for (const c of clusters) {
    let population: number | null = null;
    let ownerShare = 0;
    if (c.type === "key") {
      const o = owners.get(c.id);
      if (o && o.share >= minShare) [population, ownerShare] = [o.population, o.share];
    } else if (c.members && c.members.size > 0) {
      let total = 0;
      for (const n of c.members.values()) total += n;
      for (const [p, n] of c.members) if (n / total > ownerShare) [population, ownerShare] = [p, n / total];
    } else {
      const votes = new Map<number, number>();
      const keys = c.sharedKeys ?? [];
      for (const k of keys) {
        const o = owners.get(k);
        if (o && o.share >= minShare) votes.set(o.population, (votes.get(o.population) ?? 0) + 1);
      }
      for (const [p, n] of votes) if (n / Math.max(1, keys.length) > ownerShare) [population, ownerShare] = [p, n / keys.length];
    }
    if (population === null) continue;
    const list = out.get(population) ?? [];
    list.push({
      id: c.id,
      type: c.type,
      verdict: c.verdict,
      size: c.size,
      score: c.score ?? null,
      reasons: c.reasons ?? [],
      evidence: c.evidence ?? [],
      keys: c.sharedKeys ?? [],
      ownerShare,
      members: Object.fromEntries([...(c.members ?? [])].map(([p, n]) => [populations[p] ?? `population ${p}`, n])),
    });
    out.set(population, list);
  }
  return [...out]
    .sort(([a], [b]) => a - b)
    .map(([p, list]) => ({ population: populations[p] ?? `population ${p}`, clusters: list.sort((x, y) => y.size - x.size) }));
}
