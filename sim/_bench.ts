import { startSelfContained } from "./node/targets.ts";
const eph = false;
const N = Number(process.argv[3] ?? 3000);
const t = await startSelfContained(40);
const H = { authorization: `Bearer ${t.adminToken}`, "content-type": "application/json" };
async function pool(n: number, c: number, f: (i: number) => Promise<void>) { let k = 0; await Promise.all(Array.from({ length: c }, async () => { while (k < n) await f(k++); })); }
let t0 = performance.now();
await pool(N, 24, async (i) => { const r = await t.gateway.send("PUT", `/admin/accounts/b${i}`, H, JSON.stringify({ keys: [`sk-bench-key-${i}-xxxxxxxx`], tier: "build" })); if (r.status !== 201) throw new Error(r.text); });
console.log(eph ? "ephemeral" : "sqlite-files", "accounts/s", (N / ((performance.now() - t0) / 1000)).toFixed(0));
const body = JSON.stringify({ model: "demo-model-1", max_tokens: 256, messages: [{ role: "user", content: "Explain the CAP theorem with an analogy about a bakery and some extra words here" }] });
for (const pass of ["cold", "warm", "warm2", "warm3"]) {
  t0 = performance.now(); let bad = 0;
  await pool(N, 32, async (i) => { const r = await t.gateway.send("POST", "/v1/messages", { "x-api-key": `sk-bench-key-${i}-xxxxxxxx`, "content-type": "application/json", "mf-cf-blob": JSON.stringify({ country: "US", asn: 7922, colo: "IAD", tlsVersion: "TLSv1.3", tlsClientCiphersSha1: "abc", httpProtocol: "HTTP/1.1" }), "cf-connecting-ip": `73.1.${i % 250}.${i % 200}`, "x-demo-events": "120" }, body); if (r.status !== 200) bad++; });
  console.log(pass, "rps", (N / ((performance.now() - t0) / 1000)).toFixed(0), "bad", bad);
}
await t.close();
process.exit(0);
