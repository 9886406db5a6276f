import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDemoOrigin } from "../demo-origin/server.ts";
import { GATEWAY_OBJECTS, migrationStatements, workerdBinary, WORKER_BUNDLE_OPTIONS } from "./harness.ts";

const ADMIN_TOKEN = "bench-x";
const BODY = JSON.stringify({ model: "demo-model-1", max_tokens: 64, messages: [{ role: "user", content: "Hello there, how are you today?" }] });
const BARE = `export default { fetch(request, env) { const url = new URL(request.url); return fetch(env.ORIGIN_URL + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body }); } };`;
const workerd = workerdBinary();
const origin = await startDemoOrigin(0);
const outDir = mkdtempSync(join(tmpdir(), "gwcpu-"));
await build({ entryPoints: [join(import.meta.dirname, "gateway", "entry.ts")], outfile: join(outDir, "worker.js"), ...WORKER_BUNDLE_OPTIONS });
if (workerd.path) process.env.MINIFLARE_WORKERD_PATH = workerd.path;
const mf = new Miniflare({
  host: "127.0.0.1",
  handleRuntimeStdio: (o, e) => { o.resume(); e.pipe(process.stderr); },
  workers: [
    { name: "gateway", modules: true, scriptPath: join(outDir, "worker.js"), modulesRoot: outDir, compatibilityDate: "2026-11-01", routes: ["gateway.bench/*"], kvNamespaces: ["CONFIG"], d1Databases: ["DB"], durableObjects: GATEWAY_OBJECTS, bindings: { ORIGIN_URL: origin.url, ENVIRONMENT: "production", ADMIN_TOKEN } },
    { name: "bare", modules: true, script: BARE, compatibilityDate: "2026-11-01", routes: ["bare.bench/*"], bindings: { ORIGIN_URL: origin.url } },
  ],
});
await mf.ready;
const db = await mf.getD1Database("DB", "gateway");
for (const s of migrationStatements()) await db.prepare(s).run();
const kv = await mf.getKVNamespace("CONFIG", "gateway");
await kv.put("policy", JSON.stringify({ tiers: { bench: { requests: 1e9, inputTokens: 1e12, outputTokens: 1e12, exchangesPerDay: 1e12, concurrency: 10000 } }, defaultTier: "bench" }));
const key = "sk-bench-0";
await (await mf.dispatchFetch("http://gateway.bench/admin/accounts/a0", { method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ keys: [key], tier: "bench" }) })).text();
const send = async (host: string) => { const res = await mf.dispatchFetch(`http://${host}/v1/messages`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: BODY }); await res.arrayBuffer(); return res.status; };
function children(pid: number): number[] { const out: number[] = []; for (const t of readdirSync(`/proc/${pid}/task`)) { const c = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim(); if (c) out.push(...c.split(/\s+/).map(Number)); } return out; }
function tree(pid: number): number[] { return [pid, ...children(pid).flatMap(tree)]; }
const wpids = children(process.pid).flatMap(tree).filter((p) => { try { return readFileSync(`/proc/${p}/comm`, "utf8").includes("workerd"); } catch { return false; } });
const ticks = () => wpids.reduce((s, p) => { const f = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" "); return s + Number(f[11]) + Number(f[12]); }, 0) * 10;
for (let i = 0; i < 800; i++) { await send("gateway.bench"); await send("bare.bench"); }
const N = Number(process.env.N ?? 2000), C = Number(process.env.C ?? 1);
for (const round of [1, 2]) for (const host of ["bare.bench", "gateway.bench", "gateway.bench", "bare.bench"]) {
  const w0 = ticks(), n0 = process.cpuUsage(), t0 = performance.now(); let next = 0;
  await Promise.all(Array.from({ length: C }, async () => { while (next < N) { next++; await send(host); } }));
  const ms = performance.now() - t0, w = ticks() - w0, n = process.cpuUsage(n0);
  console.log(`${host.padEnd(14)} C=${C} rps=${(N / ms * 1000).toFixed(0)} workerd_cpu_ms/req=${(w / N).toFixed(3)} node_cpu_ms/req=${((n.user + n.system) / 1000 / N).toFixed(3)}`);
}
await mf.dispose(); await origin.close(); process.exit(0);
