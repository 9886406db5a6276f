/**
 * The campaign simulator's command line.
 *
 *   npm run simulate -- <scenario.json> [--gateway http://127.0.0.1:8787] [--origin http://127.0.0.1:8788]
 *                       [--admin-token TOKEN] [--out reports/<scenario name>] [--inspect-port 9229] [--repeat N]
 *
 * Without --gateway it is self-contained (demo origin + Miniflare, nothing to
 * start first). It writes report.json, report.html and leakage.svg to --out,
 * prints the headline numbers, shows progress on stderr, and exits by itself.
 * --inspect-port opens the self-contained gateway's V8 inspector, to profile it under load.
 * --repeat N runs the scenario N times with seeds seed, seed+1, …, each run's report in
 * --out/seed-<seed>/, and writes repeat.json and repeat.html: min, median and max of the
 * headline figures, the run-to-run spread a single run hides.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generate, runTagFrom, type Generated } from "../generate.ts";
import { keyOwners, keysByAccount } from "../keys.ts";
import { buildReport, headlineFigures, spread, type EvidenceReport, type Report, type RunInfo, type VerdictPoll } from "../metrics/index.ts";
import { doLoadModel } from "../model.ts";
import { measureOverhead, type OverheadResult } from "../overhead.ts";
import { simulationPolicy } from "../policy.ts";
import { realClock, replay, type PeriodicTask, type Progress } from "../replay.ts";
import { headline, leakageChart, renderHtml, renderRepeatHtml, summaryParagraph } from "../report.ts";
import { parseScenario, type Scenario } from "../scenario.ts";
import { adminClient, applyPolicy, clusterPoller, collectEvidence, configWriter, createAccounts, type Admin } from "./admin.ts";
import { connectGateway, localAdminToken, startSelfContained, type Target } from "./targets.ts";

const usage = `usage: npm run simulate -- <scenario.json> [--gateway URL] [--origin URL] [--admin-token TOKEN] [--out DIR] [--inspect-port PORT] [--repeat N]`;

// Enough runs for a median and a spread; beyond this a repeat belongs in a batch job, not a terminal.
const MAX_REPEAT = 20;

function repeatCount(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPEAT) throw new Error(`--repeat: a whole number from 1 to ${MAX_REPEAT}, not ${value}`);
  return n;
}

/** --inspect-port: the self-contained gateway's V8 inspector (CPU profiles with Chrome DevTools), off by default. */
function inspectPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`--inspect-port: not a port: ${value}`);
  return port;
}

// ─────────────────────────────── progress on stderr ───────────────────────────────

const tty = process.stderr.isTTY === true;
let lastLine = 0;

function progress(text: string, force = false): void {
  const now = Date.now();
  // Not a terminal (CI, a log file): one line every 10 s instead of a redrawn bar.
  if (!force && now - lastLine < (tty ? 200 : 10_000)) return;
  lastLine = now;
  process.stderr.write(tty ? `\r${text.padEnd(110).slice(0, 110)}` : `${text}\n`);
}

function endProgress(): void {
  if (tty) process.stderr.write("\n");
}

function bar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

function replayLine(gen: Generated, p: Progress): string {
  // Where the schedule has got to: wall time minus the lag, on the campaign clock.
  const campaign = (Math.max(0, p.elapsedMs - p.lagMs) * gen.scenario.timeCompression) / 1000;
  const rate = p.elapsedMs > 0 ? (p.done / p.elapsedMs) * 1000 : 0;
  return `replay ${bar(p.done, p.total)} ${p.done}/${p.total} · ${rate.toFixed(0)} req/s · in flight ${p.inFlight} · campaign t+${(campaign / 60).toFixed(1)} min · lag ${(p.lagMs / 1000).toFixed(1)} s`;
}

// ─────────────────────────────────── steps ───────────────────────────────────

