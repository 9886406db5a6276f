/**
 * Precision first: the per-account `cot_elicitation` signal and a key's
 * eliciting share must stay quiet on ordinary traffic, because a behaviour
 * signal accumulates and a heavy honest user's rare false positives add up.
 * Judged on prompts no part of the scorer was fitted or calibrated on: the
 * simulator's honest customers (what the detection evaluation replays) and
 * the plain fleet prompts of an earlier failure.
 */
import { describe, expect, it } from "vitest";
import { normalizeText } from "../../../lib/fingerprint/content.ts";
import { elicitationScore } from "../../../lib/fingerprint/elicitation.ts";
import { DEFAULT_POLICY } from "../../../lib/policy/index.ts";
import { HONEST_FAMILIES, instantiate, timeline } from "../../../sim/families/index.ts";
import { type HonestPrompt, honestPrompts } from "./elicitation-honest.ts";

// The per-request signal's bar, and the lower one at which a request counts towards its keys' eliciting share.
const SIGNAL = DEFAULT_POLICY.fingerprint.elicitationSignalThreshold;
const SHARE = DEFAULT_POLICY.fingerprint.elicitationThreshold;
// A key is "eliciting" from this share of its requests on.
const ELICITING_KEY = DEFAULT_POLICY.clusters.elicitationShare;
const MAX_BYTES = 16_384;

function scored(system: string | null, user: string): number {
  const parts = [system ?? "", user].map((part) => normalizeText(part, MAX_BYTES).text).filter((part) => part !== "");
  return elicitationScore(parts.join(" ")).score;
}

/** Populations whose share of prompts at or above `bar` exceeds `most`, as readable lines. */
function loudPopulations(prompts: readonly HonestPrompt[], bar: number, most: number): string[] {
  return [...new Set(prompts.map((p) => p.population))].flatMap((population) => {
    const own = prompts.filter((p) => p.population === population);
    const share = own.filter((p) => p.score >= bar).length / own.length;
    return share > most ? [`${population}: ${(share * 100).toFixed(1)} %`] : [];
  });
}

describe("elicitation score on the simulator's honest customers", () => {
  // Seeds the corpus never used; nine full ten-minute timelines of every honest family of both splits
  // (which of its rubric phrasings the evaluation customer uses is drawn per seed, so few seeds swing).
  const sample = honestPrompts([11, 12, 13, 21, 22, 23, 31, 32, 33], 1_200);

  it("should sample every honest population, thousands of prompts", async () => {
    const prompts = await sample;
    expect(prompts.length).toBeGreaterThanOrEqual(10_000);
    const populations = new Set(HONEST_FAMILIES.flatMap((family) => instantiate(family, 11, timeline(false)).populations.map((p) => p.name)));
    expect(new Set(prompts.map((p) => p.population))).toEqual(populations);
  });

  it("should leave at least 99.8 % of them below the signal threshold", async () => {
    const prompts = await sample;
    const flagged = prompts.filter((p) => p.score >= SIGNAL);
    expect(flagged.length / prompts.length).toBeLessThanOrEqual(0.002);
  });

  it("should leave every honest population below 3 % at the signal threshold", async () => {
    // Per population as well as overall. The loudest is the evaluation customer (about 2 %): it sends
    // rubric-grading prompts, which is what a grader harvest sends too; no wording tells them apart.
    const prompts = await sample;
    expect(loudPopulations(prompts, SIGNAL, 0.03)).toEqual([]);
  });

  it("should keep every honest population's eliciting share well under what makes a key eliciting", async () => {
    // Half the bar for every population (the evaluation customer reaches about a third of it), 1 % overall.
    const prompts = await sample;
    expect(loudPopulations(prompts, SHARE, ELICITING_KEY / 2)).toEqual([]);
    expect(prompts.filter((p) => p.score >= SHARE).length / prompts.length).toBeLessThanOrEqual(0.015);
  });
});

// The fleet of the earlier failure: a short templated request with a reader number, under a
// service's own system prompt or none. A scorer once flagged 4 to 10 of these 12.
const FLEET_SYSTEM_PROMPTS = [
  null,
  "You are the response engine of a data service. Answer the task that follows accurately and in plain prose, without headings or lists, in at most three short paragraphs, and never mention that you are an assistant.",
  "You are a helpful assistant for a travel magazine. Keep answers short and friendly.",
  "You are the writing assistant of a travel magazine. Answer in plain prose, without headings or lists, in at most three short paragraphs, and keep a warm, friendly tone for our readers.",
];
const PLAIN = [
  "Describe tidal power and coral reefs for reader 7.",
  "Compare the history of Baroque music and jazz piano for reader 12.",
  "Explain the economics of sourdough and beekeeping for reader 3.",
  "Summarise recent debates about the Silk Road and ancient Rome for reader 41.",
  "Write a short travel note on lighthouses and volcanoes for reader 8.",
  "Describe glaciers and urban cycling for reader 19.",
  "Compare the history of coral reefs and tidal power for reader 5.",
  "Explain the economics of jazz piano and lighthouses for reader 27.",
  "Summarise recent debates about urban cycling and sourdough for reader 2.",
  "Write a short travel note on ancient Rome and glaciers for reader 33.",
  "Describe volcanoes and the Silk Road for reader 14.",
  "Compare the history of beekeeping and Baroque music for reader 9.",
];

describe("elicitation score on plain templated requests", () => {
  it.each(FLEET_SYSTEM_PROMPTS.map((system) => [system === null ? "no system prompt" : system.slice(0, 40), system]))(
    "should leave all 12 below both thresholds with %s",
    (_, system) => {
      const scores = PLAIN.map((user) => scored(system, user));
      expect(scores.filter((score) => score >= SHARE)).toEqual([]);
    },
  );
});
