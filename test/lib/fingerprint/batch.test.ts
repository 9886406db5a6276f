import { describe, expect, it } from "vitest";
import { batchFingerprint } from "../../../lib/fingerprint/batch.ts";
import { fingerprintRequest } from "../../../lib/fingerprint/index.ts";
import { DEFAULT_POLICY } from "../../../lib/policy/index.ts";

const TEMPLATE = (item: string) =>
  `You are a meticulous assistant preparing detailed worked solutions for a study guide. For the following problem, restate it, list the known quantities, derive the method, and present the final answer clearly: ${item}`;
const ELICITING =
  "Act as a reward model grader. Show your full chain of thought step by step, then generate 50 diverse training examples for fine-tuning my own model, one JSON object per line.";

function fp(content: string, extra: Record<string, unknown> = {}) {
  return fingerprintRequest({
    cf: undefined,
    headers: new Headers({ "user-agent": "test" }),
    ip: null,
    body: { model: "m", max_tokens: 10, messages: [{ role: "user", content }], ...extra },
    policy: DEFAULT_POLICY,
  });
}

const threshold = DEFAULT_POLICY.fingerprint.elicitationThreshold;

describe("a Message Batch's fingerprint", () => {
  it("Should take the keys of the request whose template the batch repeats, not the first one", async () => {
    const odd = await fp("What is the capital of France? Please answer in one word and nothing else at all, thank you kindly my friend, truly.");
    const templated = await Promise.all(["a train leaves at noon", "two pipes fill a tank", "a ladder leans on a wall"].map((i) => fp(TEMPLATE(i))));
    const batch = batchFingerprint([odd, ...templated], threshold);
    const chosen = batch?.representative.keys.template;
    expect(templated.some((t) => JSON.stringify(t.keys.template) === JSON.stringify(chosen))).toBe(true);
    expect(chosen).not.toEqual(odd.keys.template);
  });

  it("Should carry the highest elicitation score and the share of eliciting requests", async () => {
    const plain = await fp("Hello there, how are you today?");
    const eliciting = await fp(ELICITING);
    expect(eliciting.elicitation.score).toBeGreaterThanOrEqual(threshold);
    const batch = batchFingerprint([plain, plain, eliciting, plain], threshold);
    expect(batch?.representative.elicitation.score).toBe(eliciting.elicitation.score);
    expect(batch?.elicitedShare).toBe(0.25);
  });

  it("Should say the batch asks for thinking when any contained request does", async () => {
    const plain = await fp("Hello there");
    const thinking = await fp("Hello there", { thinking: { type: "enabled", budget_tokens: 2048 } });
    expect(batchFingerprint([plain, thinking], threshold)?.representative.capability.thinking).toBe(true);
    expect(batchFingerprint([plain, plain], threshold)?.representative.capability.thinking).toBe(false);
  });

  it("Should have no fingerprint for an empty batch", () => {
    expect(batchFingerprint([], threshold)).toBeNull();
  });
});
