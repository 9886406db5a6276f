// Benchmark: what a cold isolate costs, for the bundle that ships.
//
//   npm run build && npm run bench -- coldstart
//   COLDSTART_BUNDLES="before=/tmp/before/index.js,after=dist/index.js" npm run bench -- coldstart
//
// Each round starts a fresh workerd (Miniflare 4, in-memory KV / D1 / SQLite DOs, loopback only)
// once per bundle and once for an empty Worker with the same bindings, in an order that rotates every round, and times:
//   ready  `new Miniflare` to `ready`: process start, then compiling and evaluating the bundle's
//          modules (workerd loads a Worker's script at start-up, so top-level work shows here);
//   first  the first request, /v1/messages by a seeded account: policy read from KV and validated,
//          key lookup, the first AccountDO created and its schema migrated, forwarded to the demo
//          origin, answered;
//   warm   the same request again, for scale.
// The empty Worker's ready time is the floor (a workerd start with almost no script); `added`
// is a bundle's figure minus that floor in the same round, so process-start noise mostly cancels.
// Prints one JSON line per bundle and returns them.
import { Miniflare } from "miniflare";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { startDemoOrigin } from "../demo-origin/server.ts";
import { keyIndexName } from "../lib/accounts.ts";
import { sha256Hex } from "../lib/hash.ts";
import { GATEWAY_OBJECTS, percentile, quietRuntimeStdio, round, runIfMain, workerdBinary, WORKER_MODULE_RULES } from "./harness.ts";

export type ColdstartOptions = {
  /** Label → path of a built Worker bundle; default `dist/index.js` (from `npm run build`). */
  bundles?: ReadonlyArray<{ label: string; path: string }>;
  rounds?: number;
};

export type ColdstartResult = {
  name: string;
  bytes: number;
  gzip_bytes: number;
  rounds: number;
  ready_p50_ms: number;
  ready_p90_ms: number;
  ready_added_p50_ms: number;
  ready_added_p90_ms: number;
  first_p50_ms: number;
  first_p90_ms: number;
  warm_p50_ms: number;
  /** This bundle's median `ready_added + first` over the first bundle's (null for the first). */
  cold_vs_first_bundle: number | null;
  floor_ready_p50_ms: number;
  workerd: string;
};

const COMPAT_DATE = "2026-11-01";
// The same bindings and classes with nothing in them: what a start costs before the bundle's own code.
const FLOOR_WORKER = `import { DurableObject } from "cloudflare:workers";
export class AccountDO extends DurableObject {}
export class ClusterCollectorDO extends DurableObject {}
export class ClusterRootDO extends DurableObject {}
export default { fetch() { return new Response("ok"); } };`;
const KEY = "sk-coldstart-0123456789";
const PROFILE = { id: "coldstart", tier: "free", orgType: null, verified: false, billingCountry: null, paymentFingerprint: null };
// A policy in KV, so the first request validates one document as production does.
const POLICY = { version: 1, limits: { windowSeconds: 60 }, risk: { weights: { tor: 25 } } };
const BODY = JSON.stringify({ model: "demo-model-1", max_tokens: 16, messages: [{ role: "user", content: "Hello there" }] });
const DEFAULT_ROUNDS = 15;

/** `label=path,label=path` from COLDSTART_BUNDLES, or the deploy build. */
function bundlesFromEnv(): Array<{ label: string; path: string }> {
  const spec = process.env.COLDSTART_BUNDLES;
  if (!spec) return [{ label: "dist", path: "dist/index.js" }];
  return spec.split(",").map((entry, i) => {
    const at = entry.indexOf("=");
    return at < 0 ? { label: `bundle${i + 1}`, path: entry } : { label: entry.slice(0, at), path: entry.slice(at + 1) };
  });
}

type Sample = { ready: number; first: number; warm: number };

