// Benchmark: native Durable Object RPC vs itty-durable (stub.fetch + JSON via an in-DO router).
//
//   npx tsx bench/do-rpc/run.ts            (from the repo root; Node 22)
//
// Bundles bench/do-rpc/worker.ts with esbuild into a temp dir, runs it in Miniflare 4
// (local workerd, SQLite-backed DOs, in-memory storage, loopback only) and prints one JSON
// line per variant. All loops are bounded; the process exits by itself.
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { percentile, round, runIfMain, workerdBinary, WORKER_BUNDLE_OPTIONS } from "../harness.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

export interface DoRpcBenchOptions {
  warmup?: number; // sequential warm-up requests per variant
  sequential?: number; // measured sequential requests per variant (latency)
  concurrent?: number; // requests per variant for the throughput phase
  clients?: number; // concurrent clients in the throughput phase
  accounts?: number; // distinct account names (= distinct DO instances)
  batchK?: number; // DO calls per request in the supplementary in-Worker batch phase
  batchRequests?: number; // requests per variant in the batch phase
  rounds?: number; // each phase is split into this many slices, alternating A-B / B-A, so
  //                  background load on the machine hits both variants alike
  compatibilityDate?: string;
  /** workerd binary. Default: $MINIFLARE_WORKERD_PATH, else the repo's top-level `workerd`
   *  package (Miniflare 4.20260730's bundled workerd only supports dates <= 2026-08-06). */
  workerdPath?: string;
}

interface Variant {
  name: "do-rpc/native" | "do-rpc/itty-durable";
  path: "/native" | "/itty";
  sizeEntry: string; // minimal Worker containing only this variant (for bundle size)
}

const VARIANTS: Variant[] = [
  {
    name: "do-rpc/native",
    path: "/native",
    sizeEntry:
      'import { handleNative } from "./native.ts"; export { NativeCounter } from "./native.ts";\n' +
      "export default { fetch: (r, env) => handleNative(new URL(r.url).searchParams.get('name') ?? 'a', 1, env) };",
  },
  {
    name: "do-rpc/itty-durable",
    path: "/itty",
    sizeEntry:
      'import { handleItty } from "./itty.ts"; export { IttyCounter } from "./itty.ts";\n' +
      "export default { fetch: (r, env) => handleItty(r, new URL(r.url).searchParams.get('name') ?? 'a', 1, env) };",
  },
];
// Same skeleton with no DO at all: subtracted to get what each variant *adds*.
const BASELINE_ENTRY =
  'export default { fetch: (r) => new Response(new URL(r.url).searchParams.get("name") ?? "a") };';


async function bundleSize(contents: string): Promise<{ min: number; gz: number }> {
  const r = await build({
    ...WORKER_BUNDLE_OPTIONS,
    stdin: { contents, resolveDir: HERE, loader: "ts", sourcefile: "size-entry.ts" },
    minify: true,
    write: false,
  });
  const bytes = r.outputFiles[0]!.contents;
  return { min: bytes.byteLength, gz: gzipSync(bytes, { level: 9 }).byteLength };
}



