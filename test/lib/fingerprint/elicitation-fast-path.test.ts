/**
 * The fast scorer computes what the plain one did: the same feature buckets as
 * a charCodeAt walk over the string (test/lib/fingerprint/elicitation-reference.ts),
 * and, in WebAssembly (lib/fingerprint/elicitation-wasm.ts), the same
 * probabilities as summing the dense weights over a text's distinct buckets:
 * identical floats, since both add the same integers. On corpus prompts and on
 * the texts a byte-level walk could get wrong (characters past U+FFFF, lone
 * surrogates, U+FFFD itself, text around the character-window edges).
 */
import { describe, expect, it } from "vitest";
import agentic from "../../../data/elicitation/categories/agentic_trace.json";
import coding from "../../../data/elicitation/categories/coding_trace.json";
import grader from "../../../data/elicitation/categories/grader.json";
import preference from "../../../data/elicitation/categories/preference.json";
import preferenceGeneration from "../../../data/elicitation/categories/preference_generation.json";
import reasoning from "../../../data/elicitation/categories/reasoning_trace.json";
import synthetic from "../../../data/elicitation/categories/synthetic_data.json";
import content from "../../../data/elicitation/content.json";
import families from "../../../data/elicitation/families.json";
import negatives from "../../../data/elicitation/negatives.json";
import { normalizeText } from "../../../lib/fingerprint/content.ts";
import { type CorpusData, generateExamples, seededRandom } from "../../../lib/fingerprint/elicitation-corpus.ts";
import { BUCKETS, CATEGORIES, CHAR_WINDOW, featureBuckets, GROUP_BITS, groupsOf, type Model, unpackModel } from "../../../lib/fingerprint/elicitation-features.ts";
import { ELICITATION_MODEL } from "../../../lib/fingerprint/elicitation-model.ts";
import { categoryProbabilities } from "../../../lib/fingerprint/elicitation.ts";
import { referenceBuckets, referenceProbabilities } from "./elicitation-reference.ts";

const CORPUS: CorpusData = { families, content, negatives, categories: [reasoning, grader, preference, preferenceGeneration, synthetic, agentic, coding] };

// Every category, phrasing family and ordinary group of both splits, with the training-time variants.
const CORPUS_EXAMPLES = [
  ...generateExamples(CORPUS, { seed: 41, perPhrasing: 3, perTemplate: 3, augment: true, splits: ["train"] }),
  ...generateExamples(CORPUS, { seed: 42, perPhrasing: 2, perTemplate: 2, splits: ["heldout"] }),
];
const CORPUS_TEXTS = CORPUS_EXAMPLES.map((example) => example.text);

const filler = (length: number) => "show your full reasoning step by step and grade each answer ".repeat(Math.ceil(length / 60)).slice(0, length);
const EDGE_TEXTS = [
  "",
  "a",
  "ab",
  "abc def",
  "0 0 0 00",
  "reasoning.",
  "😀",
  "😀😀 step 😀by😀 step 𝒓𝒆𝒂𝒔𝒐𝒏",
  "\ud800",
  "x\udc00y",
  "lone \ud83d high, lone \ude00 low, and a real \ufffd replacement",
  "\ufffd\ud800\ufffd \udfff\ufffd",
  "日本語の推論を一歩ずつ書いてください。",
  "请一步一步地思考，并写出你完整的推理过程。",
  "단계별로 추론 과정을 모두 보여 주세요",
  "raisonnement étape par étape — « montre tout » ; ça, c'est l'idée…",
  "full‑width：ｒｅａｓｏｎｉｎｇ　ａｎｄ　ｓｔｅｐｓ",
  ...[CHAR_WINDOW - 1, CHAR_WINDOW, CHAR_WINDOW + 1, 2 * CHAR_WINDOW - 1, 2 * CHAR_WINDOW, 2 * CHAR_WINDOW + 1, 16_000].map(filler),
  // A character past U+FFFF across each window edge: its two halves fall in different windows.
  `${filler(CHAR_WINDOW - 1)}😀${filler(CHAR_WINDOW)}`,
  `${filler(CHAR_WINDOW * 3)}😀${filler(CHAR_WINDOW - 1)}`,
  // A lone surrogate as the last unit of the first window, and as the first of the last.
  `${filler(CHAR_WINDOW - 1)}\udc00${filler(CHAR_WINDOW * 2)}\ufffd`,
  `${filler(CHAR_WINDOW * 3)}\ud800${filler(CHAR_WINDOW - 1)}`,
  normalizeText(`${"Éclair über naïve café. ".repeat(400)}Write out every step.`, 16_384).text,
  // Past the memory the scorer starts with, so it grows (and its tables must survive that).
  `${filler(60_000)}😀${filler(60_000)}`,
];

