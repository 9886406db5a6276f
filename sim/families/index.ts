/**
 * The family registry and the scenario of one evaluation run: a campaign
 * family beside every honest family of the same split, drawn from one seed.
 *
 * Each run gets a gateway of its own (sim/node/eval.ts): families that shared
 * one would share fingerprint keys (every client of one SDK build presents the
 * same `sdk:` and `headers:` keys, hosting ASNs recur, honest populations are
 * alike), and a key's aggregate is what a verdict is made of, so one family's
 * traffic would move another's verdict.
 */
import { hashString, Rng } from "../rng.ts";
import { parseScenario, type Scenario, type ScenarioInput } from "../scenario.ts";
import { CAMPAIGN_FAMILIES } from "./campaigns.ts";
import { HONEST_FAMILIES } from "./honest.ts";
import type { Split } from "./phrasings.ts";
import type { Family, FamilyInstance, Timeline } from "./types.ts";

export { CAMPAIGN_FAMILIES } from "./campaigns.ts";
export { HONEST_FAMILIES } from "./honest.ts";
export type { Family, FamilyInstance, Timeline } from "./types.ts";
export { CATEGORIES, PHRASINGS, allPhrasings, type Category, type Split } from "./phrasings.ts";

export const FAMILIES: readonly Family[] = [...CAMPAIGN_FAMILIES, ...HONEST_FAMILIES];

/**
 * Quick: 120 campaign seconds, the campaign from 15 s on (105 s of campaign after a warm-up of honest
 * traffic), enough to judge "confirmed within 60 s" and what is served after it. Full: ten minutes.
 */
export function timeline(quick: boolean): Timeline {
  const durationSeconds = quick ? 120 : 600;
  const campaignFrom = quick ? 0.125 : 0.05;
  return { quick, durationSeconds, campaignFrom, campaignSeconds: durationSeconds * (1 - campaignFrom), rate: quick ? 0.5 : 1 };
}

/** One family's instance: its own stream per (seed, name), whatever else runs. */
export function instantiate(family: Family, seed: number, t: Timeline, context = ""): FamilyInstance {
  return family.build(new Rng(`${seed}:${context}:${family.name}`), t);
}

export type EvalRunSpec = {
  family: Family;
  scenario: Scenario;
  /** Population names: the campaign's, and the honest customers' beside it. */
  campaign: string[];
  honest: string[];
};

export type RunOptions = {
  seed: number;
  quick: boolean;
  /** Campaign seconds per wall second. */
  timeCompression: number;
};

/** The scenario of one run: `family` (a campaign family) beside every honest family of its split. */
export function evalRun(family: Family, options: RunOptions): EvalRunSpec {
  if (family.role !== "campaign") throw new Error(`${family.name} is an honest family: it runs beside campaigns, not on its own`);
  const t = timeline(options.quick);
  const campaign = instantiate(family, options.seed, t);
  const honest = honestFamilies(family.split).map((h) => instantiate(h, options.seed, t, family.name));
  const populations = [...honest.flatMap((h) => h.populations), ...campaign.populations];
  const input: ScenarioInput = {
    name: family.name,
    description: family.description,
    seed: hashString(`${options.seed}:${family.name}`),
    durationSeconds: t.durationSeconds,
    timeCompression: options.timeCompression,
    concurrency: 32,
    outputEvents: 120,
    // The cron linker as deployed (every 5 minutes): real-time key verdicts are what must act within a minute.
    linkerEverySeconds: 300,
    // Verdicts are read every 5 campaign seconds: detection times are known to that resolution.
    clusterPollSeconds: 5,
    overhead: false,
    ...(campaign.pivot ? { pivot: campaign.pivot } : {}),
    // The default policy plus what only the operator can know (a country it may not serve).
    policy: campaign.operatorPolicy ?? {},
    populations,
  };
  return {
    family,
    scenario: parseScenario(input),
    campaign: campaign.populations.map((p) => p.name),
    honest: honest.flatMap((h) => h.populations.map((p) => p.name)),
  };
}

export function honestFamilies(split: Split): Family[] {
  return HONEST_FAMILIES.filter((f) => f.split === split);
}

export function campaignFamilies(split?: Split): Family[] {
  return CAMPAIGN_FAMILIES.filter((f) => split === undefined || f.split === split);
}
