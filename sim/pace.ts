/**
 * The evaluation's replay pace (`npm run eval:detection -- --pace adapt|fixed`, sim/node/eval.ts):
 * which compression each family replays at after others fell behind their schedule.
 */
import type { EvalRunSpec } from "./families/index.ts";
import { slowerCompression } from "./families/types.ts";

// The slowest `--pace adapt` goes on its own: at 2.5 the quick tuning split still replays in about
// ten minutes on two cores; slower is a deliberate `--compression`.
export const ADAPT_FLOOR = 2.5;

/** Requests the family's whole population sends per campaign second (honest and campaign). */
export function requestsPerCampaignSecond(spec: EvalRunSpec): number {
  let requests = 0;
  for (const population of spec.scenario.populations) requests += population.requests;
  return requests / spec.scenario.durationSeconds;
}

/**
 * `--pace`: which compression a family replays at. `fixed` keeps the starting one. `adapt` keeps it
 * for families quieter than the quietest that fell behind at it (in requests per wall second at the
 * starting compression), and gives the rest the next slower one, down to ADAPT_FLOOR.
 */
export class Pace {
  /** Requests per wall second at the starting compression from which families replay slower (null: none fell behind). */
  mark: number | null = null;

  constructor(
    private readonly start: number,
    private readonly adapt: boolean,
  ) {}

  compressionFor(perCampaignSecond: number): number {
    if (!this.adapt || this.mark === null || perCampaignSecond * this.start < this.mark) return this.start;
    return Math.max(ADAPT_FLOOR, slowerCompression(this.start));
  }

  /** A family replayed at `compression` fell behind: the new mark, or null when nothing changes. */
  fellBehind(perCampaignSecond: number, compression: number): number | null {
    // Behind at the slower pace already: the floor is as slow as adapt goes.
    if (!this.adapt || compression < this.start) return null;
    const rate = perCampaignSecond * this.start;
    if (this.mark !== null && rate >= this.mark) return null;
    this.mark = rate;
    return rate;
  }
}