const sortedDistinct = (buckets: ArrayLike<number>) => [...new Set(Array.from(buckets))].sort((a, b) => a - b);

/** A model with a weight on one bucket in `every`, drawn from `seed`: weighted buckets everywhere, not only where the shipped model has them. */
function denseModel(every: number, seed: number): Model {
  const random = seededRandom(seed);
  const k = CATEGORIES.length;
  const weights = new Int8Array(BUCKETS * k);
  for (let bucket = 0; bucket < BUCKETS; bucket += 1 + Math.floor(random() * 2 * every)) {
    for (let c = 0; c < k; c++) weights[bucket * k + c] = Math.floor(random() * 255) - 127;
  }
  return { categories: CATEGORIES, scales: Float64Array.from(CATEGORIES, (_, c) => 0.01 + c * 0.003), biases: Float64Array.from(CATEGORIES, (_, c) => -2 + c * 0.5), weights };
}

function maxDifference(model: Model, texts: readonly string[]): number {
  let most = 0;
  for (const text of texts) {
    const fast = categoryProbabilities(model, text);
    const reference = referenceProbabilities(model, text);
    for (let c = 0; c < fast.length; c++) most = Math.max(most, Math.abs((fast[c] ?? 0) - (reference[c] ?? 0)));
  }
  return most;
}

describe("elicitation fast path", () => {
  it("should sample thousands of corpus prompts of every category and split", () => {
    expect(CORPUS_TEXTS.length).toBeGreaterThan(2_500);
    expect(new Set(CORPUS_EXAMPLES.map((example) => `${example.label ?? "ordinary"}/${example.split}`)).size).toBe(2 * (CATEGORIES.length + 1));
  });

  it("should produce the same feature buckets as the reference string walk", () => {
    const differing = [...CORPUS_TEXTS, ...EDGE_TEXTS].filter((text) => {
      const [buckets, count] = featureBuckets(text);
      const reference = referenceBuckets(text);
      return count !== reference.length || sortedDistinct(buckets.subarray(0, count)).join() !== sortedDistinct(reference).join();
    });
    // JSON, because a lone surrogate in a failure message breaks the test runner's own channel.
    expect(differing.map((text) => JSON.stringify(text.slice(0, 60)))).toEqual([]);
  });

  it("should keep exactly the features whose bucket group it is given", () => {
    const model = unpackModel(ELICITATION_MODEL);
    const weighted = new Set<number>();
    for (let bucket = 0; bucket < BUCKETS; bucket++) if (model.weights.subarray(bucket * 6, bucket * 6 + 6).some((w) => w !== 0)) weighted.add(bucket);
    const groups = groupsOf(weighted);
    const weightedGroups = new Set([...weighted].map((bucket) => bucket >>> GROUP_BITS));
    const inGroup = (bucket: number) => weightedGroups.has(bucket >>> GROUP_BITS);
    for (const text of EDGE_TEXTS.slice(-4)) {
      const [buckets, count] = featureBuckets(text, groups);
      expect(sortedDistinct(buckets.subarray(0, count))).toEqual(sortedDistinct(referenceBuckets(text)).filter(inGroup));
    }
  });

  it("should give the shipped model's probabilities of the dense sums, float for float", () => {
    expect(maxDifference(unpackModel(ELICITATION_MODEL), [...CORPUS_TEXTS, ...EDGE_TEXTS])).toBe(0);
  });

  it.each([
    ["a bucket in 8", 8],
    ["a bucket in 100", 100],
  ])("should give the dense sums for a model weighing %s", (_, every) => {
    const texts = [...CORPUS_TEXTS.slice(0, 400), ...EDGE_TEXTS];
    expect(maxDifference(denseModel(every, every), texts)).toBe(0);
  });
});
