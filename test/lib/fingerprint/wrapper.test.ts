import { describe, expect, it } from "vitest";
import { WRAPPER_DEFAULTS, wrapperKeys } from "../../../lib/fingerprint/wrapper.ts";
import {
  campaignPrompts,
  collisionRate,
  concentration,
  contentOf,
  instructionOf,
  measureHonest,
  measureShare,
  rngOf,
  SHARES,
} from "./wrapper-corpus.ts";

const SUFFIX = "Think through the problem carefully before you answer. Write out every intermediate step of your reasoning in full detail.";
const PREFIX = "You are grading a response written by another assistant. Score the response from 1 to 10 for accuracy and clarity:";

describe("wrapper detection across the share range", () => {
  for (const share of SHARES) {
    it(`Should put at least 90 % of every campaign's requests on one wrapper key when content is ${Math.round(share * 100)} % of the text`, () => {
      const row = measureShare(share, WRAPPER_DEFAULTS, { requests: 16 });
      expect(row.campaigns).toBeGreaterThan(100);
      expect(row.below90).toBe(0);
      expect(row.minConcentration).toBeGreaterThanOrEqual(0.9);
    });
  }

  it("Should let no wrapper key be shared by more than 1 % of 500 unrelated honest prompts", () => {
    const honest = measureHonest(WRAPPER_DEFAULTS, 500);
    // Most honest prompts do carry keys: the measure is about sharing, not about emitting nothing.
    expect(honest.keysPerPrompt).toBeGreaterThan(1);
    expect(honest.maxKeyShare).toBeLessThanOrEqual(0.01);
    expect(honest.collisionRate).toBeLessThanOrEqual(0.05);
  });

  it("Should not turn a shared opening into a shared wrapper", () => {
    const rng = rngOf(3);
    const roles = ["curator", "barista", "nurse", "intern", "teacher", "pilot", "chef", "welder", "editor", "analyst"];
    const places = ["museum", "cafe", "hospital", "bank", "school", "airline"];
    // Sixty askers, one opening, each their own subject.
    const prompts = roles.flatMap((role) =>
      places.map((place) => `Can you help me write a cover letter for a ${role} job at a ${place}? ${contentOf("essay", 40, rng)}`),
    );
    const keys = prompts.map((p) => wrapperKeys(p));
    expect(keys.every((k) => k.length > 0)).toBe(true);
    expect(collisionRate(keys)).toBe(0);
  });

  it("Should find the same wrapper through a 16 KB content", () => {
    const rng = rngOf(5);
    const prompts = Array.from({ length: 10 }, () => `${PREFIX}\n${contentOf("essay", 2_500, rng)}\n\n${SUFFIX}`);
    expect(prompts.every((p) => p.length > 10_000)).toBe(true);
    const keys = prompts.map((p) => wrapperKeys(p));
    expect(keys.every((k) => k.length === 2)).toBe(true);
    expect(concentration(keys.map((k) => k.filter((key) => key.startsWith("wrap:p:")))).share).toBe(1);
    expect(concentration(keys.map((k) => k.filter((key) => key.startsWith("wrap:s:")))).share).toBe(1);
  });

  it("Should keep a campaign's key through digit, spacing and zero-width variations", () => {
    const rng = rngOf(11);
    const spec = { position: "suffix", wrapperWords: 12, content: "problem", share: 0.8, separator: "\n\n", terminator: "." } as const;
    const keys = campaignPrompts(spec, 50, rng).map((p) => wrapperKeys(p));
    expect(concentration(keys).share).toBe(1);
  });
});

describe("wrapper keys", () => {
  it("Should key the leading and the trailing segments apart", () => {
    const text = `${PREFIX}\nThe answer given was that the mitochondria stores genetic data for the cell.\n\n${SUFFIX}`;
    const keys = wrapperKeys(text);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^wrap:p:[0-9a-f]{16}$/);
    expect(keys[1]).toMatch(/^wrap:s:[0-9a-f]{16}$/);
    const other = wrapperKeys(`${PREFIX}\nA wholly different answer about volcanoes and plate tectonics, with two examples.\n\n${SUFFIX}`);
    expect(other).toEqual(keys);
  });

  it("Should emit nothing for a text that is all one segment or too short", () => {
    expect(wrapperKeys("")).toEqual([]);
    expect(wrapperKeys("Can you help me?")).toEqual([]);
    // A whole prompt is a duplicate when copied, not a wrapper: the anchor must leave something over.
    expect(wrapperKeys("Explain the theory of relativity to me like I am five years old.")).toEqual([]);
  });

  it("Should extend a short first sentence into the next instead of keying a greeting", () => {
    const a = wrapperKeys("Hi there. Please summarise this article about bees for a school project. Bees pollinate crops.");
    const b = wrapperKeys("Hi there. Please summarise this article about tax law for my accountant. Tax law changes.");
    expect(a[0]).toBeDefined();
    expect(a[0]).not.toBe(b[0]);
  });

  it("Should cut a wrapper with no boundary at maxWords", () => {
    const words = instructionOf(40, "", rngOf(2)).replace(/[.]/g, "");
    const a = wrapperKeys(`${words} first content about rivers and boats.`);
    const b = wrapperKeys(`${words} second content on gardens and bees.`);
    expect(a[0]).toBeDefined();
    expect(a[0]).toBe(b[0]);
    expect(WRAPPER_DEFAULTS.maxWords).toBeLessThan(40);
  });

  it("Should give the same keys whether the text fits one window or is read at both ends", () => {
    // Content from 300 to 3,000 characters: the whole text fits the 1 KB window at first, then
    // only its two ends are read, and the windows cut words at every possible offset.
    const keys = new Set<string>();
    for (let extra = 0; extra < 2_700; extra += 37) {
      const content = `The report covers ${"z".repeat(300 + extra)} and little else.`;
      for (const key of wrapperKeys(`${PREFIX}\n${content}\n${SUFFIX}`)) keys.add(key);
    }
    expect(keys.size).toBe(2);
  });
});
