// Where the gateway's CPU goes on a request its isolate admits on its own (an account holding an
// allowance): a V8 CPU profile of the gateway's isolate under load, through Miniflare's inspector, with
// each sample's time given to the source file it ran in (native calls to the file that made them).
//
//   npx tsx bench/gateway-profile.ts [requests=2000] [clients=4] [out.cpuprofile]
//
// The profiler slows everything it samples (several times over at the 0.5 ms interval used here), so
// the absolute figures are inflated: read the shares, and take the cost per request from the gateway
// bench's workerd_cpu_ms_per_request. The .cpuprofile it writes opens in Chrome DevTools.
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDemoOrigin } from "../demo-origin/server.ts";
import { freePort, GATEWAY_OBJECTS, quietRuntimeStdio, runIfMain, seedBenchGateway, workerdBinary, WORKER_BUNDLE_OPTIONS, WORKER_MODULE_RULES } from "./harness.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ADMIN_TOKEN = `profile-${crypto.randomUUID()}`;
const BODY = JSON.stringify({ model: "demo-model-1", max_tokens: 64, messages: [{ role: "user", content: "Hello there, how are you today?" }] });
const POLICY = {
  tiers: { bench: { requests: 1e9, inputTokens: 1e12, outputTokens: 1e12, exchangesPerDay: 1e12, concurrency: 10_000 } },
  defaultTier: "bench",
};
// 0.5 ms: fine enough to see steps of a few tens of microseconds over thousands of requests.
const SAMPLING_INTERVAL_US = 500;

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function connect(url: string): Promise<{ call: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  let nextId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id === undefined) return;
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve) => {
        const id = ++nextId;
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Sample time per source file of the bundle (esbuild marks each module with a `// path` line). */
export function timeByFile(profile: CpuProfile, bundle: string): Map<string, number> {
  const marks: [number, string][] = [];
  bundle.split("\n").forEach((line, i) => {
    const m = /^\/\/ (\S+\.(?:ts|js))$/.exec(line);
    if (m?.[1]) marks.push([i, m[1].replace(/^(\.\.\/)+(main\/)?/, "")]);
  });
  const fileAt = (line: number): string => {
    let found = "(bundle)";
    for (const [start, file] of marks) {
      if (start > line) break;
      found = file;
    }
    return found;
  };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    let label: string | null = null;
    // A native frame (no url) is charged to the nearest script frame that called it.
    for (let at: number | undefined = id; at !== undefined && label === null; at = parents.get(at)) {
      const f = nodes.get(at)?.callFrame;
      if (f?.url) label = fileAt(f.lineNumber);
    }
    const key = label ?? frame.functionName;
    byFile.set(key, (byFile.get(key) ?? 0) + us);
  }
  return byFile;
}

export async function profileGateway(requests = 2_000, clients = 4, out?: string): Promise<void> {
  const workerd = workerdBinary();
  const origin = await startDemoOrigin(0);
  const outDir = mkdtempSync(join(tmpdir(), "gateway-profile-"));
  let mf: Miniflare | undefined;
  try {
    const script = join(outDir, "worker.js");
    await build({ entryPoints: [join(HERE, "gateway", "entry.ts")], outfile: script, ...WORKER_BUNDLE_OPTIONS, keepNames: true });
    if (workerd.path) process.env.MINIFLARE_WORKERD_PATH = workerd.path;
    const inspectorPort = await freePort();
    mf = new Miniflare({
      host: "127.0.0.1",
      inspectorPort,
      handleRuntimeStdio: quietRuntimeStdio,
      workers: [{
        name: "gateway", modules: true, scriptPath: script, modulesRoot: outDir, modulesRules: WORKER_MODULE_RULES, compatibilityDate: "2026-11-01",
        compatibilityFlags: ["enable_request_signal"], kvNamespaces: ["CONFIG"], d1Databases: ["DB"], durableObjects: GATEWAY_OBJECTS,
        bindings: { ORIGIN_URL: origin.url, ENVIRONMENT: "production", ADMIN_TOKEN },
      }],
    });
    await mf.ready;
    const runtime = mf;
    const [key = ""] = await seedBenchGateway(runtime, { worker: "gateway", host: "gateway.bench", policy: POLICY, adminToken: ADMIN_TOKEN, accounts: ["profile-0"] });
    const send = async () => {
      const res = await runtime.dispatchFetch("http://gateway.bench/v1/messages", {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json", "content-length": String(BODY.length), "anthropic-version": "2023-06-01" },
        body: BODY,
      });
      await res.arrayBuffer();
    };
    // Past the history an allowance needs, and warm: what is profiled is the local path.
    for (let i = 0; i < 600; i++) await send();

    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { title: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => t.title.includes("gateway"));
    if (!target) throw new Error(`no inspector target for the gateway among ${targets.map((t) => t.title).join(", ")}`);
    const inspector = await connect(target.webSocketDebuggerUrl);
    await inspector.call("Profiler.enable");
    await inspector.call("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
    await inspector.call("Profiler.start");
    let next = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (next < requests) {
        next++;
        await send();
      }
    }));
    const { profile } = (await inspector.call("Profiler.stop")) as { profile: CpuProfile };
    inspector.close();
    if (out) writeFileSync(out, JSON.stringify(profile));

    const byFile = timeByFile(profile, readFileSync(script, "utf8"));
    let busy = 0;
    for (const us of byFile.values()) busy += us;
    const rows = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 30);
    console.log(JSON.stringify({ name: "gateway-profile", requests, clients, profiled_ms_per_request: Math.round(busy / requests) / 1000 }));
    for (const [file, us] of rows) console.log(`${(us / requests).toFixed(0).padStart(6)} µs/req (profiled) ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${file}`);
  } finally {
    await mf?.dispose();
    await origin.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, () => profileGateway(Number(process.argv[2] ?? 2_000), Number(process.argv[3] ?? 4), process.argv[4]));
