/** The evaluation's replay pace: how far it may slow down, and that slowing down keeps the policy's meaning. */
import { describe, expect, it } from "vitest";
import { evalRun, campaignFamilies } from "../../sim/families/index.ts";
import { COMPRESSIONS, slowerCompression } from "../../sim/families/types.ts";
import { generate } from "../../sim/generate.ts";
import { simulationPolicy } from "../../sim/policy.ts";
import { ADAPT_FLOOR, loadOf, MARK_LAG_S, Pace } from "../../sim/pace.ts";

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

  it("Should slow only the families at least as busy as one that fell behind, in requests or in accounts", () => {
    const pace = new Pace(5, true);
    const load = (perCampaignSecond: number, accounts: number) => ({ perCampaignSecond, accounts });
    expect(pace.compressionFor(load(20, 600))).toBe(5);
    // 20 requests a campaign second is 100 a wall second at 5×.
    expect(pace.fellBehind(load(20, 600), 5, 30)).toBe(true);
    expect(pace.mark).toEqual({ requestsPerSecond: 100, accounts: 600 });
    expect(pace.compressionFor(load(20, 300))).toBe(2.5);
    expect(pace.compressionFor(load(5, 1_800))).toBe(2.5);
    expect(pace.compressionFor(load(5, 300))).toBe(5);
    // Behind at the slower pace: adapt goes no slower than its floor, and learns nothing.
    expect(pace.fellBehind(load(3, 200), 2.5, 30)).toBe(false);
    expect(pace.compressionFor(load(5, 300))).toBe(5);
    // A quieter family behind at the starting pace lowers the mark to its own size.
    expect(pace.fellBehind(load(5, 300), 5, 30)).toBe(true);
    expect(pace.mark).toEqual({ requestsPerSecond: 25, accounts: 300 });
    expect(pace.compressionFor(load(5, 100))).toBe(ADAPT_FLOOR);
    expect(pace.compressionFor(load(4, 299))).toBe(5);
  });

  it("Should leave the pace alone after a family fell behind by less than one report interval", () => {
    const pace = new Pace(5, true);
    const load = { perCampaignSecond: 12, accounts: 460 };
    expect(pace.fellBehind(load, 5, MARK_LAG_S)).toBe(false);
    expect(pace.mark).toBeNull();
    expect(pace.compressionFor(load)).toBe(5);
    expect(pace.fellBehind(load, 5, MARK_LAG_S + 0.5)).toBe(true);
    expect(pace.compressionFor(load)).toBe(ADAPT_FLOOR);
  });

  it("Should keep the starting compression for every family under a fixed pace", () => {
    const pace = new Pace(5, false);
    expect(pace.fellBehind({ perCampaignSecond: 20, accounts: 600 }, 5, 30)).toBe(false);
    expect(pace.compressionFor({ perCampaignSecond: 1_000, accounts: 50_000 })).toBe(5);
  });

  it("Should count every population, honest and campaign, in a family's load", () => {
    const [family] = campaignFamilies("tune");
    if (!family) throw new Error("no tuning family");
    const spec = evalRun(family, { seed: 1, quick: true, timeCompression: 5 });
    const requests = spec.scenario.populations.reduce((sum, p) => sum + p.requests, 0);
    const accounts = spec.scenario.populations.reduce((sum, p) => sum + p.accounts, 0);
    expect(spec.honest.length).toBeGreaterThan(0);
    expect(loadOf(spec)).toEqual({ perCampaignSecond: requests / spec.scenario.durationSeconds, accounts });
  });
});
