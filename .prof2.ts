import { messagesBody } from "./bench/fingerprint.ts";
import { normalizeText, rawContentOf } from "./lib/fingerprint/content.ts";
const bodies = Array.from({length:8},(_,i)=>messagesBody(16384,i));
const raws = bodies.map(b=>rawContentOf(b, 65536));
const texts = raws.map(r=>normalizeText(r.system!+" "+r.user, 16384).text);
function t(name: string, f: (i:number)=>unknown, n=3000){ for(let i=0;i<300;i++) f(i); const a:number[]=[]; for(let i=0;i<n;i++){const t0=performance.now(); f(i); a.push(performance.now()-t0);} a.sort((x,y)=>x-y); console.log(name.padEnd(30), a[n>>1]!.toFixed(4)); }
for (const [n, r] of [["\\bstep", /\bstep[- ]by[- ]step\b/], ["step", /step[- ]by[- ]step/], ["step by", /step by step|step-by-step/], ["jsonl alt", /\bjsonl\b|\bjson lines\b|\bone json object per line\b/], ["jsonl noB", /jsonl|json lines|one json object per line/], ["json prefix", /json(?:l| lines)|one json object/],["big anchor", /reason|thought|think|step|chain|cot\b|grader|judge|evaluat|rubric|score|rate|grade|rank|compar|prefer|chosen|rejected|example|sample|jsonl|json|fine|tun|sft|rlhf|dpo|distill|train|dataset|corpus|synthetic/g]] as const) t(n, i => (r as RegExp).test(texts[i%8]!));
t("includes reason", i=>texts[i%8]!.includes("reason"));
t("ws old", i=>raws[i%8]!.user.slice(0,12000).replace(/\s+/g," "));
t("ws new", i=>raws[i%8]!.user.slice(0,12000).replace(/\s{2,}|[^\S ]/g," "));
t("ws new2", i=>raws[i%8]!.user.slice(0,12000).replace(/[^\S ]\s*| \s+/g," "));