async function coldStart(script: { path: string } | { source: string }, originUrl: string): Promise<Sample> {
  // Written through, not piped: a pipe per start would pile listeners onto process.stderr.
  const t0 = performance.now();
  const mf = new Miniflare({
    host: "127.0.0.1",
    handleRuntimeStdio: quietRuntimeStdio,
    modules: true,
    ...("source" in script ? { script: script.source } : { scriptPath: script.path, modulesRoot: dirname(script.path), modulesRules: WORKER_MODULE_RULES }),
    compatibilityDate: COMPAT_DATE,
    kvNamespaces: ["CONFIG"],
    d1Databases: ["DB"],
    durableObjects: GATEWAY_OBJECTS,
    bindings: { ORIGIN_URL: originUrl, ENVIRONMENT: "production", ADMIN_TOKEN: `coldstart-${crypto.randomUUID()}` },
  });
  try {
    await mf.ready;
    const ready = performance.now() - t0;
    // Seeded through Miniflare's own KV access, which does not run the Worker: its isolate stays cold.
    const kv = await mf.getKVNamespace("CONFIG");
    await kv.put("policy", JSON.stringify(POLICY));
    await kv.put(keyIndexName(await sha256Hex(KEY)), JSON.stringify(PROFILE));
    const send = async (): Promise<number> => {
      const start = performance.now();
      const res = await mf.dispatchFetch("http://coldstart.bench/v1/messages", {
        method: "POST",
        headers: { "x-api-key": KEY, "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: BODY,
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`cold start request: HTTP ${res.status} ${text.slice(0, 300)}`);
      return performance.now() - start;
    };
    const first = await send();
    const warm = await send();
    return { ready, first, warm };
  } finally {
    await mf.dispose();
  }
}

const sortedOf = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

export async function benchColdstart(options: ColdstartOptions = {}): Promise<ColdstartResult[]> {
  const bundles = (options.bundles ?? bundlesFromEnv()).map((b) => ({ ...b, path: resolve(b.path) }));
  const rounds = options.rounds ?? (Number(process.env.COLDSTART_ROUNDS) || DEFAULT_ROUNDS);
  for (const b of bundles) {
    if (!existsSync(b.path)) throw new Error(`${b.path} not found: run \`npm run build\` first (or set COLDSTART_BUNDLES)`);
  }
  const workerd = workerdBinary();
  const previousWorkerd = process.env.MINIFLARE_WORKERD_PATH;
  if (workerd.path) process.env.MINIFLARE_WORKERD_PATH = workerd.path;
  const origin = await startDemoOrigin(0);
  try {
    const floor: number[] = [];
    const samples = bundles.map(() => [] as Array<Sample & { added: number }>);
    // One untimed start of each, so the first timed start pays no first-run disk or JIT cost.
    await coldStart({ source: FLOOR_WORKER }, origin.url);
    for (const b of bundles) await coldStart({ path: b.path }, origin.url);
    for (let r = 0; r < rounds; r++) {
      // -1 is the floor; the order rotates so no bundle always starts right after another.
      const order = [-1, ...bundles.keys()];
      const rotated = [...order.slice(r % order.length), ...order.slice(0, r % order.length)];
      const timings: Array<{ index: number; sample: Sample }> = [];
      for (const index of rotated) {
        const bundle = bundles[index];
        const sample = await coldStart(bundle ? { path: bundle.path } : { source: FLOOR_WORKER }, origin.url);
        timings.push({ index, sample });
      }
      const floorReady = timings.find((t) => t.index === -1)?.sample.ready ?? 0;
      floor.push(floorReady);
      for (const { index, sample } of timings) samples[index]?.push({ ...sample, added: sample.ready - floorReady });
    }

    const cold = samples.map((s) => percentile(sortedOf(s.map((x) => x.added + x.first)), 0.5));
    const results: ColdstartResult[] = bundles.map((b, i) => {
      const s = samples[i] ?? [];
      const source = readFileSync(b.path);
      const ready = sortedOf(s.map((x) => x.ready));
      const added = sortedOf(s.map((x) => x.added));
      const first = sortedOf(s.map((x) => x.first));
      return {
        name: `coldstart/${b.label}`,
        bytes: source.byteLength,
        gzip_bytes: gzipSync(source, { level: 9 }).byteLength,
        rounds,
        ready_p50_ms: round(percentile(ready, 0.5), 1),
        ready_p90_ms: round(percentile(ready, 0.9), 1),
        ready_added_p50_ms: round(percentile(added, 0.5), 1),
        ready_added_p90_ms: round(percentile(added, 0.9), 1),
        first_p50_ms: round(percentile(first, 0.5), 1),
        first_p90_ms: round(percentile(first, 0.9), 1),
        warm_p50_ms: round(percentile(sortedOf(s.map((x) => x.warm)), 0.5), 1),
        cold_vs_first_bundle: i === 0 ? null : round((cold[i] ?? Number.NaN) / (cold[0] ?? Number.NaN), 2),
        floor_ready_p50_ms: round(percentile(sortedOf(floor), 0.5), 1),
        workerd: workerd.version,
      };
    });
    for (const r of results) console.log(JSON.stringify(r));
    return results;
  } finally {
    await origin.close();
    if (previousWorkerd === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = previousWorkerd;
  }
}

// Runnable directly: `npx tsx bench/coldstart.ts`
runIfMain(import.meta.url, benchColdstart);
