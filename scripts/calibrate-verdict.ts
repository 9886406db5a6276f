/**
 * Calibrates the cluster verdict score (lib/cluster/evidence.ts) on synthetic
 * key metrics (sim/verdict-families.ts), deterministically:
 *
 *   npx tsx scripts/calibrate-verdict.ts            the default policy on every family and named case
 *   npx tsx scripts/calibrate-verdict.ts --fit      also fit priors and weights on the tuning families
 *   npx tsx scripts/calibrate-verdict.ts --check    exit 1 if a named honest case is confirmed, a named
 *                                                   campaign that must confirm is not, or one signal alone can
 *
 * The fit minimises a margin log-loss on each population's strongest key
 * (a campaign wants it confirmed, an honest crowd wants none of its keys
 * confirmed), family by family, with a pull towards the reasoned starting
 * weights so that the synthetic families, written by the same hands as the
 * score, cannot move a weight far on their own. Held-out families are only
 * reported. The defaults in lib/policy/clusters.ts are the fit's output, rounded.
 */
import { scoreEvidence, type KeyMetrics } from "../lib/cluster/evidence.ts";
import { bigEnough, judgeKey, type Verdict } from "../lib/cluster/verdict.ts";
import { DEFAULT_POLICY, VERDICT_EVIDENCE, type Policy } from "../lib/policy/index.ts";
import { NAMED_CASES, populations, rootToday, withoutVolume, type KeyCase, type Population } from "../sim/verdict-families.ts";

const SEED = 17;
const PER_FAMILY = 40;
// Log-odds a population should clear the confirm threshold by (campaigns above, honest crowds below).
const MARGIN = 1;
const ANCHOR = 0.3;
const STEPS = 60;

type VerdictPolicy = Policy["clusters"]["verdict"];
type Param = { name: string; get: (v: VerdictPolicy) => number; set: (v: VerdictPolicy, x: number) => void; lo: number; hi: number };

const PARAMS: Param[] = [
  ...(["broad", "network", "band", "content"] as const).map((kind) => ({
    name: `priors.${kind}`, get: (v: VerdictPolicy) => v.priors[kind], set: (v: VerdictPolicy, x: number) => void (v.priors[kind] = x), lo: -10, hi: -2,
  })),
  ...VERDICT_EVIDENCE.map((e) => ({
    name: `weights.${e}`, get: (v: VerdictPolicy) => v.weights[e], set: (v: VerdictPolicy, x: number) => void (v.weights[e] = x), lo: 0.5, hi: 4.5,
  })),
  { name: "commonalityCap", get: (v) => v.commonalityCap, set: (v, x) => void (v.commonalityCap = x), lo: 1, hi: 6 },
  { name: "volumeRelief", get: (v) => v.volumeRelief, set: (v, x) => void (v.volumeRelief = x), lo: 0, hi: 2 },
];

function withVerdict(policy: Policy, verdict: VerdictPolicy): Policy {
  return { ...policy, clusters: { ...policy.clusters, verdict } };
}

