/**
 * Wrapper-key quality (not speed): for each share of varied content, how much
 * of a campaign's traffic sits on its most common wrapper key, and how often
 * unrelated honest prompts share one. `npm run bench -- wrapper` prints one
 * JSON line per (options, share) and one per options for the honest prompts;
 * `--sweep` also tries the alternatives the defaults were chosen over.
 */
import { normalizeText } from "../lib/fingerprint/content.ts";
import { bandKeys, simhash } from "../lib/fingerprint/simhash.ts";
import { WRAPPER_DEFAULTS, type WrapperOptions, wrapperKeys } from "../lib/fingerprint/wrapper.ts";
import {
  type CampaignSpec,
  type ContentKind,
  campaignPrompts,
  collisionRate,
  concentration,
  honestPrompts,
  type Position,
  rngOf,
} from "../test/lib/fingerprint/wrapper-corpus.ts";

export const SHARES = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const CONTENTS: readonly ContentKind[] = ["problem", "code", "essay"];
const JOINS: readonly { separator: string; terminator: string }[] = [
  { separator: "\n\n", terminator: "." },
  { separator: "\n", terminator: ":" },
  { separator: " ", terminator: "." },
  { separator: "\n\n", terminator: "" },
];
// Instruction run straight into the content, no line break or punctuation between: reported apart,
// as the start of such a text has no boundary to anchor on (the end still does: content ends a sentence).
const UNSEPARATED = [{ separator: " ", terminator: "" }];

/** Every campaign shape at one share: positions × contents × wrapper lengths × joins. */
export function campaignSpecs(share: number, joins = JOINS): CampaignSpec[] {
  const specs: CampaignSpec[] = [];
  for (const position of ["prefix", "suffix", "both"] as const satisfies readonly Position[]) {
    // Both ends: 10 words a side at least, as each end is found on its own.
    const lengths = position === "both" ? [20, 40, 60] : [10, 15, 25, 40, 60];
    for (const content of CONTENTS) for (const wrapperWords of lengths) for (const join of joins) specs.push({ position, wrapperWords, content, share, ...join });
  }
  return specs;
}

export type ShareRow = {
  share: number;
  campaigns: number;
  meanConcentration: number;
  minConcentration: number;
  below90: number;
  /** The same campaigns seen through the whole-prompt SimHash: share on the most common template band. */
  meanBandConcentration: number;
};

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

export function measureShare(share: number, options: WrapperOptions, requests = 40, joins = JOINS): ShareRow {
  const rng = rngOf(Math.round(share * 1000));
  const wrapped: number[] = [];
  const banded: number[] = [];
  for (const spec of campaignSpecs(share, joins)) {
    const prompts = campaignPrompts(spec, requests, rng);
    wrapped.push(concentration(prompts.map((p) => wrapperKeys(p, options))).share);
    banded.push(concentration(prompts.map((p) => bandKeys(simhash(normalizeText(p, 16_384).text).hex))).share);
  }
  return {
    share,
    campaigns: wrapped.length,
    meanConcentration: mean(wrapped),
    minConcentration: Math.min(...wrapped),
    below90: wrapped.filter((v) => v < 0.9).length,
    meanBandConcentration: mean(banded),
  };
}

export function measureHonest(options: WrapperOptions, count = 500): { prompts: number; maxKeyShare: number; collisionRate: number; keysPerPrompt: number } {
  const keys = honestPrompts(count, rngOf(17)).map((p) => wrapperKeys(p, options));
  return {
    prompts: count,
    maxKeyShare: concentration(keys).share,
    collisionRate: collisionRate(keys),
    keysPerPrompt: keys.reduce((n, k) => n + k.length, 0) / count,
  };
}

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
    for (const share of SHARES) console.log(JSON.stringify({ name: `wrapper/${name}/campaign`, ...measureShare(share, options) }));
    console.log(JSON.stringify({ name: `wrapper/${name}/honest`, ...measureHonest(options) }));
  }
  for (const share of SHARES) console.log(JSON.stringify({ name: "wrapper/default/unseparated", ...measureShare(share, WRAPPER_DEFAULTS, 40, UNSEPARATED) }));
}
