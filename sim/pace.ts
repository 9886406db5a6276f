/**
 * The evaluation's replay pace (`npm run eval:detection -- --pace adapt|fixed`, sim/node/eval.ts):
 * which compression each family replays at after others fell behind their schedule.
 */
import type { EvalRunSpec } from "./families/index.ts";
import { slowerCompression } from "./families/types.ts";

// The slowest `--pace adapt` goes on its own: at 2.5 the quick tuning split still replays in about
// ten minutes on two cores; slower is a deliberate `--compression`.
export const ADAPT_FLOOR = 2.5;

// A family that fell behind by less than one report interval (10 campaign seconds) is reported off
// schedule but leaves the pace alone: a lag that short moves a request into the next report at worst,
// and on an idle machine it is one pause in one run (the same fleets at the same size stay on
// schedule), while slowing every later family as busy doubles their replay and the run overruns ten minutes.
export const MARK_LAG_S = 10;

/** How busy a family's replay is: every population's requests per campaign second and accounts, honest and campaign. */
export type Load = { perCampaignSecond: number; accounts: number };

export function loadOf(spec: EvalRunSpec): Load {
  let requests = 0;
  let accounts = 0;
  for (const population of spec.scenario.populations) {
    requests += population.requests;
    accounts += population.accounts;
  }
  return { perCampaignSecond: requests / spec.scenario.durationSeconds, accounts };
}

/**
 * `--pace`: which compression a family replays at. `fixed` keeps the starting one. `adapt` gives the
 * next slower one, down to ADAPT_FLOOR, to every family at least as busy as one that fell behind at
 * the starting one, in either measure: requests per wall second (at the starting compression) or
 * accounts (each account's first requests create its objects, which costs more than a request: a
 * 1,500-account fleet falls behind at half its request rate). Any other family keeps the starting one.
 */
export class Pace {
  /** The least busy that fell behind, per measure (null: none fell behind yet). */
  mark: { requestsPerSecond: number; accounts: number } | null = null;

  constructor(
    private readonly start: number,
    private readonly adapt: boolean,
  ) {}

  compressionFor(load: Load): number {
    if (!this.adapt || this.mark === null) return this.start;
    const busy = load.perCampaignSecond * this.start >= this.mark.requestsPerSecond || load.accounts >= this.mark.accounts;
    return busy ? Math.max(ADAPT_FLOOR, slowerCompression(this.start)) : this.start;
  }

  /** A family replayed at `compression` fell `lagCampaignSeconds` behind: true when that lowered the mark. */
  fellBehind(load: Load, compression: number, lagCampaignSeconds: number): boolean {
    // Behind at the slower pace already: the floor is as slow as adapt goes.
    if (!this.adapt || compression < this.start || lagCampaignSeconds <= MARK_LAG_S) return false;
    const requestsPerSecond = load.perCampaignSecond * this.start;
    const mark = this.mark ?? { requestsPerSecond, accounts: load.accounts };
    this.mark = { requestsPerSecond: Math.min(mark.requestsPerSecond, requestsPerSecond), accounts: Math.min(mark.accounts, load.accounts) };
    return true;
  }
}
