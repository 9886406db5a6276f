import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDemoOrigin } from "../demo-origin/server.ts";
import { GATEWAY_OBJECTS, migrationStatements, workerdBinary, WORKER_BUNDLE_OPTIONS, freePort } from "./harness.ts";

const ADMIN_TOKEN = "bench-x";
const BODY = JSON.stringify({ model: "demo-model-1", max_tokens: 64, messages: [{ role: "user", content: "Hello there, how are you today?" }] });
const workerd = workerdBinary();
const origin = await startDemoOrigin(0);
const outDir = process.env.OUTDIR ?? mkdtempSync(join(tmpdir(), "gwprof-"));
await build({ entryPoints: [join(import.meta.dirname, "gateway", "entry.ts")], outfile: join(outDir, "worker.js"), ...WORKER_BUNDLE_OPTIONS, sourcemap: false, minify: false, keepNames: true });
if (workerd.path) process.env.MINIFLARE_WORKERD_PATH = workerd.path;
const inspectorPort = await freePort();
const mf = new Miniflare({
  host: "127.0.0.1", inspectorPort,
  handleRuntimeStdio: (o, e) => { o.resume(); e.pipe(process.stderr); },
  workers: [{ name: "gateway", modules: true, scriptPath: join(outDir, "worker.js"), modulesRoot: outDir, compatibilityDate: "2026-11-01", routes: ["gateway.bench/*"], kvNamespaces: ["CONFIG"], d1Databases: ["DB"], durableObjects: GATEWAY_OBJECTS, bindings: { ORIGIN_URL: origin.url, ENVIRONMENT: "production", ADMIN_TOKEN } }],
});
await mf.ready;
const db = await mf.getD1Database("DB", "gateway");
for (const s of migrationStatements()) await db.prepare(s).run();
const kv = await mf.getKVNamespace("CONFIG", "gateway");
await kv.put("policy", JSON.stringify({ tiers: { bench: { requests: 1e9, inputTokens: 1e12, outputTokens: 1e12, exchangesPerDay: 1e12, concurrency: 10000 } }, defaultTier: "bench" }));
const key = "sk-bench-0";
let r = await mf.dispatchFetch("http://gateway.bench/admin/accounts/a0", { method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ keys: [key], tier: "bench" }) });
console.error("seed", r.status, await r.text());
const send = async () => { const res = await mf.dispatchFetch("http://gateway.bench/v1/messages", { method: "POST", headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: BODY }); await res.arrayBuffer(); return res.status; };
for (let i = 0; i < 600; i++) await send();
const list = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { id: string; title: string; webSocketDebuggerUrl: string }[];
console.error(list.map((t) => t.title + " " + t.webSocketDebuggerUrl));
const target = list.find((t) => t.title.includes("gateway")) ?? list[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((res) => ws.addEventListener("open", res));
let id = 0; const waiting = new Map<number, (v: any) => void>();
ws.addEventListener("message", (ev) => { const m = JSON.parse(String(ev.data)); if (m.id && waiting.has(m.id)) { waiting.get(m.id)!(m); waiting.delete(m.id); } });
const call = (method: string, params: object = {}) => new Promise<any>((res) => { const i = ++id; waiting.set(i, res); ws.send(JSON.stringify({ id: i, method, params })); });
await call("Profiler.enable"); await call("Profiler.setSamplingInterval", { interval: Number(process.env.INTERVAL ?? 500) }); await call("Profiler.start");
const N = Number(process.env.N ?? 2000); const C = Number(process.env.C ?? 1);
const t0 = performance.now(); let next = 0;
await Promise.all(Array.from({ length: C }, async () => { while (next < N) { next++; await send(); } }));
const ms = performance.now() - t0;
const prof = await call("Profiler.stop");
writeFileSync(process.env.OUT ?? "/tmp/edge/gw.cpuprofile", JSON.stringify(prof.result.profile));
console.error(`N=${N} C=${C} ${ms.toFixed(0)} ms, ${(N / ms * 1000).toFixed(0)} rps`);
ws.close(); await mf.dispose(); await origin.close(); process.exit(0);
