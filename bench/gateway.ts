// Benchmark: the gateway (policy → identity → fingerprint → region → admit → forward → settle)
// against a bare pass-through Worker, in one run, both behind the same demo origin.
//
//   npx tsx bench/gateway.ts            (from the repo root; Node 22)
//
// Bundles the gateway with esbuild, runs it and the bare Worker in Miniflare 4 (local workerd,
// in-memory KV / D1 / SQLite DOs, loopback only), seeds accounts through the admin API, and
// drives both with 16 concurrent clients (and with one, for latency) over a bounded number of requests. Each case
// runs in several short segments, the cases interleaved (A-B-C-C-B-A, repeated), so a load that comes and goes on a
// shared machine falls on the gateway and on the bare Worker alike. Besides wall-clock rates, each row has the CPU
// the workerd process spent per request (Linux: /proc), which other load on the machine does not change much.
//
// Object calls, rows written and cost are counted twice. Over the segments (the `do_*` fields and
// `usd_per_million_requests`), with everything the segments leave running (allowances ending, what the
// account objects write behind): in a segment each of sixteen accounts sends about one allowance's worth,
// so those figures carry every account's per-burst costs (a grant, a renewal, a report sent alone, the
// alarms) over a few dozen requests. And at steady state (the `steady_*` fields): the same accounts, once
// that has all ended, sending without a break for `steadySeconds` after a lead-in, counted only within that stretch, which
// holds several report intervals and, on average, one write-behind per account: the per-request cost of
// an account in continuous use.
// Prints one JSON line per case and returns them.
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startDemoOrigin } from "../demo-origin/server.ts";
import { WRITE_BEHIND_DELAY_MS } from "../lib/account-alarm.ts";
import type { DoCalls, RowSources } from "./gateway/counts.ts";
import { GATEWAY_OBJECTS, percentile, quietRuntimeStdio, round, runIfMain, seedBenchGateway, workerdBinary, workerdCpuClock, WORKER_BUNDLE_OPTIONS, WORKER_MODULE_RULES } from "./harness.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

export type GatewayBenchOptions = {
  /** Requests per case at 16 clients (a quarter of it at one client), split over the rounds. */
  requests?: number;
  /** Segments per case: the cases run interleaved this many times, every other round in reverse order. */
  rounds?: number;
  clients?: number;
  warmup?: number;
  /** Accounts in the many-accounts case (= distinct AccountDOs). */
  accounts?: number;
  /** Length of each counted case's steady-state stretch, after `leadInSeconds` of the same traffic. */
  steadySeconds?: number;
  leadInSeconds?: number;
};

/**
 * Cloudflare's list prices on Workers Paid, as issue #20 quotes them from the pricing pages
 * (developers.cloudflare.com/workers/platform/pricing, …/durable-objects/platform/pricing): a Worker
 * request, a Durable Object request (every RPC call and every alarm is one), a SQLite row written by a
 * Durable Object (billed as for D1). Included monthly allowances are left out: at a provider's volume
 * they are noise. Not counted: the cluster collectors' own calls and rows (per interval, not per request).
 */
export const USD_PER_MILLION = { workerRequest: 0.3, durableObjectRequest: 0.15, sqliteRowWritten: 1.0 } as const;

/** What a million gateway requests cost at list prices, from the per-request figures. */
export function usdPerMillionRequests(doRequestsPerRequest: number, rowsWrittenPerRequest: number): number {
  return USD_PER_MILLION.workerRequest + doRequestsPerRequest * USD_PER_MILLION.durableObjectRequest + rowsWrittenPerRequest * USD_PER_MILLION.sqliteRowWritten;
}

/** The billed object requests among the counts, by kind. */
function callsOf(c: DoCalls): Record<"admit" | "renew" | "settle" | "reconcile" | "alarm", number> {
  return { admit: c.admit, renew: c.renew, settle: c.settle, reconcile: c.reconcile, alarm: c.alarm };
}

/** What the objects counted between two reads (in flight: as at the second). */
function doCallsSince(start: DoCalls, end: DoCalls): DoCalls {
  return {
    admit: end.admit - start.admit,
    renew: end.renew - start.renew,
    settle: end.settle - start.settle,
    reconcile: end.reconcile - start.reconcile,
    alarm: end.alarm - start.alarm,
    rowsWritten: end.rowsWritten - start.rowsWritten,
    inFlight: end.inFlight,
    rowsBy: rowSourcesSince(start.rowsBy, end.rowsBy),
  };
}

