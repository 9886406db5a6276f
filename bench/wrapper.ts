/**
 * Wrapper-key quality (not speed): for each share of varied content, how much
 * of a campaign's traffic sits on its most common wrapper key, and how often
 * unrelated honest prompts share one. `npm run bench -- wrapper` prints one
 * JSON line per (options, share) and one per options for the honest prompts;
 * `--sweep` also tries the alternatives the defaults were chosen over.
 */
import { WRAPPER_DEFAULTS, type WrapperOptions } from "../lib/fingerprint/wrapper.ts";
import { measureHonest, measureShare, SHARES, UNSEPARATED } from "../test/lib/fingerprint/wrapper-corpus.ts";

const ALTERNATIVES: readonly (WrapperOptions & { name: string })[] = [
  { name: "default", ...WRAPPER_DEFAULTS },
  { name: "fixed-6-words", minWords: 6, maxWords: 6, minRest: 1 },
  { name: "fixed-8-words", minWords: 8, maxWords: 8, minRest: 1 },
  { name: "fixed-12-words", minWords: 12, maxWords: 12, minRest: 1 },
  { name: "segments-6-24", minWords: 6, maxWords: 24, minRest: 1 },
  { name: "segments-10-24", minWords: 10, maxWords: 24, minRest: 1 },
  { name: "segments-8-16", minWords: 8, maxWords: 16, minRest: 1 },
  { name: "segments-8-32", minWords: 8, maxWords: 32, minRest: 1 },
  { name: "segments-8-24-rest8", minWords: 8, maxWords: 24, minRest: 8 },
];

export async function benchWrapper(): Promise<void> {
  const sweep = process.argv.includes("--sweep");
  for (const { name, ...options } of sweep ? ALTERNATIVES : ALTERNATIVES.slice(0, 1)) {
    for (const share of SHARES) console.log(JSON.stringify({ name: `wrapper/${name}/campaign`, ...measureShare(share, options, { bands: true }) }));
    console.log(JSON.stringify({ name: `wrapper/${name}/honest`, ...measureHonest(options) }));
  }
  for (const share of SHARES) console.log(JSON.stringify({ name: "wrapper/default/unseparated", ...measureShare(share, WRAPPER_DEFAULTS, { bands: true, joins: UNSEPARATED }) }));
}
