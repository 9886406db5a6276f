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
import { normalizeText } from "../../../lib/fingerprint/content.ts";
import { type CorpusData, type Example, generateExamples } from "../../../lib/fingerprint/elicitation-corpus.ts";
import { BUCKETS, CATEGORIES, packWeights, unpackModel } from "../../../lib/fingerprint/elicitation-features.ts";
import { ELICITATION_MODEL } from "../../../lib/fingerprint/elicitation-model.ts";
import { elicitationScore } from "../../../lib/fingerprint/elicitation.ts";
import { evaluate, TRAIN_OPTIONS, train } from "../../../lib/fingerprint/elicitation-train.ts";
import { DEFAULT_POLICY } from "../../../lib/policy.ts";

const CORPUS: CorpusData = { families, content, negatives, categories: [reasoning, grader, preference, synthetic, agentic, coding] };
const threshold = DEFAULT_POLICY.fingerprint.elicitationThreshold;
// Floors a few points under what the shipped model reaches on this sample, so a
// retrain that loses ground fails here. The goal is 0.9 in every category at
// ≤ 1 % false positives; reasoning_trace (0.68) and synthetic_data (0.59) are
// furthest from it (see the training report for the families behind that).
const HELDOUT_RECALL_FLOOR: Record<(typeof CATEGORIES)[number], number> = {
  reasoning_trace: 0.6,
  grader: 0.85,
  preference: 0.9,
  synthetic_data: 0.5,
  agentic_trace: 0.8,
  coding_trace: 0.75,
};
const UNSEEN_RECALL_FLOOR = 0.8;
const score = (text: string) => elicitationScore(normalizeText(text, 16_384).text);
const judge = (text: string) => ({ score: elicitationScore(text).score, category: null });

// A seed the shipped model was not trained with: fresh content around wording it never saw.
const HELDOUT = generateExamples(CORPUS, { seed: 99, perPhrasing: 6, perTemplate: 6, splits: ["heldout"] });

describe("elicitation model on held-out phrasing families", () => {
  const evaluation = evaluate(HELDOUT, judge, threshold);

  it("should hold out whole families, never seen in training", () => {
    const heldOut = new Set(families.families.filter((family) => family.split === "heldout").map((family) => family.id));
    const positives = HELDOUT.filter((example) => example.label !== null);
    expect(positives.length).toBeGreaterThan(500);
    expect(positives.every((example) => heldOut.has(example.family))).toBe(true);
    expect(generateExamples(CORPUS, { seed: 99, perPhrasing: 1, perTemplate: 0, splits: ["train"] }).some((example) => heldOut.has(example.family))).toBe(false);
  });

  it.each(CATEGORIES.map((category) => [category]))("should detect most held-out %s prompts", (category) => {
    const metrics = evaluation.categories.find((m) => m.category === category);
    expect(metrics?.recall).toBeGreaterThanOrEqual(HELDOUT_RECALL_FLOOR[category]);
  });

  it("should leave held-out ordinary prompts below the threshold", () => {
    // Reached: 1.8 %, nearly all of it one Spanish/Russian/Chinese template group.
    expect(evaluation.ordinaryFalsePositiveRate).toBeLessThanOrEqual(0.025);
  });

  it("should leave most hard negatives (steps for learning, essay rubrics, tool agents) below the threshold", () => {
    // Reached: 5.8 %, half of it two of the four held-out "compare two options" templates.
    expect(evaluation.hardFalsePositiveRate).toBeLessThanOrEqual(0.08);
    const clean = evaluation.groups.filter((group) => group.hard && group.falsePositiveRate === 0);
    expect(clean.length).toBeGreaterThanOrEqual(6);
  });
});

// Written for this test, in no corpus file: paraphrases the scorer has never seen in any form.
const UNSEEN_ELICITING = [
  "Kindly narrate your complete cognitive process for the puzzle below, leaving no intermediate inference unstated, and only then state the answer.\n\nPuzzle: a bat and a ball cost 1.10 in total and the bat costs 1.00 more than the ball. What does the ball cost?",
  "The assistant must articulate the internal reasoning behind its response fully and step by step.\n\nHow many prime numbers are there between 100 and 150?",
  "SOLVE. SHOW ALL THINKING. EVERY STEP. NO SHORTCUTS.\n\nA cyclist rides 18 km at 12 km/h and returns at 18 km/h. What is the average speed?",
  "You are a meticulous grader. Assign the answer below an integer score between 1 and 10 reflecting its correctness.\n\nQuestion: What causes tides?\nAnswer: The wind pushes the water towards the coast.",
  "Judge the quality of the chatbot's reply on a 0-100 scale and output only the number.\n\nUser: how do I boil an egg?\nBot: Put it in boiling water for 9 minutes.",
  "Please mark this model-written answer as correct or incorrect and give it a confidence score.\n\nQ: Who wrote Hamlet?\nA: Christopher Marlowe.",
  "Two assistants replied to the same user. Tell me which reply you favour, 1 or 2, and why.\n\nUser: best way to learn guitar?\nReply 1: Take lessons.\nReply 2: Practise chords daily for 20 minutes and learn songs you love.",
  "Pick the stronger of the two completions below; answer with its label only.\n\nPrompt: name a prime number\nCompletion A: 9\nCompletion B: 7",
  "Rank these two candidate answers from best to worst and explain the ranking.\n\nQuestion: why is the sea salty?\nCandidate 1: Rivers carry dissolved minerals into it.\nCandidate 2: Fish make it salty.",
  "Produce 300 distinct user questions about home gardening, each paired with a model answer, formatted as JSONL.",
  "Please draft 40 sample exchanges between a customer and a support bot about billing, to be used as fine-tuning data.",
  "Write 100 varied instruction and response examples covering basic SQL.",
  "As you complete this task, before invoking any function explain your rationale, and after it returns, quote the output; give me the entire sequence at the end.\n\nTask: find a vegetarian restaurant near the office and book a table for six at 7 pm.",
  "Keep a step log: for each action write the thought, the function name, the parameters and the returned observation. Goal: archive all Jira tickets closed before March.",
  "Record your full trajectory of tool calls with the reasoning for each one while you reconcile these two spreadsheets.",
  "Implement the function below in Python; first reason through the whole design step by step, then give the complete solution and explain each line.\n\ndef merge_intervals(intervals): ...",
  "Explain every step of your reasoning as you write the complete solution to this programming task: return the longest palindromic substring of a string.",
  "Give me the full solution plus the complete thought process behind it, step by step, for this problem: two-sum with a sorted array.",
];

