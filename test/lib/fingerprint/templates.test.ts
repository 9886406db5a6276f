import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fingerprintRequest } from "../../../lib/fingerprint/index.ts";
import { hammingDistance } from "../../../lib/fingerprint/simhash.ts";
import { DISTINCT_PROMPTS, input, messagesBody } from "./helpers.ts";

/**
 * A distillation template: fixed instructions with slots that change per
 * request. The variations a campaign (or its tooling) introduces for free —
 * numbers, spacing, invisible characters — must not move it out of its band.
 */
const TEMPLATE_WORDS = (
  "You are an expert competition mathematician. Solve problem 17 below. Think carefully, verify each intermediate result, " +
  "and present the final answer on its own line prefixed with ANSWER. Problem 17: a sequence is defined by a1 = 3 and " +
  "a(n+1) = 2a(n) + 5 for n >= 1. Find the remainder when a2024 is divided by 1000. Show that your answer is consistent with " +
  "the first 12 terms and explain which modular identities you used and why they apply in this case."
).split(" ");

const ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"];
const SPACES = [" ", "  ", "\n", "\t", " \n ", "\u00a0", "\u3000"];

/** One perturbed copy of the template: every digit run replaced, every gap re-spaced, invisible characters sprinkled in. */
const perturbed = fc
  .tuple(
    fc.array(fc.nat({ max: 999_999 }), { minLength: TEMPLATE_WORDS.length, maxLength: TEMPLATE_WORDS.length }),
    fc.array(fc.constantFrom(...SPACES), { minLength: TEMPLATE_WORDS.length, maxLength: TEMPLATE_WORDS.length }),
    fc.array(fc.option(fc.constantFrom(...ZERO_WIDTH), { freq: 3 }), { minLength: TEMPLATE_WORDS.length, maxLength: TEMPLATE_WORDS.length }),
  )
  .map(([numbers, spaces, invisible]) =>
    TEMPLATE_WORDS.map((word, i) => {
      const renumbered = word.replace(/[0-9]+/g, String(numbers[i] ?? 0));
      // Insert the invisible character inside the word when it has room.
      const zw = invisible[i] ?? "";
      const withZw = renumbered.length > 2 ? renumbered.slice(0, 1) + zw + renumbered.slice(1) : renumbered + zw;
      return withZw + (spaces[i] ?? " ");
    }).join(""),
  );

async function templateOf(system: string, user: string) {
  return fingerprintRequest(input({ body: messagesBody(system, user) }));
}

describe("template fingerprints", () => {
  it("should keep digit, whitespace and zero-width variants within distance 3 and sharing a band key (property)", async () => {
    const base = await templateOf(TEMPLATE_WORDS.join(" "), "Begin.");
    await fc.assert(
      fc.asyncProperty(perturbed, async (variant) => {
        const other = await templateOf(variant, "Begin.");
        expect(hammingDistance(base.simhash, other.simhash)).toBeLessThanOrEqual(3);
        expect(other.keys.template.some((key) => base.keys.template.includes(key))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("should keep them together when the template sits in the first user turn", async () => {
    const base = await templateOf("", TEMPLATE_WORDS.join(" "));
    await fc.assert(
      fc.asyncProperty(perturbed, async (variant) => {
        const other = await templateOf("", variant);
        expect(hammingDistance(base.simhash, other.simhash)).toBeLessThanOrEqual(3);
      }),
      { numRuns: 50 },
    );
  });

  it("should keep unrelated prompts apart: on average far, and rarely sharing a band", async () => {
    const prints = await Promise.all(DISTINCT_PROMPTS.map((prompt) => templateOf(prompt, "Thanks in advance.")));
    let total = 0;
    let pairs = 0;
    let sharing = 0;
    for (let i = 0; i < prints.length; i++) {
      for (let j = i + 1; j < prints.length; j++) {
        const a = prints[i];
        const b = prints[j];
        if (a === undefined || b === undefined) continue;
        total += hammingDistance(a.simhash, b.simhash);
        pairs++;
        if (a.keys.template.some((key) => b.keys.template.includes(key))) sharing++;
      }
    }
    expect(total / pairs).toBeGreaterThan(20);
    expect(sharing / pairs).toBeLessThan(0.05);
  });

  it("should not make template keys from a greeting", async () => {
    const fp = await templateOf("", "hi!");
    expect(fp.keys.template).toEqual([]);
    expect(fp.simhash).toMatch(/^[0-9a-f]{16}$/);
  });
});
