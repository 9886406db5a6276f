/**
 * What the simulator plays against.
 *
 *   self-contained  the demo origin in this process, and Miniflare 4 running the
 *                   gateway bundle (`wrangler deploy --dry-run`) with KV, D1
 *                   (migrations applied), SQLite Durable Objects and Analytics
 *                   Engine, plus a bare pass-through Worker for the overhead
 *                   numbers: the edge Worker and the Durable Objects in two
 *                   workerd processes (see startSelfContained);
 *   gateway         an already running gateway (`npm start`: wrangler dev on
 *                   127.0.0.1:8787 in front of the demo origin on 8788); the bare
 *                   pass-through Worker then runs in a Miniflare of its own.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startDemoOrigin, type RunningOrigin } from "../../demo-origin/server.ts";
import type { DecisionInfo } from "../metrics/index.ts";
import type { EvidenceItem } from "../../lib/cluster/evidence.ts";
import type { Signature } from "../../lib/cluster/verdict.ts";
import { clusterRootName } from "../../lib/names.ts";
import type { Policy } from "../../lib/policy/index.ts";
import { httpClient, type HttpClient } from "./http.ts";
import { migrationStatements } from "../../bench/harness.ts";
import { useWorkerd } from "./workerd.ts";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// wrangler.toml's compatibility date: the gateway must run as it deploys.
const COMPATIBILITY_DATE = "2026-11-01";
const CRON = "*/5 * * * *";
const SELF_CONTAINED_ADMIN_TOKEN = "sim-admin-token-0123456789abcdef";
const BARE_WORKER = "passthrough";
// The process that holds the Durable Objects; the edge's bindings name its classes.
const OBJECTS_WORKER = "gateway";
// The process that serves the traffic.
const EDGE_WORKER = "edge";

