import { messagesBody } from "./bench/fingerprint.ts";
import { normalizeText, rawContentOf, systemPromptSha256 } from "./lib/fingerprint/content.ts";
import { simhash } from "./lib/fingerprint/simhash.ts";
import { elicitationScore } from "./lib/fingerprint/elicitation.ts";
const bodies = Array.from({length:8},(_,i)=>messagesBody(16384,i));
const raws = bodies.map(b=>rawContentOf(b, 65536));
function t(name: string, f: (i:number)=>unknown, n=3000){ for(let i=0;i<300;i++) f(i); const a:number[]=[]; for(let i=0;i<n;i++){const t0=performance.now(); f(i); a.push(performance.now()-t0);} a.sort((x,y)=>x-y); console.log(name.padEnd(24), a[n>>1]!.toFixed(4), a[(n*0.99)|0]!.toFixed(4)); }
t("norm sys", i=>normalizeText(raws[i%8]!.system!, 12288));
t("norm user", i=>normalizeText(raws[i%8]!.user, 16384));
const texts = raws.map(r=>normalizeText(r.system!+" "+r.user, 16384).text);
t("simhash", i=>simhash(texts[i%8]!));
t("elic", i=>elicitationScore(texts[i%8]!));
const ts = async (name: string, f: (i:number)=>Promise<unknown>, n=3000) => { for(let i=0;i<300;i++) await f(i); const a:number[]=[]; for(let i=0;i<n;i++){const t0=performance.now(); await f(i); a.push(performance.now()-t0);} a.sort((x,y)=>x-y); console.log(name.padEnd(24), a[n>>1]!.toFixed(4), a[(n*0.99)|0]!.toFixed(4)); };
await ts("sha", i=>systemPromptSha256(raws[i%8]!.system!, 16384));
