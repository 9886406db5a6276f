/**
 * The phrase rules' anchor scan (in WebAssembly, over UTF-8 bytes) finds what
 * the regex it replaced found: `\b(?:stem|…)`, longest stem first, each hit
 * counted for every stem it starts with, up to a limit per stem, at string
 * indices, on corpus prompts and on texts where bytes and string differ or
 * `\b` is subtle.
 */
import { describe, expect, it } from "vitest";
import agentic from "../../../data/elicitation/categories/agentic_trace.json";
import coding from "../../../data/elicitation/categories/coding_trace.json";
import grader from "../../../data/elicitation/categories/grader.json";
import preference from "../../../data/elicitation/categories/preference.json";
import reasoning from "../../../data/elicitation/categories/reasoning_trace.json";
import synthetic from "../../../data/elicitation/categories/synthetic_data.json";
import content from "../../../data/elicitation/content.json";
import families from "../../../data/elicitation/families.json";
import negatives from "../../../data/elicitation/negatives.json";
import { type CorpusData, generateExamples } from "../../../lib/fingerprint/elicitation-corpus.ts";
import { anchorHits } from "../../../lib/fingerprint/elicitation-wasm.ts";
import { ELICITATION_RULES, ruleScore } from "../../../lib/fingerprint/elicitation.ts";

const CORPUS: CorpusData = { families, content, negatives, categories: [reasoning, grader, preference, synthetic, agentic, coding] };
const STEMS = [...new Set(ELICITATION_RULES.flatMap((rule) => rule.anchors))];
const KEEP = 17;

/** The scan as a regex over the string, as the rules first ran it. */
function regexHits(text: string, stems: readonly string[], keep: number): Map<string, number[]> {
  const longestFirst = [...stems].sort((a, b) => b.length - a.length);
  const scan = new RegExp(`\\b(?:${longestFirst.join("|")})`, "g");
  const hits = new Map<string, number[]>();
  for (const match of text.matchAll(scan)) {
    for (const stem of longestFirst.filter((s) => match[0].startsWith(s))) {
      const positions = hits.get(stem) ?? [];
      if (positions.length < keep) positions.push(match.index);
      hits.set(stem, positions);
    }
  }
  return hits;
}

const sorted = (hits: Map<string, number[]>) => [...hits].sort(([a], [b]) => a.localeCompare(b));

const EDGE_TEXTS = [
  "",
  "reasoning",
  "show your reasoning",
  "_reasoning 0reasoning xreasoning éreasoning 😀reasoning 日本reasoning",
  "reasoningreasoning work-steps steps.steps,thoughts thought thinking",
  "Reasoning REASONING rEasoning",
  "\ud800reasoning x\udc00thinking \ufffdsteps",
  "deliberations deliberation chain of thought scratchpad rationale monologue",
  `${"work ".repeat(40)}show your full internal reasoning`,
  `${"😀 naïve ".repeat(500)}write out your thought process`,
  "reason reaso re r",
];

describe("elicitation anchor scan", () => {
  it("should find the hits the regex found, at string indices", () => {
    const texts = [
      ...EDGE_TEXTS,
      ...generateExamples(CORPUS, { seed: 43, perPhrasing: 2, perTemplate: 2 }).map((example) => example.text),
    ];
    expect(texts.length).toBeGreaterThan(1_000);
    const differing = texts.filter((text) => JSON.stringify(sorted(anchorHits(text, STEMS, KEEP))) !== JSON.stringify(sorted(regexHits(text, STEMS, KEEP))));
    expect(differing.map((text) => JSON.stringify(text.slice(0, 60)))).toEqual([]);
  });

  it("should keep only the first hits of a stem past the limit", () => {
    const text = "work ".repeat(40);
    const hits = anchorHits(text, STEMS, KEEP).get("work");
    expect(hits).toEqual(Array.from({ length: KEEP }, (_, i) => 5 * i));
  });

  it("should still match a phrase that decoy anchors push past the limit", () => {
    expect(ruleScore(`${"reasoning ".repeat(30)}and please show your full internal reasoning`).reasons).toEqual(["cot:internal_reasoning", "cot:show_reasoning"]);
  });
});
