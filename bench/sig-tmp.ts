import { Miniflare } from "miniflare";
import { startDemoOrigin } from "../demo-origin/server.ts";
const origin = await startDemoOrigin(0);
const script = `export default { async fetch(r, env) {
  const c = new AbortController();
  const req = new Request(env.O + "/v1/messages", { method: "POST", headers: { "x-demo-tag": "t1", "x-demo-header-delay-ms": "3000", "content-type": "application/json", "x-api-key": "k" }, body: JSON.stringify({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }), signal: c.signal });
  const p = fetch(req, { signal: c.signal }).then(r => "status " + r.status, e => "err " + e);
  await scheduler.wait(300); c.abort(); const out = await p; await scheduler.wait(300);
  const a = await (await fetch(env.O + "/__demo/aborted?tag=t1")).text();
  return new Response(out + " aborted=" + a);
} }`;
const mf = new Miniflare({ modules: true, compatibilityDate: "2026-11-01", compatibilityFlags: ["enable_request_signal"], script, bindings: { O: origin.url } });
console.log(await (await mf.dispatchFetch("http://x/")).text());
await mf.dispose(); await origin.close();
