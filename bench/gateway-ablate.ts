// Which change to the gateway's code moves its CPU per request: several copies of the source tree (each
// with one change), bundled and run side by side in one workerd with the bare pass-through, one account
// on the local-allowance path, the cases interleaved in short segments so a load that comes and goes
// falls on all of them alike.
//
//   VARIANTS=/tmp/a,/tmp/b npx tsx bench/gateway-ablate.ts [requests-per-segment=400] [clients=4] [rounds=6]
//
// A variant is a directory holding worker/, lib/, durable-objects/, bench/ and data/ (a copy of the
// repo's, edited) with node_modules linked in; "." is this checkout. Prints one JSON line per variant:
// workerd CPU and the bench process's CPU (client and demo origin) per request, each less the bare
// Worker's. On a loaded machine both move by ±0.1 ms between runs: compare variants within one run.
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startDemoOrigin } from "../demo-origin/server.ts";
import { GATEWAY_OBJECTS, percentile, quietRuntimeStdio, round, runIfMain, seedBenchGateway, workerdBinary, workerdCpuClock, WORKER_BUNDLE_OPTIONS, WORKER_MODULE_RULES } from "./harness.ts";

const ADMIN_TOKEN = `ablate-${crypto.randomUUID()}`;
const BODY = JSON.stringify({ model: "demo-model-1", max_tokens: 64, messages: [{ role: "user", content: "Hello there, how are you today?" }] });
const POLICY = {
  tiers: { bench: { requests: 1e9, inputTokens: 1e12, outputTokens: 1e12, exchangesPerDay: 1e12, concurrency: 10_000 } },
  defaultTier: "bench",
};
const BARE_WORKER = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body });
  },
};`;
// Past the history an allowance needs (quota.allowance.minHistoryRequests) and the JIT's warm-up.
const WARMUP = 600;

type Totals = { workerdMs: number; benchMs: number; wallMs: number; n: number; latencies: number[] };

export async function ablateGateway(variants: string[], perSegment = 400, clients = 4, rounds = 6): Promise<void> {
  const workerd = workerdBinary();
  if (workerd.path) process.env.MINIFLARE_WORKERD_PATH = workerd.path;
  const origin = await startDemoOrigin(0);
  const outDir = mkdtempSync(join(tmpdir(), "gateway-ablate-"));
  let mf: Miniflare | undefined;
  try {
    for (const [i, dir] of variants.entries()) {
      await build({ entryPoints: [join(dir, "bench", "gateway", "entry.ts")], outfile: join(outDir, `variant-${i}.js`), ...WORKER_BUNDLE_OPTIONS });
    }
    mf = new Miniflare({
      host: "127.0.0.1",
      handleRuntimeStdio: quietRuntimeStdio,
      workers: [
        // One KV and D1 for all (same ids): the account seeded once is known to every variant; each has its own objects.
        ...variants.map((_, i) => ({
          name: `variant-${i}`,
          modules: true,
          scriptPath: join(outDir, `variant-${i}.js`),
          modulesRoot: outDir,
          modulesRules: WORKER_MODULE_RULES,
          compatibilityDate: "2026-11-01",
          compatibilityFlags: ["enable_request_signal"],
          routes: [`variant-${i}.bench/*`],
          kvNamespaces: ["CONFIG"],
          d1Databases: ["DB"],
          durableObjects: GATEWAY_OBJECTS,
          bindings: { ORIGIN_URL: origin.url, ENVIRONMENT: "production", ADMIN_TOKEN },
        })),
        { name: "bare", modules: true, script: BARE_WORKER, compatibilityDate: "2026-11-01", routes: ["bare.bench/*"], bindings: { ORIGIN_URL: origin.url } },
      ],
    });
    await mf.ready;
    const runtime = mf;
    const [key = ""] = await seedBenchGateway(runtime, { worker: "variant-0", host: "variant-0.bench", policy: POLICY, adminToken: ADMIN_TOKEN, accounts: ["ablate-0"] });

    const send = async (host: string) => {
      const res = await runtime.dispatchFetch(`http://${host}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json", "content-length": String(BODY.length), "anthropic-version": "2023-06-01" },
        body: BODY,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${host}: HTTP ${res.status}`);
    };
    const hosts = ["bare.bench", ...variants.map((_, i) => `variant-${i}.bench`)];
    for (let i = 0; i < WARMUP; i++) for (const host of hosts) await send(host);

    const cpu = workerdCpuClock();
    if (!cpu) throw new Error("the ablation reads workerd's CPU time from /proc, which this system does not have");
    const totals = new Map<string, Totals>(hosts.map((host) => [host, { workerdMs: 0, benchMs: 0, wallMs: 0, n: 0, latencies: [] }]));
    for (let r = 0; r < rounds; r++) {
      for (const host of r % 2 === 0 ? hosts : [...hosts].reverse()) {
        const t = totals.get(host);
        if (!t) continue;
        let next = 0;
        const w0 = cpu();
        const b0 = process.cpuUsage();
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: clients }, async () => {
            while (next < perSegment) {
              next++;
              const start = performance.now();
              await send(host);
              t.latencies.push(performance.now() - start);
            }
          }),
        );
        t.wallMs += performance.now() - t0;
        t.workerdMs += cpu() - w0;
        const b = process.cpuUsage(b0);
        t.benchMs += (b.user + b.system) / 1000;
        t.n += perSegment;
      }
    }
    const row = (t: Totals) => ({
      workerd_cpu_ms: round(t.workerdMs / t.n),
      bench_cpu_ms: round(t.benchMs / t.n),
      rps: Math.round(t.n / (t.wallMs / 1000)),
      p50_ms: round(percentile([...t.latencies].sort((a, b) => a - b), 0.5)),
    });
    const bare = totals.get("bare.bench");
    if (!bare) return;
    const b = row(bare);
    for (const [i, dir] of variants.entries()) {
      const t = totals.get(`variant-${i}.bench`);
      if (!t) continue;
      const g = row(t);
      console.log(JSON.stringify({
        variant: dir,
        clients,
        workerd_cpu_added_ms: round(g.workerd_cpu_ms - b.workerd_cpu_ms),
        bench_cpu_added_ms: round(g.bench_cpu_ms - b.bench_cpu_ms),
        rps_vs_bare: round(g.rps / b.rps, 2),
        p50_added_ms: round(g.p50_ms - b.p50_ms),
        gateway: g,
        bare: b,
      }));
    }
  } finally {
    await mf?.dispose();
    await origin.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, () =>
  ablateGateway((process.env.VARIANTS ?? ".").split(","), Number(process.argv[2] ?? 400), Number(process.argv[3] ?? 4), Number(process.argv[4] ?? 6)),
);
