/**
 * What the benchmarks, the simulator and the local test stacks share: percentiles,
 * rounding, the workerd binary to run Miniflare on, the esbuild options for a
 * Worker bundle, D1 migrations as statements, a free loopback port, and "run
 * when executed directly". Node only.
 */
import type { BuildOptions } from "esbuild";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Miniflare } from "miniflare";

const require = createRequire(import.meta.url);

/** Nearest-rank percentile of an ascending array, `p` in 0..1. */
/** The gateway's Durable Object bindings as the deploy bundle exports them, for a Miniflare worker running it. */
export const GATEWAY_OBJECTS = {
  ACCOUNTS: { className: "AccountDO", useSQLite: true },
  CLUSTER_COLLECTORS: { className: "ClusterCollectorDO", useSQLite: true },
  CLUSTER_ROOTS: { className: "ClusterRootDO", useSQLite: true },
} as const;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

export function round(x: number, digits = 3): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

/**
 * Miniflare 4's own workerd only accepts compatibility dates up to mid-2026;
 * the repo's top-level workerd (the one wrangler uses) accepts ours.
 */
export function workerdBinary(): { path?: string; version: string } {
  if (process.env.MINIFLARE_WORKERD_PATH) return { path: process.env.MINIFLARE_WORKERD_PATH, version: "MINIFLARE_WORKERD_PATH" };
  try {
    const pkg = require.resolve("workerd/package.json");
    const bin = join(dirname(pkg), "bin", "workerd");
    const version = (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
    if (existsSync(bin)) return { path: bin, version };
  } catch {
    // Fall back to Miniflare's bundled workerd.
  }
  return { version: "miniflare-bundled" };
}

/** Runs `main` when `moduleUrl` is the script Node was started with (`npx tsx bench/x.ts`). */
export function runIfMain(moduleUrl: string, main: () => Promise<unknown>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** esbuild options that bundle a Worker the way wrangler does (workerd conditions, ESM). */
export const WORKER_BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  external: ["cloudflare:*", "node:*"],
  // As wrangler: a .wasm import stays an import of the file, copied beside the bundle, which
  // Miniflare then loads as a compiled module (WORKER_MODULE_RULES).
  loader: { ".wasm": "copy" },
  logLevel: "error",
};

/** Miniflare's module rules for a bundle built with WORKER_BUNDLE_OPTIONS or by wrangler: .wasm files are compiled WebAssembly modules. */
export const WORKER_MODULE_RULES: { type: "CompiledWasm"; include: string[] }[] = [{ type: "CompiledWasm", include: ["**/*.wasm"] }];

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

/** D1 migrations in order as single statements: comments dropped, split at the semicolons that end a line. */
export function migrationStatements(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .flatMap((f) =>
      readFileSync(join(MIGRATIONS_DIR, f), "utf8")
        .split("\n")
        .map((line) => line.replace(/--.*$/, ""))
        .join("\n")
        .split(/;\s*(?:\n|$)/)
        .map((statement) => statement.trim())
        .filter(Boolean),
    );
}

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Pids of the process tree under `pid` (Linux /proc). */
function processTree(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const listed = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    if (listed) children.push(...listed.split(/\s+/).map(Number));
  }
  return [pid, ...children.flatMap(processTree)];
}

/**
 * A clock of the CPU time (user + system, ms) the workerd processes under this one have used, or null
 * where /proc is not there to read it.
 */
export function workerdCpuClock(): (() => number) | null {
  try {
    const pids = processTree(process.pid).filter((pid) => pid !== process.pid && readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("workerd"));
    if (pids.length === 0) return null;
    // Clock ticks of 10 ms (USER_HZ is 100 on every Linux this runs on); fields 14 and 15 of stat.
    return () => pids.reduce((sum, pid) => {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return sum + (Number(fields[11]) + Number(fields[12])) * 10;
    }, 0);
  } catch {
    return null;
  }
}

/**
 * Miniflare's runtime output for a bench: one decision log line per request would drown the results;
 * errors still reach stderr. Written chunk by chunk, not piped: a bench that starts many runtimes
 * (coldstart) would pile a listener per pipe onto process.stderr.
 */
export function quietRuntimeStdio(stdout: Readable, stderr: Readable): void {
  stdout.resume();
  stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
}

export type BenchGatewaySeed = { worker: string; host: string; policy: unknown; adminToken: string; accounts: readonly string[] };

/**
 * Makes a gateway worker in `runtime` ready for a bench: its D1 migrated, `policy` in its KV, and each
 * account created through the admin API on `host` with one fresh key. The keys, in the accounts' order.
 */
export async function seedBenchGateway(runtime: Miniflare, seed: BenchGatewaySeed): Promise<string[]> {
  const db = await runtime.getD1Database("DB", seed.worker);
  for (const statement of migrationStatements()) await db.prepare(statement).run();
  await (await runtime.getKVNamespace("CONFIG", seed.worker)).put("policy", JSON.stringify(seed.policy));
  const keys: string[] = [];
  for (const id of seed.accounts) {
    const key = `sk-${id}-${crypto.randomUUID()}`;
    const res = await runtime.dispatchFetch(`http://${seed.host}/admin/accounts/${id}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${seed.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ keys: [key], tier: "bench" }),
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`seeding ${id}: HTTP ${res.status} ${text.slice(0, 300)}`);
    keys.push(key);
  }
  return keys;
}