function cloneVerdict(v: VerdictPolicy): VerdictPolicy {
  return { ...v, priors: { ...v.priors }, weights: { ...v.weights } };
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** The strongest judged key's log-odds; keys the gates leave unjudged cannot be confirmed. */
function strongest(keys: readonly KeyCase[], policy: Policy, view: (m: KeyMetrics) => KeyMetrics = (m) => m): number {
  let best = -Infinity;
  for (const { key, metrics } of keys) {
    if (!bigEnough(key, metrics, policy)) continue;
    best = Math.max(best, scoreEvidence(key, view(metrics), policy).logOdds);
  }
  return best;
}

const softplus = (x: number) => (x > 30 ? x : Math.log1p(Math.exp(x)));

function loss(pops: readonly Population[], policy: Policy, anchor: VerdictPolicy): number {
  const c = logit(policy.clusters.verdict.confirmScore);
  const byFamily = new Map<string, { sum: number; n: number }>();
  for (const pop of pops) {
    const z = strongest(pop.keys, policy);
    const l = !Number.isFinite(z) ? (pop.campaign ? 10 : 0) : pop.campaign ? softplus(c + MARGIN - z) : softplus(z - c + MARGIN);
    const f = byFamily.get(pop.family) ?? { sum: 0, n: 0 };
    f.sum += l;
    f.n++;
    byFamily.set(pop.family, f);
  }
  let total = 0;
  for (const f of byFamily.values()) total += f.sum / f.n;
  // The named cases are constraints, not samples: one miss costs as much as a whole family.
  for (const named of NAMED_CASES) {
    const z = strongest(named.keys, policy);
    if (Number.isFinite(z) && !named.limitation) total += named.campaign ? softplus(c + MARGIN - z) : softplus(z - c + MARGIN);
  }
  const v = policy.clusters.verdict;
  for (const p of PARAMS) total += ANCHOR * (p.get(v) - p.get(anchor)) ** 2;
  return total;
}

function fit(pops: readonly Population[]): VerdictPolicy {
  const anchor = cloneVerdict(DEFAULT_POLICY.clusters.verdict);
  const current = cloneVerdict(anchor);
  const m = new Array<number>(PARAMS.length).fill(0);
  const s = new Array<number>(PARAMS.length).fill(0);
  const rate = 0.1;
  const h = 1e-3;
  for (let step = 1; step <= STEPS; step++) {
    const grad = PARAMS.map((p) => {
      const x = p.get(current);
      const up = cloneVerdict(current);
      p.set(up, x + h);
      const down = cloneVerdict(current);
      p.set(down, x - h);
      return (loss(pops, withVerdict(DEFAULT_POLICY, up), anchor) - loss(pops, withVerdict(DEFAULT_POLICY, down), anchor)) / (2 * h);
    });
    PARAMS.forEach((p, i) => {
      const g = grad[i] ?? 0;
      m[i] = 0.9 * (m[i] ?? 0) + 0.1 * g;
      s[i] = 0.999 * (s[i] ?? 0) + 0.001 * g * g;
      const mHat = (m[i] ?? 0) / (1 - 0.9 ** step);
      const sHat = (s[i] ?? 0) / (1 - 0.999 ** step);
      p.set(current, Math.min(p.hi, Math.max(p.lo, p.get(current) - (rate * mHat) / (Math.sqrt(sHat) + 1e-8))));
    });
    if (step % 20 === 0) console.error(`step ${step}: loss ${loss(pops, withVerdict(DEFAULT_POLICY, current), anchor).toFixed(4)}`);
  }
  return current;
}

type Outcome = { verdict: Verdict; score: number; key: string };

/** The population's strongest verdict: what happens to it. */
function outcome(keys: readonly KeyCase[], policy: Policy, view: (m: KeyMetrics) => KeyMetrics = (m) => m): Outcome {
  const rank = { none: 0, suspect: 1, confirmed: 2 };
  let best: Outcome = { verdict: "none", score: 0, key: "-" };
  for (const { key, metrics } of keys) {
    const r = judgeKey(key, view(metrics), policy);
    if (rank[r.verdict] > rank[best.verdict] || (r.verdict === best.verdict && r.score > best.score)) best = { verdict: r.verdict, score: r.score, key };
  }
  return best;
}

function familyTable(pops: readonly Population[], policy: Policy): string[] {
  const lines = [
    "| family | split | populations | confirmed | suspect | none | confirmed, root today | confirmed, two-of-three rule |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const families = [...new Set(pops.map((p) => p.family))];
  for (const family of families) {
    const of = pops.filter((p) => p.family === family);
    const counts = { none: 0, suspect: 0, confirmed: 0 };
    let today = 0;
    let old = 0;
    for (const pop of of) {
      counts[outcome(pop.keys, policy).verdict]++;
      if (outcome(pop.keys, policy, rootToday).verdict === "confirmed") today++;
      if (twoOfThree(pop.keys, policy) === "confirmed") old++;
    }
    const pct = (n: number) => `${((100 * n) / of.length).toFixed(0)} %`;
    lines.push(
      `| ${family} | ${of[0]?.split} | ${of.length} | ${pct(counts.confirmed)} | ${pct(counts.suspect)} | ${pct(counts.none)} | ${pct(today)} | ${pct(old)} |`,
    );
  }
  return lines;
}

function kindOf(key: string): string {
  return key.slice(0, key.indexOf(":"));
}

/** What the rule before the score said: suspect on one of synchrony / template / elicitation, confirmed on two. */
function twoOfThree(keys: readonly KeyCase[], policy: Policy): Verdict {
  const rules = policy.clusters;
  let best: Verdict = "none";
  for (const { key, metrics: m } of keys) {
    if (rules.allowlist.includes(key) || m.accounts < rules.minAccounts || m.requestsPerWindow < rules.minRequestsPerWindow) continue;
    const n = [m.synchrony >= rules.synchronyThreshold, m.templateShare >= rules.templateConcentration, m.elicitationShare >= rules.elicitationShare].filter(Boolean).length;
    if (n >= 2) return "confirmed";
    if (n === 1) best = "suspect";
  }
  return best;
}

function namedTable(policy: Policy): string[] {
  const lines = [
    "| case | campaign | all evidence | without volume | root today | two-of-three rule | note |",
    "|---|---|---|---|---|---|---|",
  ];
  const cell = (o: Outcome) => `${o.score.toFixed(3)} ${o.verdict} (${o.key === "-" ? "-" : kindOf(o.key)})`;
  for (const named of NAMED_CASES) {
    lines.push(
      `| ${named.name} | ${named.campaign ? "yes" : "no"} | ${cell(outcome(named.keys, policy))} | ${cell(outcome(named.keys, policy, withoutVolume))} | ${cell(outcome(named.keys, policy, rootToday))} | ${twoOfThree(named.keys, policy)} | ${named.limitation ?? ""} |`,
    );
  }
  return lines;
}

/** Problems that make the defaults unacceptable, whatever the loss says. */
function violations(policy: Policy): string[] {
  const problems: string[] = [];
  for (const named of NAMED_CASES) {
    const o = outcome(named.keys, policy);
    if (!named.campaign && !named.limitation && o.verdict === "confirmed") problems.push(`honest case confirmed: ${named.name} (${o.key}, ${o.score.toFixed(3)})`);
  }
  const must = NAMED_CASES[0];
  if (must && outcome(must.keys, policy, withoutVolume).verdict !== "confirmed") problems.push(`must confirm without volume: ${must.name}`);
  // One signal alone, saturated, on the most lenient kind of key with the size gates just met.
  const rules = policy.clusters;
  const floor: KeyMetrics = { accounts: rules.minAccounts, requestsPerWindow: rules.minRequestsPerWindow, synchrony: 0, templateShare: 0, elicitationShare: 0, pivotModel: null };
  const singles: Record<string, KeyMetrics> = {
    synchrony: { ...floor, synchrony: 1 },
    template: { ...floor, templateShare: 1 },
    elicitation: { ...floor, elicitationShare: 1 },
    hosting: { ...floor, hostingShare: 1 },
    volume: { ...floor, volumeRatio: 100 },
    model_pivot: { ...floor, pivotModel: "m" },
    payment: { ...floor, paymentsPerAccount: 0.01 },
    new_accounts: { ...floor, newAccountBurst: 1 },
    wrapper: { ...floor, wrapperShare: 1 },
    client: { ...floor, clientHomogeneity: 1 },
    accounts: { ...floor, accounts: 1_000_000 },
    requests: { ...floor, requestsPerWindow: 1_000_000 },
    pooled: { ...floor, memberShare: 0.05 },
    campaign_members: { ...floor, campaignMemberShare: 1 },
  };
  for (const [name, metrics] of Object.entries(singles)) {
    const r = judgeKey("system:any", metrics, policy);
    if (r.verdict === "confirmed") problems.push(`one signal confirms a system key: ${name} (${r.score.toFixed(3)})`);
  }
  return problems;
}

function main(): void {
  const args = new Set(process.argv.slice(2));
  const pops = populations(SEED, PER_FAMILY);
  const tune = pops.filter((p) => p.split === "tune");
  if (args.has("--fit")) {
    const fitted = fit(tune);
    console.log("## fitted (tuning families only), rounded to 0.1\n");
    for (const p of PARAMS) {
      const before = p.get(DEFAULT_POLICY.clusters.verdict);
      const after = Math.round(p.get(fitted) * 10) / 10;
      console.log(`${p.name.padEnd(24)} ${before.toFixed(1).padStart(6)} -> ${after.toFixed(1).padStart(6)}`);
    }
    const fittedPolicy = withVerdict(DEFAULT_POLICY, fitted);
    console.log("\n## fitted policy, by family\n");
    console.log(familyTable(pops, fittedPolicy).join("\n"));
    console.log(`\nfitted policy violations: ${violations(fittedPolicy).join("; ") || "none"}\n`);
  }
  console.log("## default policy, by family (seed %d, %d populations each)\n", SEED, PER_FAMILY);
  console.log(familyTable(pops, DEFAULT_POLICY).join("\n"));
  console.log("\n## default policy, named cases (strongest key's score, verdict and kind)\n");
  console.log(namedTable(DEFAULT_POLICY).join("\n"));
  const problems = violations(DEFAULT_POLICY);
  console.log(`\nviolations: ${problems.join("; ") || "none"}`);
  if (args.has("--check") && problems.length > 0) process.exit(1);
}

main();