/** The bare Worker: forwards to ORIGIN_URL and nothing else. The gateway's cost is what it adds to this. */
const PASS_THROUGH_SOURCE = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(new URL(url.pathname + url.search, env.ORIGIN_URL), request));
  },
};`;

/** What the diagnostic reads of a cluster root (durable-objects/cluster-root.ts RootState, which needs workerd's types). */
export type RootView = { accounts: number; verdict: string; score: number | null; evidence: EvidenceItem[]; signature?: Signature };

export type Target = {
  mode: "self-contained" | "gateway";
  gatewayUrl: string;
  adminToken: string;
  /** Where the replayed traffic goes. */
  gateway: HttpClient;
  /** The admin API and cron: the process with the Durable Objects and D1. */
  admin: HttpClient;
  /** Gateways with a KV of their own that must see the same policy and account writes as `admin`. */
  kvReplicas: HttpClient[];
  /** The bare pass-through Worker, or null when it could not be set up (see notes). */
  bare: { client: HttpClient; headers: Record<string, string> } | null;
  /** Runs the cron linker once; resolves with false when this target cannot trigger it. */
  runCron: () => Promise<boolean>;
  /** Writes the policy document straight to KV (self-contained only), for gateways without PUT /admin/policy. */
  putPolicyInKv: ((document: string) => Promise<void>) | null;
  /** Errors and warnings the gateway logged (self-contained only; a running gateway logs to its own terminal). */
  workerErrors: () => string[];
  /** The gateway's decision log, every decision by request id (self-contained only). */
  decisions: Map<string, DecisionInfo> | null;
  /**
   * A key's cluster root as it stands now (self-contained only): D1 snapshots lag by up to a minute,
   * and a diagnostic wants the score and evidence the root last judged.
   */
  inspectRoot: ((key: string, policy: Policy) => Promise<RootView>) | null;
  notes: string[];
  close: () => Promise<void>;
};

const STATE_PREFIX = "distillguard-sim-state-";
const OWNER_FILE = "owner.pid";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The state a run left behind when it was killed outright (SIGKILL, a crash): up to a GB of RAM each
 * under /dev/shm. A run's directory names its process; one whose process is gone is removed.
 */
function removeAbandonedState(base: string): number {
  let removed = 0;
  for (const name of readdirSync(base)) {
    if (!name.startsWith(STATE_PREFIX)) continue;
    const dir = join(base, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), "utf8"));
    } catch {
      continue; // no owner recorded: not ours to judge
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      rmSync(dir, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/**
 * Where Miniflare keeps KV, D1 and Durable Object storage. Its "in-memory" default is really files
 * under os.tmpdir(): 24,000 account objects are 24,000 SQLite files plus a blob per KV write, and on
 * a disk that I/O, not the gateway, sets the pace. tmpfs keeps the same files in RAM.
 */
function storageRoot(): { dir: string; removed: number } {
  const shm = "/dev/shm";
  const base = existsSync(shm) ? shm : tmpdir();
  const removed = removeAbandonedState(base);
  const dir = mkdtempSync(join(base, STATE_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  return { dir, removed };
}

/** The gateway bundle (`wrangler deploy --dry-run`) in a directory of its own; `remove` deletes it. */
export type GatewayBundle = { dir: string; script: string; remove: () => void };

/** Builds the bundle once, for callers that start many self-contained gateways (sim/node/eval.ts). */
export function buildGatewayBundle(): GatewayBundle {
  const dir = mkdtempSync(join(tmpdir(), "distillguard-sim-"));
  try {
    return { dir, script: buildGateway(dir), remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function buildGateway(outDir: string): string {
  const result = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outDir], {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
  });
  const script = join(outDir, "index.js");
  if (result.status !== 0 || !existsSync(script)) {
    throw new Error(`building the gateway bundle failed (npx wrangler deploy --dry-run):\n${result.stdout}\n${result.stderr}`);
  }
  return script;
}


const DECISION_LINE = '{"msg":"decision"';

/**
 * The gateway's stdout, one structured line at a time: never printed (100k decision lines would
 * bury the progress bar), but every decision is kept, allows included (their risk is the
 * per-account risk the report charts, their reasons what changed when leakage rose again), and
 * errors are kept for the run notes.
 */
function collectLogs(errors: string[], decisions: Map<string, DecisionInfo>) {
  return ({ level, message }: { level: string; message: string }) => {
    if (message.startsWith(DECISION_LINE)) {
      try {
        const d = JSON.parse(message) as { requestId?: unknown; action?: unknown; enforced?: unknown; reasons?: unknown; risk?: unknown; clusters?: unknown; local?: unknown };
        if (typeof d.requestId === "string" && typeof d.action === "string") {
          const strings = (value: unknown) => (Array.isArray(value) ? value.filter((r): r is string => typeof r === "string") : []);
          const risk = typeof d.risk === "number" && Number.isFinite(d.risk) ? d.risk : null;
          decisions.set(d.requestId, { action: d.action, enforced: d.enforced === true, reasons: strings(d.reasons), risk, clusters: strings(d.clusters), local: d.local === true });
        }
      } catch {
        // a truncated line: nothing to learn from it
      }
      return;
    }
    if ((level === "error" || level === "warn") && errors.length < 50) errors.push(message.slice(0, 400));
  };
}

/**
 * The gateway as production runs it, on two local processes: the edge (the
 * Worker's fetch handler, with KV for keys and policy, and the bare
 * pass-through Worker) and the Durable Objects (accounts, cluster collectors
 * and roots, D1, the cron linker and the admin API). In production the objects
 * run apart from the edge Workers that call them (often in another data
 * centre); one local workerd process runs every isolate and object on one
 * thread, and the simulator would measure a single core. The edge
 * reaches the objects through Miniflare's dev registry (workerd's debug port:
 * the same RPC calls, the same object ids), and the admin API's writes are
 * repeated to the edge's KV, as KV would replicate them.
 */
export async function startSelfContained(maxSockets: number, inspectorPort?: number, bundle?: GatewayBundle): Promise<Target> {
  const workerd = useWorkerd();
  const restoreEnv = workerd.restore;
  // A bundle handed in belongs to the caller, who starts other gateways from it.
  const outDir = bundle?.dir ?? mkdtempSync(join(tmpdir(), "distillguard-sim-"));
  const storage = storageRoot();
  const stateDir = storage.dir;
  const registry = join(stateDir, "dev-registry");
  const notes: string[] = [
    `workerd ${workerd.version}`,
    `Miniflare storage in ${stateDir}`,
    ...(storage.removed > 0 ? [`removed the state of ${storage.removed} killed earlier run(s)`] : []),
    "edge Worker and Durable Objects in two workerd processes (dev registry): in production the objects run apart from the Workers that call them",
  ];
  const errors: string[] = [];
  const decisions = new Map<string, DecisionInfo>();
  let origin: RunningOrigin | undefined;
  let objects: Miniflare | undefined;
  let edge: Miniflare | undefined;
  const cleanUp = async () => {
    await edge?.dispose();
    await objects?.dispose();
    await origin?.close();
    restoreEnv();
    if (!bundle) rmSync(outDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const scriptPath = bundle?.script ?? buildGateway(outDir);
    origin = await startDemoOrigin(0);
    const gatewayWorker = {
      modules: true,
      scriptPath,
      // The bundle lives in os.tmpdir(); module names must not start with "..".
      modulesRoot: outDir,
      // The bundle imports the elicitation scorer's .wasm file, as wrangler leaves it.
      modulesRules: [{ type: "CompiledWasm" as const, include: ["**/*.wasm"] }],
      compatibilityDate: COMPATIBILITY_DATE,
      kvNamespaces: ["CONFIG"],
      d1Databases: ["DB"],
      analyticsEngineDatasets: { DECISIONS: { dataset: "distillguard_decisions_sim" } },
      bindings: { ORIGIN_URL: origin.url, ADMIN_TOKEN: SELF_CONTAINED_ADMIN_TOKEN, ENVIRONMENT: "simulation" },
    };
    const common = {
      host: "127.0.0.1",
      port: 0,
      // No request.cf download (offline); every simulated request brings its own in MF-CF-Blob.
      cf: false,
      handleStructuredLogs: collectLogs(errors, decisions),
      unsafeDevRegistryPath: registry,
    };
    objects = new Miniflare({
      ...common,
      // Chrome DevTools (chrome://inspect) can then take CPU profiles of either process under load.
      ...(inspectorPort === undefined ? {} : { inspectorPort: inspectorPort + 1 }),
      defaultPersistRoot: join(stateDir, "objects"),
      workers: [
        {
          name: OBJECTS_WORKER,
          ...gatewayWorker,
          // Cluster objects (16 collectors, a root per shared key: a few thousand) stay in memory once
          // started: local workerd evicts an idle object within seconds, and reopening its SQLite file
          // costs more than the call. Account objects cannot: each open one holds ~3 file descriptors
          // (database, WAL, shared memory), and 24,000 of them exceed a 20,000-descriptor ulimit.
          // State lives in SQLite either way, so the gateway decides the same; only speed differs.
          durableObjects: {
            ACCOUNTS: { className: "AccountDO", useSQLite: true },
            CLUSTER_COLLECTORS: { className: "ClusterCollectorDO", useSQLite: true, unsafePreventEviction: true },
            CLUSTER_ROOTS: { className: "ClusterRootDO", useSQLite: true, unsafePreventEviction: true },
          },
        },
      ],
    });
    const objectsUrl = (await objects.ready).href.replace(/\/$/, "");
    edge = new Miniflare({
      ...common,
      ...(inspectorPort === undefined ? {} : { inspectorPort }),
      defaultPersistRoot: join(stateDir, "edge"),
      workers: [
        {
          name: EDGE_WORKER,
          ...gatewayWorker,
          // Bound to the other process's classes: Miniflare proxies each call to the same object id there.
          durableObjects: {
            ACCOUNTS: { className: "AccountDO", scriptName: OBJECTS_WORKER, useSQLite: true },
            CLUSTER_COLLECTORS: { className: "ClusterCollectorDO", scriptName: OBJECTS_WORKER, useSQLite: true, unsafePreventEviction: true },
            CLUSTER_ROOTS: { className: "ClusterRootDO", scriptName: OBJECTS_WORKER, useSQLite: true, unsafePreventEviction: true },
          },
        },
        {
          name: BARE_WORKER,
          modules: true,
          script: PASS_THROUGH_SOURCE,
          compatibilityDate: COMPATIBILITY_DATE,
          bindings: { ORIGIN_URL: origin.url },
        },
      ],
    });
    const edgeUrl = (await edge.ready).href.replace(/\/$/, "");
    // Both gateways' D1 (the edge's takes the admin API's writes repeated to it).
    const processes = [[objects, OBJECTS_WORKER], [edge, EDGE_WORKER]] as const;
    for (const [mf, name] of processes) {
      const db = await mf.getD1Database("DB", name);
      await db.batch(migrationStatements().map((s) => db.prepare(s)));
    }
    const gateway = httpClient(edgeUrl, maxSockets);
    const control = httpClient(objectsUrl, 8);
    const runningObjects = objects;
    return {
      mode: "self-contained",
      gatewayUrl: edgeUrl,
      adminToken: SELF_CONTAINED_ADMIN_TOKEN,
      gateway,
      admin: control,
      kvReplicas: [gateway],
      // Same Miniflare, same entry path: MF-Route-Override picks the bare Worker.
      bare: { client: gateway, headers: { "mf-route-override": BARE_WORKER } },
      runCron: async () => {
        const worker = await runningObjects.getWorker(OBJECTS_WORKER);
        const result = await worker.scheduled({ cron: CRON });
        if (result.outcome !== "ok") throw new Error(`scheduled handler: ${result.outcome}`);
        return true;
      },
      putPolicyInKv: async (document) => {
        for (const [mf, name] of processes) {
          const kv = await mf.getKVNamespace("CONFIG", name);
          await kv.put("policy", document);
        }
      },
      workerErrors: () => errors,
      decisions,
      inspectRoot: async (key, policy) => {
        const roots = await runningObjects.getDurableObjectNamespace("CLUSTER_ROOTS", OBJECTS_WORKER);
        const stub = roots.get(roots.idFromName(clusterRootName(key))) as unknown as { inspectRoot(p: Policy): Promise<RootView> };
        return await stub.inspectRoot(policy);
      },
      notes,
      close: async () => {
        gateway.close();
        control.close();
        await cleanUp();
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

/** The admin token of a local `npm start`: --admin-token, $ADMIN_TOKEN, .dev.vars, or the dev default. */
export function localAdminToken(flag: string | undefined): string {
  if (flag) return flag;
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  const devVars = join(REPO, ".dev.vars");
  if (existsSync(devVars)) {
    const match = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, "utf8"));
    const value = match?.[1]?.trim().replace(/^"|"$/g, "");
    if (value) return value;
  }
  return "dev-admin-token";
}

export async function connectGateway(gatewayUrl: string, originUrl: string, adminToken: string, maxSockets: number): Promise<Target> {
  const url = gatewayUrl.replace(/\/$/, "");
  const gateway = httpClient(url, maxSockets);
  const health = await gateway.send("GET", "/healthz", {}).catch((err: unknown) => ({ status: 0, text: String(err) }));
  if (health.status !== 200) throw new Error(`no gateway at ${url} (GET /healthz: ${health.status} ${health.text.slice(0, 200)}); run \`npm start\` first`);
  const notes: string[] = [];
  let cronPath: string | null | undefined;
  const cronPaths = [`/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(CRON)}`, `/__scheduled?cron=${encodeURIComponent(CRON)}`];

  // The bare Worker in a Miniflare of its own, in front of the same origin: not the same process as
  // wrangler dev, so the comparison is looser than in self-contained mode (said in the report).
  let bare: Target["bare"] = null;
  let bareMf: Miniflare | undefined;
  let restoreEnv: () => void = () => {};
  const originUp = await fetch(`${originUrl.replace(/\/$/, "")}/__demo/stats`).then((r) => r.ok, () => false);
  if (originUp) {
    restoreEnv = useWorkerd().restore;
    bareMf = new Miniflare({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      modules: true,
      script: PASS_THROUGH_SOURCE,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { ORIGIN_URL: originUrl },
    });
    const bareUrl = (await bareMf.ready).href.replace(/\/$/, "");
    bare = { client: httpClient(bareUrl, maxSockets), headers: {} };
    notes.push(`bare pass-through Worker ran in its own Miniflare (${bareUrl}), not inside wrangler dev: overhead numbers are indicative`);
  } else {
    notes.push(`no demo origin at ${originUrl}: overhead not measured (pass --origin)`);
  }
  const bareClient = bare?.client;
  const runningBare = bareMf;
  return {
    mode: "gateway",
    gatewayUrl: url,
    adminToken,
    gateway,
    admin: gateway,
    kvReplicas: [],
    bare,
    runCron: async () => {
      if (cronPath === null) return false;
      for (const path of cronPath === undefined ? cronPaths : [cronPath]) {
        const res = await gateway.send("GET", path, {});
        if (res.status === 200) {
          cronPath = path;
          return true;
        }
      }
      cronPath = null;
      notes.push("cron linker not triggered: wrangler dev exposes /__scheduled only with --test-scheduled");
      return false;
    },
    putPolicyInKv: null,
    workerErrors: () => [],
    decisions: null,
    inspectRoot: null,
    notes,
    close: async () => {
      gateway.close();
      bareClient?.close();
      await runningBare?.dispose();
      restoreEnv();
    },
  };
}
