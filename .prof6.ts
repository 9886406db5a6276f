import { messagesBody } from "./bench/fingerprint.ts";
import { normalizeText, rawContentOf } from "./lib/fingerprint/content.ts";
import { simhash } from "./lib/fingerprint/simhash.ts";
const bodies = Array.from({length:8},(_,i)=>messagesBody(16384,i));
const raws = bodies.map(b=>rawContentOf(b, 65536));
const texts = raws.map(r=>normalizeText(r.system!+" "+r.user, 16384).text);
const flat = texts.map(s => JSON.parse(JSON.stringify(s)) as string);
function t(name: string, f: (i:number)=>unknown, n=5000){ for(let i=0;i<300;i++) f(i); const a:number[]=[]; for(let i=0;i<n;i++){const t0=performance.now(); f(i); a.push(performance.now()-t0);} a.sort((x,y)=>x-y); console.log(name.padEnd(24), a[n>>1]!.toFixed(4), a[(n*0.99)|0]!.toFixed(4)); }
t("simhash", i=>simhash(texts[i%8]!));
t("simhash flat", i=>simhash(flat[i%8]!));
console.log(texts[0]!.length, simhash(texts[0]!).shingles);
