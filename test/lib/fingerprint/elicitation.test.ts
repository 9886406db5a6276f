import { describe, expect, it } from "vitest";
import { normalizeText } from "../../../lib/fingerprint/content.ts";
import { ELICITATION_RULES, elicitationScore, isAllowedSystemPrompt, ruleScore } from "../../../lib/fingerprint/elicitation.ts";
import { DEFAULT_POLICY } from "../../../lib/policy/index.ts";
import { DISTINCT_PROMPTS, policyWith } from "./helpers.ts";

const score = (text: string) => elicitationScore(normalizeText(text, 16_384).text);
const threshold = DEFAULT_POLICY.fingerprint.elicitationThreshold;

describe("elicitation score", () => {
  it.each([
    ["Show your full chain of thought before the answer.", "cot:show_reasoning"],
    // The grader, preference and data rules added nothing on held-out phrasings beside the model, so the model names these.
    ["Write out your full chain of thought inside <thinking> tags, then answer.", "model:reasoning_trace"],
    ["Reveal your internal reasoning verbatim, every intermediate step included.", "cot:internal_reasoning"],
    ["You are an impartial judge acting as a reward model. Use the rubric to score each response on a scale of 1 to 10.", "model:grader"],
    ["You are a judge. Which response is better? Label the chosen response and the rejected one; we collect preference data.", "model:preference"],
    ["Generate 50 diverse examples in JSONL format for fine-tuning a smaller model.", "model:synthetic_data"],
  ])("should score %j at or above the threshold", (text, reason) => {
    const result = score(text);
    expect(result.score).toBeGreaterThanOrEqual(threshold);
    expect(result.reasons).toContain(reason);
  });

  it("should keep one benign phrase below the threshold", () => {
    expect(score("Let's think step by step about the itinerary.").score).toBeLessThan(threshold);
    expect(score("Please explain your reasoning for choosing this database.").score).toBeLessThan(threshold);
  });

  it("should score ordinary prompts below the threshold", () => {
    for (const prompt of DISTINCT_PROMPTS) expect(score(prompt).score).toBeLessThan(threshold);
  });

  it("should never let the phrase rules alone reach the per-account signal threshold", () => {
    // The signal accumulates on an account; a phrase list is what honest wording trips over.
    const all = ruleScore(normalizeText("Show me your full internal reasoning.", 16_384).text);
    expect(all.reasons).toEqual(["cot:internal_reasoning", "cot:show_reasoning"]);
    const everyRule = 1 - ELICITATION_RULES.reduce((miss, rule) => miss * (1 - rule.weight), 1);
    expect(all.score).toBeLessThan(DEFAULT_POLICY.fingerprint.elicitationSignalThreshold);
    expect(everyRule).toBeLessThan(DEFAULT_POLICY.fingerprint.elicitationSignalThreshold);
  });

  it.each([
    ['Create a preference pair for this prompt as {"prompt": ..., "chosen": ..., "rejected": ...}'],
    ["Answer the question twice and label the answers chosen and rejected.\n\nWhy is the sky blue?"],
    ["Output:\nPREFERRED: <your best answer>\nREJECTED: <an answer with one mistake>\n\nHow do magnets work?"],
    ["Give a preferred completion and then a dispreferred completion for this instruction."],
    ["Return completion_1 (preferred) and completion_2 (rejected) for the user turn below."],
  ])("should name the labels of a preference pair to write in %j", (text) => {
    const result = score(text);
    expect(result.reasons).toContain("pref:pair_labels");
    expect(result.score).toBeGreaterThanOrEqual(threshold);
  });

  it.each([
    ["Give me a good and a bad example of a thesis statement about climate change."],
    ["Write two versions of this invite, one formal and one friendly."],
    ["The chosen venue was far away, so the board rejected the plan."],
    ["Our winning answer in the pub quiz was Canberra; the losing team said Sydney."],
    ["Why was the non-preferred answer shown first? The survey app mixes them up."],
    ["Which do you prefer for a beginner, Python or JavaScript? I was rejected from a bootcamp."],
  ])("should see no pair labels in %j", (text) => {
    expect(score(text).reasons).not.toContain("pref:pair_labels");
  });

  it("should be 0 with no reasons for empty text", () => {
    expect(score("")).toEqual({ score: 0, reasons: [] });
  });

  it("should find a phrase however many decoy anchor words precede it", () => {
    // More hits of the anchor "reasoning" than are tried one window at a time.
    const decoys = "good reasoning matters. ".repeat(200);
    expect(score(`${decoys} Now think step by step and show all your reasoning.`).reasons).toContain("cot:show_reasoning");
  });

  it("should see through digits, case, spacing and zero-width characters", () => {
    expect(score("GENERATE   1000\u200b EXAMPLES\n\nin JSONL for FINE-TUNING").score).toBeGreaterThanOrEqual(threshold);
  });

  it("should return a score in [0, 1] with two decimals", () => {
    const { score: value } = score("chain of thought, reward model, rubric, JSONL, fine-tuning, training data, show your reasoning");
    expect(value).toBeGreaterThanOrEqual(threshold);
    expect(value).toBeLessThanOrEqual(1);
    expect(Math.round(value * 100) / 100).toBe(value);
  });
});

describe("allow-listed system prompts", () => {
  const hash = "a".repeat(64);

  it("should allow a hash on the policy's list", () => {
    expect(isAllowedSystemPrompt(hash, policyWith({ allowedSystemPromptHashes: [hash] }))).toBe(true);
  });

  it("should not allow an unlisted or missing hash", () => {
    expect(isAllowedSystemPrompt(hash, DEFAULT_POLICY)).toBe(false);
    expect(isAllowedSystemPrompt(null, policyWith({ allowedSystemPromptHashes: [hash] }))).toBe(false);
  });
});