export async function benchDoRpc(opts: DoRpcBenchOptions = {}): Promise<void> {
  const {
    warmup = 200,
    sequential = 2000,
    concurrent = 4000,
    clients = 16,
    accounts = 100,
    batchK = 100,
    batchRequests = 20,
    rounds = 10,
    compatibilityDate = "2026-11-01",
  } = opts;
  const workerd = opts.workerdPath ? { path: opts.workerdPath, version: "option" } : workerdBinary();

  // 1. Bundle sizes (minified + gzip -9) per variant, minus an empty Worker.
  const base = await bundleSize(BASELINE_ENTRY);
  const sizes = new Map<string, { min: number; gz: number }>();
  for (const v of VARIANTS) sizes.set(v.name, await bundleSize(v.sizeEntry));

  // 2. Bundle the combined benchmark Worker (unminified, like `wrangler deploy` by default).
  const outDir = mkdtempSync(join(tmpdir(), "do-rpc-bench-"));
  const scriptPath = join(outDir, "worker.js");
  const prevWorkerdEnv = process.env.MINIFLARE_WORKERD_PATH;
  let mf: Miniflare | undefined;
  try {
    await build({ ...WORKER_BUNDLE_OPTIONS, entryPoints: [join(HERE, "worker.ts")], outfile: scriptPath });

    // Miniflare reads MINIFLARE_WORKERD_PATH when it spawns workerd; restore it afterwards.
    if (workerd.path) process.env.MINIFLARE_WORKERD_PATH = workerd.path;
    mf = new Miniflare({
      modules: true,
      scriptPath,
      modulesRoot: outDir, // bundle lives in os.tmpdir(); module names must not start with ".."
      compatibilityDate,
      durableObjects: {
        NATIVE: { className: "NativeCounter", useSQLite: true },
        ITTY: { className: "IttyCounter", useSQLite: true },
      },
      host: "127.0.0.1", // loopback only; DO storage is in-memory (Miniflare default)
    });
    await mf.ready;
    const BASE = "http://bench.local";

    const get = async (path: string): Promise<{ total: number }> => {
      const res = await mf!.dispatchFetch(`${BASE}${path}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${text.slice(0, 500)}`);
      return JSON.parse(text) as { total: number };
    };
    const call = (v: Variant, i: number) => get(`${v.path}?n=1&name=acct-${i % accounts}`);

    // Sanity: both variants start at 0 for a fresh name and count up.
    for (const v of VARIANTS) {
      const a = (await get(`${v.path}?n=1&name=sanity`)).total;
      const b = (await get(`${v.path}?n=1&name=sanity`)).total;
      if (a !== 1 || b !== 2) throw new Error(`${v.name}: expected totals 1,2 got ${a},${b}`);
    }

    const r = new Map(VARIANTS.map((v) => [v.name, { lat: [] as number[], concMs: 0, concN: 0, batchMs: 0, batchCalls: 0, hits: 0 }]));
    // Interleaved A-B, B-A, A-B, ... slices for every phase so neither variant always runs
    // first/last and transient background load is shared.
    const order: Variant[] = [];
    for (let k = 0; k < rounds; k++) order.push(...(k % 2 ? [...VARIANTS].reverse() : VARIANTS));
    const slice = (total: number) => Math.floor(total / rounds);

    // Warm-up (instantiates all DOs, JIT) for both variants before measuring either.
    for (const v of VARIANTS) {
      for (let i = 0; i < warmup; i++) await call(v, i);
      r.get(v.name)!.hits += warmup;
    }

    // Sequential latency: `sequential` requests per variant, in interleaved slices.
    for (const v of order) {
      const st = r.get(v.name)!;
      for (let i = 0; i < slice(sequential); i++) {
        const t0 = performance.now();
        await call(v, i);
        st.lat.push(performance.now() - t0);
      }
      st.hits += slice(sequential);
    }

    // Throughput: `clients` concurrent loops sharing a bounded work counter, per slice.
    for (const v of order) {
      const st = r.get(v.name)!;
      const todo = slice(concurrent);
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < todo) await call(v, next++);
        }),
      );
      st.concMs += performance.now() - t0;
      st.hits += todo;
      st.concN += todo;
    }

    // Supplementary: k calls inside one Worker request -> per-call cost without the HTTP hop.
    for (const v of order) {
      const st = r.get(v.name)!;
      const t0 = performance.now();
      for (let i = 0; i < Math.max(1, slice(batchRequests)); i++) {
        await get(`/batch${v.path}?n=1&k=${batchK}&name=acct-${i % accounts}`);
        st.batchCalls += batchK;
      }
      st.batchMs += performance.now() - t0;
    }

    // Correctness: sum of per-account totals == number of hits (no lost updates).
    for (const v of VARIANTS) {
      let sum = 0;
      for (let a = 0; a < accounts; a++) sum += (await get(`${v.path}?n=0&name=acct-${a}`)).total;
      const st = r.get(v.name)!;
      st.hits += st.batchCalls;
      if (sum !== st.hits) throw new Error(`${v.name}: totals sum ${sum} != hits ${st.hits}`);
    }

    for (const v of VARIANTS) {
      const st = r.get(v.name)!;
      const s = sizes.get(v.name)!;
      st.lat.sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          name: v.name,
          p50_ms: round(st.lat.length ? percentile(st.lat, 0.5) : NaN),
          p99_ms: round(st.lat.length ? percentile(st.lat, 0.99) : NaN),
          rps_16: Math.round(st.concN / (st.concMs / 1000)),
          bundle_bytes_gz: s.gz - base.gz, // bytes this variant adds to a Worker (minified, gzip -9)
          // extras
          bundle_total_gz: s.gz,
          bundle_total_min: s.min,
          inworker_us_per_call: round((st.batchMs * 1000) / st.batchCalls, 1),
          n_seq: st.lat.length,
          n_conc: st.concN,
          clients,
          accounts,
          rounds,
          compat_date: compatibilityDate,
          workerd: workerd.version,
        }),
      );
    }
  } finally {
    await mf?.dispose();
    if (prevWorkerdEnv === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = prevWorkerdEnv;
    rmSync(outDir, { recursive: true, force: true });
  }
}

// Runnable directly: `npx tsx bench/do-rpc/run.ts`
runIfMain(import.meta.url, benchDoRpc);