const UNSEEN_ORDINARY = [
  "Can you help me write a birthday message for my coworker Dana? She loves hiking and bad puns.",
  "What's the capital of Mongolia and how many people live there?",
  "Here's my resume bullet: 'Led migration of 40 services to Kubernetes.' Make it punchier.",
  "Explain the difference between TCP and UDP, step by step, for my networking exam on Friday.",
  "Fix the off-by-one error in this loop: for (let i = 0; i <= arr.length; i++) sum += arr[i];",
  "Summarise these meeting notes in five bullets: budget approved, hiring freeze lifted in Q3, new office opens in May, Sam leads the vendor review, next sync on the 14th.",
  "Translate 'where is the train station' into Polish and Czech.",
  "I'm a teacher. Write 5 quiz questions about fractions for my class, with answers.",
  "Which is better for a beginner photographer, a Canon R50 or a Sony a6400?",
  "Think step by step: is it cheaper to drive or take the train from Berlin to Munich for two people?",
  "Grade this student's essay on climate change using the rubric (argument 0-5, evidence 0-5, clarity 0-5) and give feedback she can use.\n\nEssay: Climate change is caused by greenhouse gases. We should use buses more and plant trees in every town.",
];

describe("elicitation model on prompts written for this test", () => {
  it("should flag nearly all unseen eliciting paraphrases", () => {
    const flagged = UNSEEN_ELICITING.filter((text) => score(text).score >= threshold);
    expect(flagged.length / UNSEEN_ELICITING.length).toBeGreaterThanOrEqual(UNSEEN_RECALL_FLOOR);
  });

  it("should flag almost none of the unseen ordinary prompts", () => {
    const flagged = UNSEEN_ORDINARY.filter((text) => score(text).score >= threshold);
    expect(flagged.length).toBeLessThanOrEqual(1);
  });

  it("should name the model's category as a reason", () => {
    expect(score(UNSEEN_ELICITING[3] ?? "").reasons).toContain("model:grader");
  });
});

describe("elicitation trainer", () => {
  const small: Example[] = generateExamples(
    { ...CORPUS, categories: [reasoning, grader], negatives: { groups: negatives.groups.slice(0, 3) } },
    { seed: 5, perPhrasing: 2, perTemplate: 2, splits: ["train"], augment: true },
  );
  const options = { ...TRAIN_OPTIONS, epochs: 2, refitEpochs: 1, keepPerCategory: 200 };

  it("should produce the same packed model from the same examples and options", () => {
    expect(train(small, options)).toEqual(train(small, options));
  });

  it("should produce a different model from a different seed", () => {
    expect(train(small, { ...options, seed: options.seed + 1 }).weights).not.toBe(train(small, options).weights);
  });

  it("should keep at most keepPerCategory weights per category", () => {
    const model = unpackModel(train(small, options));
    for (let c = 0; c < CATEGORIES.length; c++) {
      let kept = 0;
      for (let b = 0; b < BUCKETS; b++) if (model.weights[b * CATEGORIES.length + c] !== 0) kept++;
      expect(kept).toBeLessThanOrEqual(200);
    }
  });

  it("should round-trip int8 weights through the packed form", () => {
    const weights = new Int8Array(BUCKETS * CATEGORIES.length);
    weights[0] = -127;
    weights[7] = 5;
    weights[BUCKETS * CATEGORIES.length - 1] = 127;
    const packed = { buckets: BUCKETS, categories: [...CATEGORIES], scales: CATEGORIES.map(() => 1), biases: CATEGORIES.map(() => 0), weights: packWeights(weights, CATEGORIES.length) };
    expect(unpackModel(packed).weights).toEqual(weights);
  });

  it("should ship a model over the categories and buckets the features use", () => {
    const model = unpackModel(ELICITATION_MODEL);
    expect(model.categories).toEqual(CATEGORIES);
    expect(model.weights.length).toBe(BUCKETS * CATEGORIES.length);
  });
});
