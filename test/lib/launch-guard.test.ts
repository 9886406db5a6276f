import { describe, expect, it } from "vitest";
import { launchGuardSchema, launchRule } from "../../lib/launch-guard.ts";

const RELEASE = Date.UTC(2026, 10, 1, 12);
const guard = launchGuardSchema.parse({ models: [{ model: "demo-model-2*", releasedAt: new Date(RELEASE).toISOString() }], hours: 24 });

describe("launchRule", () => {
  it("should hold from the release for the configured hours, on models the glob names", () => {
    expect(launchRule(guard, "demo-model-2", RELEASE)?.during).toBe("in the first 24 hours after demo-model-2* is released");
    expect(launchRule(guard, "demo-model-2-fast", RELEASE + 23 * 3_600_000)).not.toBeNull();
    expect(launchRule(guard, "demo-model-2", RELEASE + 24 * 3_600_000)).toBeNull();
    expect(launchRule(guard, "demo-model-2", RELEASE - 1)).toBeNull();
    expect(launchRule(guard, "demo-model-1", RELEASE)).toBeNull();
    expect(launchRule(guard, undefined, RELEASE)).toBeNull();
  });

  it("should by default clamp unverified accounts to 4096 max_tokens and a 2048-token thinking budget", () => {
    expect(launchRule(guard, "demo-model-2", RELEASE)?.rule).toEqual({ when: { verified: false }, maxTokens: 4_096, thinkingBudgetTokens: 2_048, beyond: "clamp" });
  });
});
