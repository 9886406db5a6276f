/** The evaluation's replay pace: how far it may slow down, and that slowing down keeps the policy's meaning. */
import { describe, expect, it } from "vitest";
import { evalRun, campaignFamilies } from "../../sim/families/index.ts";
import { COMPRESSIONS, slowerCompression } from "../../sim/families/types.ts";
import { generate } from "../../sim/generate.ts";
import { simulationPolicy } from "../../sim/policy.ts";
import { ADAPT_FLOOR, Pace, requestsPerCampaignSecond } from "../../sim/pace.ts";

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

  it("Should slow only the families at least as busy as one that fell behind, and lower the mark for a quieter one", () => {
    const pace = new Pace(5, true);
    // Requests per campaign second: 20 → 100 per wall second at 5×.
    expect(pace.compressionFor(20)).toBe(5);
    expect(pace.fellBehind(20, 5)).toBe(100);
    expect(pace.compressionFor(20)).toBe(2.5);
    expect(pace.compressionFor(30)).toBe(2.5);
    expect(pace.compressionFor(5)).toBe(5);
    // Busier than the mark and behind: nothing new is learnt.
    expect(pace.fellBehind(25, 5)).toBeNull();
    // Behind at the slower pace: adapt goes no slower than its floor.
    expect(pace.fellBehind(3, 2.5)).toBeNull();
    expect(pace.compressionFor(5)).toBe(5);
    // A quieter family behind at the starting pace lowers the mark to its own rate.
    expect(pace.fellBehind(5, 5)).toBe(25);
    expect(pace.compressionFor(5)).toBe(ADAPT_FLOOR);
    expect(pace.compressionFor(4)).toBe(5);
  });

  it("Should keep the starting compression for every family under a fixed pace", () => {
    const pace = new Pace(5, false);
    expect(pace.fellBehind(20, 5)).toBeNull();
    expect(pace.compressionFor(1_000)).toBe(5);
  });

  it("Should count every population's requests, honest and campaign, in a family's rate", () => {
    const [family] = campaignFamilies("tune");
    if (!family) throw new Error("no tuning family");
    const spec = evalRun(family, { seed: 1, quick: true, timeCompression: 5 });
    const requests = spec.scenario.populations.reduce((sum, p) => sum + p.requests, 0);
    expect(spec.honest.length).toBeGreaterThan(0);
    expect(requestsPerCampaignSecond(spec)).toBeCloseTo(requests / spec.scenario.durationSeconds, 9);
    expect(requestsPerCampaignSecond(spec)).toBeGreaterThan(0);
  });
});