/** What each source wrote between two counts (sources that wrote nothing meanwhile left out). */
export function rowSourcesSince(start: RowSources, end: RowSources): RowSources {
  const out: RowSources = {};
  for (const [label, by] of Object.entries(end)) {
    const rows = by.rows - (start[label]?.rows ?? 0);
    const statements = by.statements - (start[label]?.statements ?? 0);
    if (rows > 0) out[label] = { rows, statements };
  }
  return out;
}

/**
 * A bench-only diagnostic, for stderr: each source's rows per request, rows per statement, and rows per
 * call of the kind that wrote them (per alarm, per renewal, …), largest first, so a per-request write
 * is told from a per-interval one.
 */
export function rowSourcesTable(name: string, by: RowSources, requests: number, calls: Record<string, number>): string {
  const rows = Object.entries(by).sort((a, b) => b[1].rows - a[1].rows);
  const total = rows.reduce((sum, [, r]) => sum + r.rows, 0);
  const lines = [`${name}: ${total} rows written over ${requests} requests (${round(total / requests)} per request); calls ${JSON.stringify(calls)}`];
  lines.push(`  ${"source".padEnd(36)} ${"rows".padStart(6)} ${"/req".padStart(7)} ${"/stmt".padStart(6)} ${"/call".padStart(6)}`);
  for (const [label, r] of rows) {
    const kind = label.split(":")[0] ?? "";
    const perCall = calls[kind] ? String(round(r.rows / (calls[kind] ?? 1), 2)) : "-";
    lines.push(`  ${label.padEnd(36)} ${String(r.rows).padStart(6)} ${String(round(r.rows / requests)).padStart(7)} ${String(round(r.rows / r.statements, 2)).padStart(6)} ${perCall.padStart(6)}`);
  }
  return lines.join("\n");
}

export type GatewayBenchResult = {
  name: string;
  rps_16: number;
  p50_ms: number;
  p99_ms: number;
  n: number;
  clients: number;
  non_200: number;
  do_admit_per_request: number | null;
  do_settle_per_request: number | null;
  /** Calls a request waits for (admits). */
  do_sync_calls_per_request: number | null;
  /** Every billed object request: admits, renewals, settles, reconciles and alarms. */
  do_requests_per_request: number | null;
  /** Of those, the background ones: allowance renewals, reports sent alone (reconcile), the object's alarms. */
  do_renew_per_request: number | null;
  do_reconcile_per_request: number | null;
  do_alarm_per_request: number | null;
  do_rows_written_per_request: number | null;
  usd_per_million_requests: number | null;
  /** Over the steady-state stretch (see the header): requests, calls they waited for, every object request, rows, cost. */
  steady_n: number | null;
  steady_sync_calls_per_request: number | null;
  steady_do_requests_per_request: number | null;
  steady_rows_written_per_request: number | null;
  steady_usd_per_million_requests: number | null;
  rps_vs_bare: number | null;
  p50_added_ms: number | null;
  /** CPU time of the workerd process (every worker and object in it) per request; null off Linux. */
  workerd_cpu_ms_per_request: number | null;
  /** That CPU time less the bare pass-through's at the same concurrency: what the gateway itself costs. */
  cpu_added_ms: number | null;
  /**
   * CPU time of the bench's own Node process per request: the client and the demo origin, which share the
   * machine with workerd. What the gateway adds here is the origin reading its trusted headers and the
   * client reading the rate-limit headers: not the gateway's CPU, but a run whose cores are all busy loses
   * throughput to it all the same.
   */
  bench_cpu_ms_per_request: number;
  bench_cpu_added_ms: number | null;
  workerd: string;
};

