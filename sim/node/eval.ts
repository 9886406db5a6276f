/**
 * Detection judged on campaign families, tuning and held-out alike.
 *
 *   npm run eval:detection -- [--quick] [--split tune|heldout] [--family NAME[,NAME…]] [--seed N | --seeds N,M…] [--out file.jsonl] [--list]
 *                             [--compression 5|2.5|2|1.25|1] [--pace adapt|fixed]
 *   npm run eval:detection -- --merge a.jsonl,b.jsonl [--out file.jsonl]
 *
 * Each campaign family runs beside the honest families of its split, through
 * a self-contained gateway (Miniflare, sim/node/targets.ts) with the default
 * policy (plus the operator facts a family states, such as a denied country).
 * One JSON line per family on stdout (sim/detection.ts defines the fields),
 * then a summary line with both splits against issue 17's targets. With
 * `--seeds 1,2` every family runs once per seed (seed by seed, each with its
 * lines and summary as `--seed` writes them), and a last line
 * `{"summary":true,"acrossSeeds":true,…}` gives per family the worst and the
 * median run (sim/detection.ts acrossSeeds): one run moves a family's served
 * share by ~10 points, so one good draw is not a fix. `--merge` of lines from
 * several seeds writes that line too. Progress
 * goes to stderr. Every run gets a gateway of its own, started from one
 * bundle: families that shared a gateway would share fingerprint keys and move
 * each other's verdicts (sim/families/index.ts).
 *
 * Pace: campaign time runs `--compression` times faster than wall time (5 unless given). A loaded
 * machine falls behind that schedule; the late requests then leave in bunches, which reads as
 * synchrony, and a quiet key's requests per window drop under clusters.minRequestsPerWindow, so a
 * run off schedule measures the machine as much as the gateway. With `--pace adapt` (the default for
 * `--quick` without `--compression`) a family that fell behind makes every later family at least as
 * busy replay at the next slower compression (sim/families/types.ts COMPRESSIONS), down to
 * ADAPT_FLOOR: busy in requests per wall second (at the starting compression) or in accounts
 * (sim/pace.ts), so a 1,500-account fleet that outruns the machine slows the fleets of its size, not
 * the twenty-account ones after it (a quieter family that still falls behind lowers the mark; one that fell less than
 * one report interval behind, sim/pace.ts MARK_LAG_S, is reported off schedule and leaves the pace alone). The summary line names the
 * families that were off schedule either way. A machine loaded by other work stays behind at any
 * pace: the summary says so rather than hiding it.
 *
 * Exits 0 when every family ran (whatever the targets say), 1 on any failure:
 * a gateway that does not start, answers with errors, or overruns its run's deadline.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { TARGETS, acrossSeeds, judgeWithLeaks, leakCauses, summarise, type FamilyResult, type LeakCauses, type LeakSample } from "../detection.ts";
import { campaignFamilies, evalRun, type EvalRunSpec, type Family, type Split } from "../families/index.ts";
import { COMPRESSIONS, slowerCompression } from "../families/types.ts";
import { ADAPT_FLOOR, loadOf, Pace } from "../pace.ts";
import { generate, runTagFrom, type Generated } from "../generate.ts";
import { keysOfRequest, requestFingerprint } from "../keys.ts";
import type { DecisionInfo, VerdictPoll } from "../metrics/index.ts";
import type { ReplayResults } from "../replay.ts";
import { elicitationLandingBar, type Signature } from "../../lib/cluster/verdict.ts";
import { simulationPolicy } from "../policy.ts";
import { realClock, replay } from "../replay.ts";
import type { Policy } from "../../lib/policy/index.ts";
import { adminClient, applyPolicy, clusterPoller, configWriter, createAccounts } from "./admin.ts";
import { buildGatewayBundle, startSelfContained, type GatewayBundle, type Target } from "./targets.ts";

const usage =
  "usage: npm run eval:detection -- [--quick] [--split tune|heldout] [--family NAME[,NAME…]] [--seed N | --seeds N,M…] [--out file.jsonl] [--list]\n" +
  "                                 [--compression 5|2.5|2|1.25|1] [--pace adapt|fixed]   (adapt: slower after a family off schedule; default with --quick)\n" +
  "       npm run eval:detection -- --merge a.jsonl,b.jsonl [--out file.jsonl]   (family lines of earlier runs, one summary over all; across seeds when they differ)";

// Five campaign seconds per wall second keeps every policy time field exact (the report interval of
// 10 s becomes 2 s); faster would round it and misstate time to detect. Slower ones: COMPRESSIONS.
const TIME_COMPRESSION = 5;
// Requests a campaign account is fingerprinted on: its keys vary with content (template bands).
const KEY_SAMPLES_PER_ACCOUNT = 3;
// Transport failures beyond this share make a run meaningless.
const MAX_ERROR_SHARE = 0.01;
// Verdict polls that may fail before a run stops counting.
const MAX_FAILED_POLL_SHARE = 0.1;

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** The keys each campaign account presented, from a few of its campaign requests. */
async function campaignKeys(gen: Generated, spec: EvalRunSpec, policy: Policy): Promise<Map<number, string[]>> {
  const pops = new Set(spec.campaign.map((n) => gen.scenario.populations.findIndex((p) => p.name === n)));
  const seen = new Map<number, number>();
  const out = new Map<number, string[]>();
  let done = 0;
  for (let i = 0; i < gen.schedule.count; i++) {
    if (gen.schedule.attack[i] !== 1) continue;
    const a = gen.schedule.account[i] ?? 0;
    if (!pops.has(gen.accounts[a]?.population ?? -1)) continue;
    const n = seen.get(a) ?? 0;
    if (n >= KEY_SAMPLES_PER_ACCOUNT) continue;
    seen.set(a, n + 1);
    out.set(a, [...new Set([...(out.get(a) ?? []), ...(await keysOfRequest(gen, i, policy))])]);
    // Resolved awaits never yield to I/O: let the replay's sockets breathe now and then.
    if (++done % 128 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return out;
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

type Running = { target: Target | null };

// Keys the diagnostic looks at (the largest by accounts) and reports (the highest scores among them, and
// the highest of those the campaign did not present).
const DIAGNOSTIC_CANDIDATES = 60;
const DIAGNOSTIC_TOP = 5;
const DIAGNOSTIC_HONEST = 3;
const DIAGNOSTIC_READS = 6;

/** `work` on every item, at most `limit` at once. */
async function eachAtMost<T>(limit: number, items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  // One iterator shared by the workers: each next() hands out an item no other worker gets.
  const queue = items.values();
  const worker = async () => {
    for (const item of queue) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export type DiagnosticKey = {
  key: string;
  kind: string;
  accounts: number;
  /** Whether campaign accounts presented this key (the campaign's key, or one it shares with honest customers). */
  campaign: boolean;
  verdict: string;
  score: number | null;
  evidence: { evidence: string; value: number | null; points: number }[];
};

/**
 * The keys with the highest scores at the end of a tuning family's run, as their roots last judged
 * them: what the score saw, for tuning. Held-out families get none, so that nothing is fitted on them.
 */
async function diagnostic(target: Target, policy: Policy, campaignKeySet: ReadonlySet<string>): Promise<DiagnosticKey[]> {
  const inspect = target.inspectRoot;
  if (!inspect) return [];
  const res = await adminClient(target)("GET", `/admin/clusters?type=key&sort=size&limit=${DIAGNOSTIC_CANDIDATES}`);
  if (res.status !== 200) throw new Error(`GET /admin/clusters for the diagnostic: ${res.status}`);
  const listed = ((res.json as { clusters?: { id: string; kind: string | null }[] }).clusters ?? []).map((c) => c.id);
  // A few roots at a time: one after another, the sixty reads were most of a tuning family's wind-down.
  const keys: DiagnosticKey[] = [];
  await eachAtMost(DIAGNOSTIC_READS, listed, async (key) => {
    const root = await inspect(key, policy);
    keys.push({
      key,
      kind: key.slice(0, Math.max(0, key.indexOf(":"))),
      accounts: Math.round(root.accounts),
      campaign: campaignKeySet.has(key),
      verdict: root.verdict,
      score: root.score === null ? null : Math.round(root.score * 1000) / 1000,
      evidence: root.evidence.filter((e) => e.value !== null).map((e) => ({ evidence: e.evidence, value: e.value === null ? null : Math.round(e.value * 1000) / 1000, points: e.points })),
    });
  });
  // Ties by key: the parallel reads finish in any order.
  keys.sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || a.key.localeCompare(b.key));
  // The honest side's strongest keys too: the margin a change leaves them is what it costs.
  return [...keys.slice(0, DIAGNOSTIC_TOP), ...keys.slice(DIAGNOSTIC_TOP).filter((k) => !k.campaign).slice(0, DIAGNOSTIC_HONEST)];
}

/**
 * Why each campaign request served undegraded after detection got through (sim/detection.ts
 * leakCauses), from the keys the gateway computed for it, its decision and the confirmed keys'
 * signatures as their roots hold them at the end. Tuning families only, like the diagnostic.
 */
async function leakDiagnostic(
  target: Target,
  gen: Generated,
  policy: Policy,
  results: ReplayResults,
  polls: readonly VerdictPoll[],
  leaked: readonly { i: number; first: boolean }[],
  decisions: ReadonlyMap<string, DecisionInfo>,
  accountKeys: ReadonlyMap<number, readonly string[]>,
): Promise<LeakCauses> {
  // When each account first sent, and when a verdict on each key first applied to any request.
  const firstSent = new Map<number, number>();
  const firstLanded = new Map<string, number>();
  for (let i = 0; i < results.count; i++) {
    const at = results.sentAt[i] ?? 0;
    const account = gen.schedule.account[i] ?? 0;
    firstSent.set(account, Math.min(firstSent.get(account) ?? Number.POSITIVE_INFINITY, at));
    const id = results.requestIds[i];
    for (const key of (id ? decisions.get(id)?.clusters : undefined) ?? []) firstLanded.set(key, Math.min(firstLanded.get(key) ?? Number.POSITIVE_INFINITY, at));
  }
  const samples: LeakSample[] = [];
  const firstAfterDetect = new Set<number>();
  for (const { i, first } of leaked) {
    const fp = await requestFingerprint(gen, i, policy);
    const id = results.requestIds[i];
    const at = results.sentAt[i] ?? 0;
    const account = gen.schedule.account[i] ?? 0;
    if (first) firstAfterDetect.add(samples.length);
    samples.push({ at, account, ...fp, decision: id ? decisions.get(id) : undefined, sentBefore: (firstSent.get(account) ?? at) < at });
    if (samples.length % 128 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const confirmed = new Set(polls.flatMap((p) => p.confirmed));
  const signatures = new Map<string, Signature>();
  const inspect = target.inspectRoot;
  if (inspect) {
    for (const key of new Set(samples.flatMap((s) => s.keys))) {
      if (!confirmed.has(key)) continue;
      const signature = (await inspect(key, policy)).signature;
      if (signature) signatures.set(key, signature);
    }
  }
  return leakCauses({
    samples,
    polls,
    signatures,
    landsAt: elicitationLandingBar(policy, []),
    timeCompression: gen.scenario.timeCompression,
    firstAfterDetect,
    firstLanded,
    accountKeys,
  });
}

type OrdinaryTouched = { touched: number; reasons: Record<string, number>; elicitation: { atLeastLanding: number; below: number } };

/**
 * Why a reseller's ordinary customers were touched (refused, or degraded by an enforced decision): the
 * gateway's reasons on those requests and how surely each elicited, so a landing rule that reaches
 * past the campaign's requests shows which. Tuning families only, like the diagnostic; null when the
 * family has no ordinary customers or none was touched.
 */
async function ordinaryDiagnostic(
  gen: Generated,
  spec: EvalRunSpec,
  policy: Policy,
  results: ReplayResults,
  decisions: ReadonlyMap<string, DecisionInfo>,
): Promise<OrdinaryTouched | null> {
  const pops = new Set(spec.campaign.map((n) => gen.scenario.populations.findIndex((p) => p.name === n)));
  const landsAt = elicitationLandingBar(policy, []);
  const reasons = new Map<string, number>();
  const elicitation = { atLeastLanding: 0, below: 0 };
  let touched = 0;
  for (let i = 0; i < results.count; i++) {
    if (gen.schedule.attack[i] === 1 || !pops.has(gen.accounts[gen.schedule.account[i] ?? 0]?.population ?? -1)) continue;
    const status = results.status[i] ?? 0;
    const id = results.requestIds[i];
    const d = id ? decisions.get(id) : undefined;
    const degraded = status === 200 && d !== undefined && d.enforced && d.action === "degrade";
    if (!degraded && status !== 429 && status !== 403) continue;
    touched++;
    for (const r of d?.reasons ?? []) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const fp = await requestFingerprint(gen, i, policy);
    if (fp.elicitation >= landsAt) elicitation.atLeastLanding++;
    else elicitation.below++;
  }
  if (touched === 0) return null;
  return { touched, reasons: Object.fromEntries([...reasons].sort((a, b) => b[1] - a[1])), elicitation };
}

async function runFamily(
  family: Family,
  spec: EvalRunSpec,
  bundle: GatewayBundle,
  running: Running,
  evalSeed: number,
): Promise<FamilyResult & { diagnostic?: DiagnosticKey[]; leaks?: LeakCauses; ordinaryTouched?: OrdinaryTouched }> {
  const { scenario } = spec;
  const gen = await generate(scenario, runTagFrom(Date.now(), `${process.pid}:${family.name}`));
  const sim = simulationPolicy(gen);
  const keysPromise = campaignKeys(gen, spec, sim.policy);
  const s0 = performance.now();
  const target = await startSelfContained(scenario.concurrency + 8, undefined, bundle);
  running.target = target;
  const admin = adminClient(target);
  const configure = configWriter(target);
  await applyPolicy(configure, target, sim.document);
  const s1 = performance.now();
  await createAccounts(configure, gen);
  const s2 = performance.now();
  const polls: VerdictPoll[] = [];
  const factor = scenario.timeCompression;
  const results = await replay(gen, {
    transport: target.gateway.transport,
    clock: realClock,
    concurrency: scenario.concurrency,
    tasks: [
      { name: "cron linker", everyMs: (scenario.linkerEverySeconds / factor) * 1000, run: async () => void (await target.runCron()) },
      { name: "GET /admin/clusters", everyMs: (scenario.clusterPollSeconds / factor) * 1000, run: clusterPoller(admin, polls) },
    ],
  });
  await clusterPoller(admin, polls)(results.wallMs);
  log(`  gateway up in ${((s1 - s0) / 1000).toFixed(1)} s, ${gen.accounts.length} accounts in ${((s2 - s1) / 1000).toFixed(1)} s, ${results.count} requests in ${(results.wallMs / 1000).toFixed(1)} s (at most ${(results.maxLagMs / 1000).toFixed(1)} s behind)`);
  const pollStats = results.tasks["GET /admin/clusters"];
  const failedPolls = pollStats?.failures ?? 0;
  // A loaded machine resets the odd connection: a missed poll only coarsens time to detect by one period.
  if (failedPolls > MAX_FAILED_POLL_SHARE * Math.max(1, pollStats?.runs ?? 0)) {
    throw new Error(`${family.name}: ${failedPolls} verdict polls failed: ${pollStats?.lastError ?? ""}`);
  }
  if (failedPolls > 0) log(`  warning: ${failedPolls} of ${pollStats?.runs ?? 0} verdict polls failed (${pollStats?.lastError ?? ""}); detection times are coarser by as many poll periods`);
  if (results.transportErrors > MAX_ERROR_SHARE * results.count) {
    throw new Error(`${family.name}: ${results.transportErrors} of ${results.count} requests failed in transport; first: ${results.firstTransportError ?? ""}`);
  }
  const accountKeys = await keysPromise;
  const diag = family.split === "tune" ? await diagnostic(target, sim.policy, new Set([...accountKeys.values()].flat())) : undefined;
  const decisions = target.decisions ?? new Map<string, DecisionInfo>();
  const { result, leaked } = judgeWithLeaks({
    gen,
    results,
    polls,
    split: family.split,
    family: family.name,
    campaign: spec.campaign,
    honest: spec.honest,
    accountKeys,
    decisions,
    degradeMaxTokens: sim.policy.degrade.maxTokens,
    evalSeed,
  });
  const errors = result.campaign.errors + result.honest.errors;
  if (errors > MAX_ERROR_SHARE * results.count) {
    throw new Error(`${family.name}: ${errors} requests answered neither 200 nor 429/403; gateway said: ${target.workerErrors()[0] ?? "nothing"}`);
  }
  if (diag === undefined) return result;
  const ordinary = await ordinaryDiagnostic(gen, spec, sim.policy, results, decisions);
  return {
    ...result,
    diagnostic: diag,
    leaks: await leakDiagnostic(target, gen, sim.policy, results, polls, leaked, decisions, accountKeys),
    ...(ordinary ? { ordinaryTouched: ordinary } : {}),
  };
}

/** --family takes one name or several, comma-separated. */
/** The families whose replay fell behind its schedule: they bunched their requests, so their times and verdicts say as much about the machine. */
function offScheduleOf(lines: readonly FamilyResult[]): { family: string; maxLagSeconds: number; timeCompression: number }[] {
  return lines.filter((r) => !r.run.onSchedule).map((r) => ({ family: r.family, maxLagSeconds: r.run.maxLagSeconds, timeCompression: r.run.timeCompression }));
}

function selectFamilies(split: string | undefined, names: string | undefined): Family[] {
  if (split !== undefined && split !== "tune" && split !== "heldout") throw new Error(`--split: tune or heldout, not ${split}`);
  const wanted = names?.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const pool = campaignFamilies(split as Split | undefined);
  for (const name of wanted ?? []) {
    if (!pool.some((f) => f.name === name)) throw new Error(`no campaign family ${name}${split ? ` in --split ${split}` : ""}; --list shows them`);
  }
  return pool.filter((f) => wanted === undefined || wanted.includes(f.name));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      split: { type: "string" },
      family: { type: "string" },
      seed: { type: "string", default: "1" },
      seeds: { type: "string" },
      out: { type: "string" },
      list: { type: "boolean", default: false },
      merge: { type: "string" },
      compression: { type: "string" },
      pace: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const seeds = parseSeeds(values.seeds ?? values.seed);
  const families = selectFamilies(values.split, values.family);
  const startCompression = values.compression === undefined ? TIME_COMPRESSION : Number(values.compression);
  if (!(COMPRESSIONS as readonly number[]).includes(startCompression)) {
    throw new Error(`--compression: one of ${COMPRESSIONS.join(", ")} (each keeps the policy's time fields whole), not ${values.compression}`);
  }
  const pace = values.pace ?? (values.quick && values.compression === undefined ? "adapt" : "fixed");
  if (pace !== "adapt" && pace !== "fixed") throw new Error(`--pace: adapt or fixed, not ${values.pace}`);
  if (values.list) {
    for (const f of families) console.log(JSON.stringify({ family: f.name, split: f.split, description: f.description, varies: f.varies }));
    return 0;
  }
  const quick = values.quick;
  const out = values.out;
  if (out) writeFileSync(out, "");
  const emit = (line: unknown) => {
    const text = JSON.stringify(line);
    console.log(text);
    if (out) appendFileSync(out, `${text}\n`);
  };
  if (values.merge !== undefined) {
    // Runs split in parts (a busy machine, one split at a time) judged as one: their family lines, one summary.
    const lines = values.merge.split(",").flatMap((file) => familyLines(readFileSync(file.trim(), "utf8")));
    for (const line of lines) emit(line);
    const merged = summarise(lines);
    emit({ summary: true, merged: true, families: lines.length, targets: TARGETS, tune: merged.tune, heldout: merged.heldout, pass: merged.heldout.pass.all, offSchedule: offScheduleOf(lines) });
    // Lines written before `evalSeed` carry only each scenario's own seed: several runs of one family is what says "several seeds".
    if (new Set(lines.map((l) => l.family)).size < lines.length) emit(acrossSeedsLine(lines));
    return 0;
  }

  const t0 = performance.now();
  log(`eval:detection: ${families.length} campaign families, ${quick ? "quick" : "full"}, seed${seeds.length > 1 ? "s" : ""} ${seeds.join(", ")}, compression ${startCompression} (${pace}); building the gateway bundle…`);
  const bundle = buildGatewayBundle();
  const running: Running = { target: null };
  const interrupt = () => {
    // Miniflare's own exit hook may end the process before an await returns: remove what is ours first.
    bundle.remove();
    void (running.target?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  const all: FamilyResult[] = [];
  // The pace carries over from one seed to the next: a machine that was busy for one seed still is.
  const paced = new Pace(startCompression, pace === "adapt");
  try {
    for (const seed of seeds) {
      const s0 = performance.now();
      const results: FamilyResult[] = [];
      const used = new Set<number>();
      for (const family of families) {
        const compression = paced.compressionFor(loadOf(evalRun(family, { seed, quick, timeCompression: startCompression })));
        used.add(compression);
        const spec = evalRun(family, { seed, quick, timeCompression: compression });
        const f0 = performance.now();
        const wallS = spec.scenario.durationSeconds / spec.scenario.timeCompression;
        log(`· ${family.name} (${family.split}, seed ${seed}): ${wallS.toFixed(0)} s of replay…`);
        // A stuck gateway must end the run, not hold it: three times the schedule plus two minutes of setup.
        const result = await withDeadline(runFamily(family, spec, bundle, running, seed), (3 * wallS + 120) * 1000, family.name);
        await running.target?.close();
        running.target = null;
        results.push(result);
        emit(result);
        log(`  done in ${((performance.now() - f0) / 1000).toFixed(1)} s: detected ${result.detectedWithinS ?? "never"} s, served after ${result.attackServedAfterDetect ?? "–"}, honest touched ${result.honestTouched}`);
        if (!result.run.onSchedule) {
          log(`  warning: the replay fell ${result.run.maxLagSeconds} s behind its schedule (a busy machine?): this family's times are squeezed`);
          if (paced.fellBehind(loadOf(spec), compression, result.run.maxLagSeconds * compression) && paced.mark) {
            const { requestsPerSecond, accounts } = paced.mark;
            log(`  pace: families of ${requestsPerSecond.toFixed(0)} requests per wall second (at ${startCompression}) or ${accounts} accounts or more replay at ${Math.max(ADAPT_FLOOR, slowerCompression(startCompression))}`);
          }
        }
      }
      all.push(...results);
      const split = summarise(results);
      emit({
        summary: true,
        quick,
        seed,
        families: results.length,
        wallSeconds: Math.round((performance.now() - s0) / 100) / 10,
        targets: TARGETS,
        tune: split.tune,
        heldout: split.heldout,
        pass: split.heldout.pass.all,
        pace: { mode: pace, compressions: [...used].sort((a, b) => b - a), slowerFrom: paced.mark },
        offSchedule: offScheduleOf(results),
        batching: "one self-contained gateway per campaign family (fresh state, one shared bundle): families share fingerprint keys and would move each other's verdicts",
      });
    }
  } finally {
    await running.target?.close().catch(() => undefined);
    bundle.remove();
  }
  if (seeds.length > 1) emit({ ...acrossSeedsLine(all), wallSeconds: Math.round((performance.now() - t0) / 100) / 10 });
  return 0;
}

/**
 * The family lines of one earlier run's output. A line written before lines carried their run's seed
 * takes it from its run's summary line, so that runs of several seeds can be merged and told apart.
 */
function familyLines(text: string): FamilyResult[] {
  const parsed = text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as FamilyResult & { summary?: boolean; seed?: unknown; acrossSeeds?: boolean });
  const out: FamilyResult[] = [];
  let waiting: FamilyResult[] = [];
  for (const line of parsed) {
    if (line.summary !== true) {
      waiting.push(line);
      continue;
    }
    const seed = line.seed;
    if (typeof seed === "number") for (const l of waiting) if (l.run.evalSeed === undefined) l.run.evalSeed = seed;
    out.push(...waiting);
    waiting = [];
  }
  return [...out, ...waiting];
}

/** `--seed N` or `--seeds N,M,…`: distinct non-negative integers, in the order given. */
function parseSeeds(text: string): number[] {
  const seeds = text.split(",").map((t) => t.trim()).filter((t) => t !== "").map(Number);
  if (seeds.length === 0 || seeds.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`--seed/--seeds: non-negative integers, comma-separated, not ${text}`);
  if (new Set(seeds).size !== seeds.length) throw new Error(`--seeds: each seed once, not ${text}`);
  return seeds;
}

/** The last line of a run over several seeds (or of a merge of such runs): the families' worst and median runs. */
function acrossSeedsLine(lines: readonly FamilyResult[]) {
  const across = acrossSeeds(lines);
  return {
    summary: true,
    acrossSeeds: true,
    seeds: [...new Set(lines.map((l) => l.run.evalSeed ?? l.run.seed))].sort((a, b) => a - b),
    targets: TARGETS,
    tune: across.tune,
    heldout: across.heldout,
    pass: across.heldout.pass.everySeed,
    families: across.families,
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`eval:detection failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
