/**
 * What a family is: a generator of populations with parameters drawn from a
 * seed, tagged with the split it belongs to. Campaign families produce the
 * attacking populations of one run; honest families the customers beside them.
 */
import type { Rng } from "../rng.ts";
import type { ScenarioInput } from "../scenario.ts";
import type { Split } from "./phrasings.ts";

export type PopulationInput = ScenarioInput["populations"][number];
export type PivotInput = NonNullable<ScenarioInput["pivot"]>;

/** The campaign clock of one run, in campaign seconds. */
export type Timeline = {
  quick: boolean;
  durationSeconds: number;
  /** Share of the duration before the campaign starts: honest traffic only, so the gateway has a baseline. */
  campaignFrom: number;
  /** Seconds the campaign is active. */
  campaignSeconds: number;
  /**
   * Multiplies each campaign account's request rate: quick runs send half, so that a shared two-core
   * machine replays them on schedule (a key still sees far more than a verdict needs).
   */
  rate: number;
};

export type FamilyInstance = {
  populations: PopulationInput[];
  pivot?: PivotInput;
  /**
   * Facts only an operator can state, merged over the default policy for this run: a country the
   * business may not serve. Never a detection threshold or weight.
   */
  operatorPolicy?: Record<string, unknown>;
};

export type Family = {
  name: string;
  split: Split;
  role: "campaign" | "honest";
  description: string;
  /** The dimensions this family draws at random, for the report. */
  varies: readonly string[];
  build: (rng: Rng, timeline: Timeline) => FamilyInstance;
};

/** Requests at `perMinute` over `seconds`, at least one. */
export function requestsAt(perMinute: number, seconds: number): number {
  return Math.max(1, Math.round((perMinute * seconds) / 60));
}

/** `k` distinct items of `list`, in a seeded order. */
export function pickSome<T>(rng: Rng, list: readonly T[], k: number): T[] {
  const pool = [...list];
  const out: T[] = [];
  while (out.length < k && pool.length > 0) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0] as T);
  return out;
}

/**
 * Campaign seconds per wall second the evaluation replays at, fastest first. Each keeps every policy
 * time field whole in wall seconds (the 10 s report interval becomes 2, 4, 5, 8 or 10 s), so slowing
 * a run down never rounds what the policy means.
 */
export const COMPRESSIONS = [5, 2.5, 2, 1.25, 1] as const;

/** The compression a run falls back to after one that fell behind its schedule: the next slower one, or the same at the slowest. */
export function slowerCompression(current: number): number {
  return COMPRESSIONS.find((c) => c < current) ?? current;
}