const COMPAT_DATE = "2026-11-01";
const ADMIN_TOKEN = `bench-${crypto.randomUUID()}`;
// Five lines: what any Worker in front of the origin costs at least.
const BARE_WORKER = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body });
  },
};`;
// Limits far above what the benchmark sends: it measures the decision path, not a 429.
const BENCH_POLICY = {
  tiers: { bench: { requests: 1e9, inputTokens: 1e12, outputTokens: 1e12, exchangesPerDay: 1e12, concurrency: 10_000 } },
  defaultTier: "bench",
};
// The policy's default allowance ttl (quota.allowance.ttlMs): BENCH_POLICY leaves it as it is.
const ALLOWANCE_TTL_MS = 10_000;
// What a segment leaves running ends within this: its allowances end within one ttl (their reports then go
// alone), and what the account objects write behind then (lib/account-alarm.ts WRITE_BEHIND_DELAY_MS: the
// rows of those allowances among it) is written by the alarm after that, with a second to spare.
const TAIL_MS = ALLOWANCE_TTL_MS + WRITE_BEHIND_DELAY_MS + 1_000;
const BODY = JSON.stringify({ model: "demo-model-1", max_tokens: 64, messages: [{ role: "user", content: "Hello there, how are you today?" }] });
const BODY_LENGTH = String(new TextEncoder().encode(BODY).byteLength);

export async function benchGateway(options: GatewayBenchOptions = {}): Promise<GatewayBenchResult[]> {
  const { requests = 2_000, rounds = 2, clients = 16, warmup = 200, accounts = 16, steadySeconds = 20, leadInSeconds = 5 } = options;
  const workerd = workerdBinary();
  const origin = await startDemoOrigin(0);
  const outDir = mkdtempSync(join(tmpdir(), "gateway-bench-"));
  const previousWorkerd = process.env.MINIFLARE_WORKERD_PATH;
  let mf: Miniflare | undefined;
  try {
    await build({
      entryPoints: [join(HERE, "gateway", "entry.ts")],
      outfile: join(outDir, "worker.js"),
      ...WORKER_BUNDLE_OPTIONS,
    });
    if (workerd.path) process.env.MINIFLARE_WORKERD_PATH = workerd.path;
    mf = new Miniflare({
      host: "127.0.0.1",
      handleRuntimeStdio: quietRuntimeStdio,
      workers: [
        {
          name: "gateway",
          modules: true,
          scriptPath: join(outDir, "worker.js"),
          modulesRoot: outDir,
          modulesRules: WORKER_MODULE_RULES,
          compatibilityDate: COMPAT_DATE,
          // As wrangler.toml: the client's going away reaches the origin fetch.
          compatibilityFlags: ["enable_request_signal"],
          routes: ["gateway.bench/*"],
          kvNamespaces: ["CONFIG"],
          d1Databases: ["DB"],
          durableObjects: GATEWAY_OBJECTS,
          bindings: { ORIGIN_URL: origin.url, ENVIRONMENT: "production", ADMIN_TOKEN },
        },
        {
          name: "bare",
          modules: true,
          script: BARE_WORKER,
          compatibilityDate: COMPAT_DATE,
          routes: ["bare.bench/*"],
          bindings: { ORIGIN_URL: origin.url },
        },
      ],
    });
    await mf.ready;
    const runtime = mf;

    // Each counted case has accounts of its own, so every call and row on them is that case's: what a
    // segment leaves running (a report sent at an allowance's end, an alarm) is counted with it, never
    // with the segment that happens to follow.
    const manyIds = Array.from({ length: accounts }, (_, i) => `bench-${i}`);
    const oneId = "bench-one";
    const c1Id = "bench-c1";
    const allIds = [...manyIds, oneId, c1Id];
    const allKeys = await seedBenchGateway(runtime, { worker: "gateway", host: "gateway.bench", policy: BENCH_POLICY, adminToken: ADMIN_TOKEN, accounts: allIds });
    const keyOf = new Map(allIds.map((id, i) => [id, allKeys[i] ?? ""]));
    const keysOf = (ids: string[]) => ids.map((id) => keyOf.get(id) ?? "");

    const doCalls = async (ids: string[]): Promise<DoCalls> => {
      const res = await runtime.dispatchFetch(`http://gateway.bench/__bench/do-calls?ids=${ids.join(",")}`);
      return (await res.json()) as DoCalls;
    };

    // `bare` names the pass-through case a row is compared with: the one at the same concurrency.
    type Case = { name: string; host: string; keys: string[]; ids: string[]; clients: number; bare: string };
    const cases: Case[] = [
      { name: "gateway/bare-passthrough", host: "bare.bench", keys: ["sk-none"], ids: [], clients, bare: "" },
      { name: "gateway/1-account", host: "gateway.bench", keys: keysOf([oneId]), ids: [oneId], clients, bare: "gateway/bare-passthrough" },
      { name: `gateway/${accounts}-accounts`, host: "gateway.bench", keys: keysOf(manyIds), ids: manyIds, clients, bare: "gateway/bare-passthrough" },
      // One client at a time: the latency a single request adds, with nothing queued behind it.
      { name: "gateway/bare-passthrough-c1", host: "bare.bench", keys: ["sk-none"], ids: [], clients: 1, bare: "" },
      { name: "gateway/1-account-c1", host: "gateway.bench", keys: keysOf([c1Id]), ids: [c1Id], clients: 1, bare: "gateway/bare-passthrough-c1" },
    ];
    const counted = (c: Case) => c.ids.length > 0;
    const send = async (c: Case, i: number): Promise<number> => {
      const res = await runtime.dispatchFetch(`http://${c.host}/v1/messages`, {
        method: "POST",
        // With its length, as the SDKs send a body they hold whole (dispatchFetch alone would send it chunked).
        headers: { "x-api-key": c.keys[i % c.keys.length] ?? "", "content-type": "application/json", "content-length": BODY_LENGTH, "anthropic-version": "2023-06-01" },
        body: BODY,
      });
      await res.arrayBuffer();
      return res.status;
    };

    const empty = () => ({ latencies: [] as number[], ms: 0, n: 0, non200: 0, admit: 0, renew: 0, settle: 0, reconcile: 0, alarm: 0, rows: 0, rowsBy: {} as RowSources, cpuMs: 0, benchCpuMs: 0 });
    const stats = new Map(cases.map((c) => [c.name, empty()]));
    // Every account past the history an allowance needs (quota.allowance.minHistoryRequests, 20), so
    // the measured segments are the steady state of accounts in use, not their first minute.
    for (const c of cases) for (let i = 0; i < Math.max(warmup, counted(c) ? c.ids.length * 30 : 0); i++) await send(c, i);
    const cpu = workerdCpuClock();
    const startCounts = new Map<string, DoCalls>();
    for (const c of cases) if (counted(c)) startCounts.set(c.name, await doCalls(c.ids));

    const order = Array.from({ length: rounds }, (_, round) => (round % 2 === 0 ? cases : [...cases].reverse())).flat();
    for (const c of order) {
      const s = stats.get(c.name);
      if (!s) continue;
      // A single client sends a quarter as many: the case measures latency, not throughput.
      const todo = Math.max(1, Math.floor(requests / (c.clients === 1 ? 4 : 1) / rounds));
      let next = 0;
      const cpu0 = cpu?.() ?? 0;
      const benchCpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: c.clients }, async () => {
          while (next < todo) {
            const i = next++;
            const start = performance.now();
            const status = await send(c, i);
            s.latencies.push(performance.now() - start);
            if (status !== 200) s.non200++;
          }
        }),
      );
      s.ms += performance.now() - t0;
      // Up to the last answer: the count reads below are many calls, and what they cost is the bench's.
      s.cpuMs += (cpu?.() ?? 0) - cpu0;
      const benchCpu = process.cpuUsage(benchCpu0);
      s.benchCpuMs += (benchCpu.user + benchCpu.system) / 1000;
      s.n += todo;
      if (counted(c)) {
        // Settles run in waitUntil after each answer, coalesced per account: wait (bounded) until no lease is open.
        for (let tries = 0; tries < 200 && (await doCalls(c.ids)).inFlight > 0; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    // What the last segments leave running (allowances ending, their reports sent alone, what the objects
    // write behind) is theirs: counted once it has all happened.
    await new Promise((resolve) => setTimeout(resolve, TAIL_MS));
    for (const c of cases) {
      const start = startCounts.get(c.name);
      const s = stats.get(c.name);
      if (!start || !s) continue;
      const since = doCallsSince(start, await doCalls(c.ids));
      Object.assign(s, callsOf(since), { rows: since.rowsWritten, rowsBy: since.rowsBy });
    }
    // Steady state: each counted case's accounts again, once everything the segments left running has
    // ended, without a break; counted from the end of the lead-in to the end of the stretch (requests
    // answered in it, calls and rows the objects counted in it). The same accounts, not more of them: the
    // bench's accounts share every fingerprint key, and twice as many would read as a fleet.
    const steady = new Map<string, { n: number; calls: DoCalls }>();
    for (const c of cases) {
      if (!counted(c)) continue;
      let phase: "lead-in" | "counted" | "done" = "lead-in";
      let n = 0;
      let i = 0;
      const traffic = Promise.all(
        Array.from({ length: c.clients }, async () => {
          while (phase !== "done") {
            const countedNow = phase === "counted";
            await send(c, i++);
            if (countedNow && phase === "counted") n++;
          }
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, leadInSeconds * 1000));
      const start = await doCalls(c.ids);
      phase = "counted";
      await new Promise((resolve) => setTimeout(resolve, steadySeconds * 1000));
      phase = "done";
      const end = await doCalls(c.ids);
      await traffic;
      steady.set(c.name, { n, calls: doCallsSince(start, end) });
    }

    for (const c of cases) {
      const s = stats.get(c.name);
      if (s && counted(c)) console.error(rowSourcesTable(`${c.name} (segments)`, s.rowsBy, s.n, { admit: s.admit, renew: s.renew, settle: s.settle, reconcile: s.reconcile, alarm: s.alarm }));
      const st = steady.get(c.name);
      if (st) console.error(rowSourcesTable(`${c.name} (steady state, ${steadySeconds} s)`, st.calls.rowsBy, st.n, callsOf(st.calls)));
    }

    const results: GatewayBenchResult[] = cases.map((c) => {
      const s = stats.get(c.name) ?? empty();
      const bare = stats.get(c.bare);
      const bareRps = bare && bare.ms > 0 ? bare.n / (bare.ms / 1000) : null;
      const bareP50 = bare ? percentile([...bare.latencies].sort((a, b) => a - b), 0.5) : null;
      const sorted = [...s.latencies].sort((a, b) => a - b);
      const rps = s.n / (s.ms / 1000);
      const p50 = percentile(sorted, 0.5);
      const doRequests = (s.admit + s.renew + s.settle + s.reconcile + s.alarm) / s.n;
      const st = steady.get(c.name);
      const steadyRequests = st && st.n > 0 ? Object.values(callsOf(st.calls)).reduce((a, b) => a + b, 0) / st.n : null;
      const steadyRows = st && st.n > 0 ? st.calls.rowsWritten / st.n : null;
      return {
        name: c.name,
        rps_16: Math.round(rps),
        p50_ms: round(p50),
        p99_ms: round(percentile(sorted, 0.99)),
        n: s.n,
        clients: c.clients,
        non_200: s.non200,
        do_admit_per_request: counted(c) ? round(s.admit / s.n) : null,
        do_settle_per_request: counted(c) ? round(s.settle / s.n) : null,
        do_sync_calls_per_request: counted(c) ? round(s.admit / s.n) : null,
        do_requests_per_request: counted(c) ? round(doRequests) : null,
        do_renew_per_request: counted(c) ? round(s.renew / s.n) : null,
        do_reconcile_per_request: counted(c) ? round(s.reconcile / s.n) : null,
        do_alarm_per_request: counted(c) ? round(s.alarm / s.n) : null,
        do_rows_written_per_request: counted(c) ? round(s.rows / s.n) : null,
        usd_per_million_requests: counted(c) ? round(usdPerMillionRequests(doRequests, s.rows / s.n), 2) : null,
        steady_n: st ? st.n : null,
        steady_sync_calls_per_request: st && st.n > 0 ? round(st.calls.admit / st.n) : null,
        steady_do_requests_per_request: steadyRequests === null ? null : round(steadyRequests),
        steady_rows_written_per_request: steadyRows === null ? null : round(steadyRows),
        steady_usd_per_million_requests: steadyRequests === null || steadyRows === null ? null : round(usdPerMillionRequests(steadyRequests, steadyRows), 2),
        rps_vs_bare: counted(c) && bareRps ? round(rps / bareRps, 2) : null,
        p50_added_ms: counted(c) && bareP50 !== null ? round(p50 - bareP50) : null,
        workerd_cpu_ms_per_request: cpu ? round(s.cpuMs / s.n) : null,
        cpu_added_ms: cpu && bare && bare.n > 0 ? round(s.cpuMs / s.n - bare.cpuMs / bare.n) : null,
        bench_cpu_ms_per_request: round(s.benchCpuMs / s.n),
        bench_cpu_added_ms: bare && bare.n > 0 ? round(s.benchCpuMs / s.n - bare.benchCpuMs / bare.n) : null,
        workerd: workerd.version,
      };
    });
    for (const r of results) console.log(JSON.stringify(r));
    return results;
  } finally {
    await mf?.dispose();
    await origin.close();
    if (previousWorkerd === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = previousWorkerd;
    rmSync(outDir, { recursive: true, force: true });
  }
}

// Runnable directly: `npx tsx bench/gateway.ts`
runIfMain(import.meta.url, benchGateway);
