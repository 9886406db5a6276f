/** The evaluation's replay pace: how far it may slow down, and that slowing down keeps the policy's meaning. */
import { describe, expect, it } from "vitest";
import { evalRun, campaignFamilies } from "../../sim/families/index.ts";
import { COMPRESSIONS, slowerCompression } from "../../sim/families/types.ts";
import { generate } from "../../sim/generate.ts";
import { simulationPolicy } from "../../sim/policy.ts";

describe("evaluation pace", () => {
  it("Should keep every policy time field whole at each compression the evaluation may replay at", async () => {
    const [family] = campaignFamilies("tune");
    if (!family) throw new Error("no tuning family");
    for (const timeCompression of COMPRESSIONS) {
      const spec = evalRun(family, { seed: 1, quick: true, timeCompression });
      const { scaled } = simulationPolicy(await generate(spec.scenario, "pace"));
      const bent = scaled.filter((f) => f.clamped || f.effectiveCampaignSeconds !== f.campaignSeconds).map((f) => f.field);
      expect({ timeCompression, bent }).toEqual({ timeCompression, bent: [] });
    }
  });

  it("Should step down one compression at a time after a run off schedule, and stay at the slowest", () => {
    expect(slowerCompression(5)).toBe(2.5);
    expect(slowerCompression(2.5)).toBe(2);
    const slowest = COMPRESSIONS.at(-1) ?? 1;
    expect(slowerCompression(slowest)).toBe(slowest);
    // Strictly slower each step, so an adapting run never speeds back up.
    for (let i = 1; i < COMPRESSIONS.length; i++) expect(COMPRESSIONS[i] ?? 0).toBeLessThan(COMPRESSIONS[i - 1] ?? 0);
  });
});