async function overhead(admin: Admin, target: Target, gen: Generated): Promise<OverheadResult | null> {
  const spec = gen.scenario.overhead;
  if (spec === false || target.bare === null) return null;
  const key = `sk-sim-${gen.runTag}-overhead-bench-key`;
  const res = await admin("PUT", `/admin/accounts/sim-${gen.runTag}-overhead`, { keys: [key], tier: "enterprise", verified: true, billingCountry: "US" });
  if (res.status !== 200 && res.status !== 201) throw new Error(`overhead account: ${res.status} ${res.text}`);
  const body = JSON.stringify({ model: "demo-model-1", max_tokens: 64, messages: [{ role: "user", content: "What is the capital of France?" }] });
  const common = { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-demo-events": "8" };
  const cf = JSON.stringify({ country: "US", asn: 7922, colo: "IAD", tlsVersion: "TLSv1.3", httpProtocol: "HTTP/1.1" });
  const bare = target.bare;
  progress("measuring gateway overhead against the bare pass-through Worker…", true);
  const result = await measureOverhead(
    async () => (await bare.client.send("POST", "/v1/messages", { ...common, ...bare.headers }, body)).status,
    async () => (await target.gateway.send("POST", "/v1/messages", { ...common, "x-api-key": key, "mf-cf-blob": cf, "cf-connecting-ip": "73.1.2.3" }, body)).status,
    spec,
    realClock,
  );
  endProgress();
  return result;
}

/** When each key (or component) was first seen confirmed, in replay ms. */
function firstConfirmed(polls: readonly VerdictPoll[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const poll of [...polls].sort((a, b) => a.atWallMs - b.atWallMs)) {
    for (const key of poll.confirmed) if (!at.has(key)) at.set(key, poll.atWallMs);
  }
  return at;
}

type Options = { gateway: string | undefined; origin: string; adminToken: string | undefined; inspectPort: number | undefined };

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      gateway: { type: "string" },
      origin: { type: "string", default: "http://127.0.0.1:8788" },
      "admin-token": { type: "string" },
      out: { type: "string" },
      "inspect-port": { type: "string" },
      repeat: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const file = positionals[0];
  if (values.help || !file) {
    console.log(usage);
    process.exit(file ? 0 : 2);
  }
  const scenario = parseScenario(JSON.parse(readFileSync(file, "utf8")) as unknown);
  const outDir = resolve(values.out ?? join("reports", scenario.name));
  const options: Options = { gateway: values.gateway, origin: values.origin, adminToken: values["admin-token"], inspectPort: inspectPort(values["inspect-port"]) };
  const repeat = repeatCount(values.repeat);
  if (repeat === 1) {
    await runOnce(scenario, outDir, options);
    return;
  }
  const reports: Report[] = [];
  const seeds: number[] = [];
  const dirs: string[] = [];
  for (let k = 0; k < repeat; k++) {
    const seed = scenario.seed + k;
    const dir = join(outDir, `seed-${seed}`);
    progress(`run ${k + 1} of ${repeat} (seed ${seed})`, true);
    endProgress();
    reports.push(await runOnce({ ...scenario, seed }, dir, options));
    seeds.push(seed);
    dirs.push(`seed-${seed}/report.html`);
  }
  const figures = spread(reports.map(headlineFigures));
  const passes = reports.map((r) => r.verdict.pass);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "repeat.json"), `${JSON.stringify({ scenario: scenario.name, seeds, passes, figures }, null, 2)}\n`);
  writeFileSync(join(outDir, "repeat.html"), renderRepeatHtml(scenario.name, seeds, passes, figures, dirs));
  console.log(`\n${scenario.name} × ${repeat} (seeds ${seeds.join(", ")}): ${passes.filter(Boolean).length} passed`);
  for (const f of figures) {
    const show = (v: number | null) => (v === null ? "–" : f.unit === "share" ? `${(100 * v).toFixed(1)}%` : f.unit === "seconds" ? `${v.toFixed(0)} s` : v.toFixed(0));
    console.log(`  ${f.name.padEnd(48)} min ${show(f.min)}  median ${show(f.median)}  max ${show(f.max)}${f.missing > 0 ? `  (${f.missing} runs without)` : ""}`);
  }
  console.log(`report: ${join(outDir, "repeat.html")}`);
}

/** One run of the scenario; writes its report to outDir and returns it. */
async function runOnce(scenario: Scenario, outDir: string, values: Options): Promise<Report> {
  const startedAt = new Date();
  const t0 = performance.now();
  const gen = await generate(scenario, runTagFrom(startedAt.getTime(), `${process.pid}`));
  const sim = simulationPolicy(gen);
  // Fingerprinting 26k accounts takes a while on Node; it overlaps with setup and replay, which wait on workerd.
  const keysPromise = keysByAccount(gen, sim.policy);
  progress(`${scenario.name}: ${gen.accounts.length} accounts, ${gen.schedule.count} requests, ${scenario.durationSeconds} s of campaign at ${scenario.timeCompression}×`, true);
  endProgress();

  const target = values.gateway
    ? await connectGateway(values.gateway, values.origin, localAdminToken(values.adminToken), scenario.concurrency + 8)
    : await startSelfContained(scenario.concurrency + 8, values.inspectPort);
  // Ctrl-C still removes the Miniflare state (it lives in RAM under /dev/shm) and stops workerd.
  const interrupt = () => {
    endProgress();
    void target.close().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  const admin = adminClient(target);
  const configure = configWriter(target);
  const notes = [...target.notes];
  // A running gateway gets its policy back afterwards (the built-in defaults if it had none in KV).
  let previousPolicy: unknown = null;
  try {
    if (target.mode === "gateway") {
      const current = await admin("GET", "/admin/policy");
      const body = current.json as { fromKv?: boolean; policy?: unknown } | null;
      if (current.status === 200) previousPolicy = body?.fromKv ? body.policy : {};
    }
    notes.push(await applyPolicy(configure, target, sim.document));
    const setupSeconds = (performance.now() - t0) / 1000;

    const a0 = performance.now();
    await createAccounts(configure, gen, (created, total) => progress(`accounts ${bar(created, total)} ${created}/${total}`, created === total));
    endProgress();
    const accountCreateSeconds = (performance.now() - a0) / 1000;

    const overheadResult = await overhead(configure, target, gen);

    const polls: VerdictPoll[] = [];
    const factor = scenario.timeCompression;
    const tasks: PeriodicTask[] = [
      {
        name: "cron linker",
        everyMs: (scenario.linkerEverySeconds / factor) * 1000,
        run: async () => {
          await target.runCron();
        },
      },
      { name: "GET /admin/clusters", everyMs: (scenario.clusterPollSeconds / factor) * 1000, run: clusterPoller(admin, polls) },
    ];
    const results = await replay(gen, {
      transport: target.gateway.transport,
      clock: realClock,
      concurrency: scenario.concurrency,
      tasks,
      onProgress: (p) => progress(replayLine(gen, p), p.done === p.total),
    });
    endProgress();
    await clusterPoller(admin, polls)(results.wallMs).catch((err: unknown) => notes.push(`final cluster poll failed: ${String(err)}`));

    progress("computing the report (fingerprints per account, DO load model)…", true);
    endProgress();
    const keys = await keysPromise;
    const owners = keyOwners(gen, keys);
    const evidence: EvidenceReport = await collectEvidence(
      admin,
      owners,
      scenario.populations.map((p) => p.name),
      new Map(gen.accounts.map((a) => [a.id, a.population])),
    ).catch((err: unknown) => ({
      byPopulation: [],
      indicators: null,
      note: `collecting the evidence failed: ${String(err)}`,
    }));
    const errors = target.workerErrors();
    if (errors.length > 0) notes.push(`gateway logged ${errors.length}+ errors/warnings; first: ${errors[0] ?? ""}`);
    const run: RunInfo = {
      mode: target.mode,
      gateway: target.gatewayUrl,
      startedAt: startedAt.toISOString(),
      setupSeconds,
      accountsCreated: gen.accounts.length,
      accountCreateSeconds,
      notes,
    };
    const report = buildReport({
      gen,
      results,
      policy: sim.policy,
      scaled: sim.scaled,
      policyDocument: sim.document,
      polls,
      keyOwners: owners,
      doLoad: doLoadModel(gen, results, sim.policy, keys, firstConfirmed(polls)),
      overhead: overheadResult,
      decisions: target.decisions,
      evidence,
      run,
    });
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(outDir, "report.html"), renderHtml(report));
    writeFileSync(join(outDir, "leakage.svg"), `${leakageChart(report)}\n`);
    console.log(`\n${scenario.name}: ${results.count} requests in ${(results.wallMs / 1000).toFixed(1)} s (total ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    console.log(summaryParagraph(report));
    for (const h of headline(report)) console.log(`  ${h.label.padEnd(58)} ${h.value}  (${h.note})`);
    console.log(`report: ${join(outDir, "report.html")}\n        ${join(outDir, "report.json")}`);
    return report;
  } finally {
    process.removeListener("SIGINT", interrupt);
    process.removeListener("SIGTERM", interrupt);
    if (previousPolicy !== null) {
      await admin("PUT", "/admin/policy", previousPolicy).catch(() => undefined);
    }
    await target.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    endProgress();
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
