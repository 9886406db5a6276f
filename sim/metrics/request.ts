/** One replayed request as every measure of the report reads it: who sent it, what came back, what the gateway decided. */
import type { Generated } from "../generate.ts";
import type { ReplayResults } from "../replay.ts";
import type { Population } from "../scenario.ts";

/** One line of the gateway's decision log (self-contained mode captures every one). */
export type DecisionInfo = {
  action: string;
  enforced: boolean;
  reasons: string[];
  risk?: number | null;
  /** The verdicts that applied (cluster ids); absent from logs that do not say. */
  clusters?: string[];
  /** Admitted within the isolate's allowance, without the account object. */
  local?: boolean;
};

export type SentRequest = {
  /** The account's index in the generated accounts. */
  account: number;
  /** The account's population index, and the population itself. */
  population: number;
  pop: Population;
  /** The simulator's own label: campaign traffic, not just a campaign's account. */
  attack: boolean;
  status: number;
  /** Output tokens answered; 0 when there was no answer. */
  tokens: number;
  /** What the demo origin answers unclamped. */
  expected: number;
  /** Answered 200 with fewer tokens than unclamped: max_tokens was clamped. */
  degraded: boolean;
  /** Wall milliseconds since the replay started. */
  at: number;
  /** Its decision log line, when the log was read and joined. */
  decision: DecisionInfo | undefined;
};

/** The replayed requests in schedule order, each once; a request whose account or population is unknown is skipped. */
export function* sentRequests(gen: Generated, results: ReplayResults, decisions: Map<string, DecisionInfo> | null): Generator<SentRequest> {
  const { scenario, schedule, accounts } = gen;
  for (let i = 0; i < results.count; i++) {
    const a = schedule.account[i] ?? 0;
    const account = accounts[a];
    if (!account) continue;
    const pop = scenario.populations[account.population];
    if (!pop) continue;
    const status = results.status[i] ?? 0;
    const tokens = Math.max(0, results.outputTokens[i] ?? 0);
    const expected = results.expectedTokens[i] ?? 0;
    const id = results.requestIds[i];
    yield {
      account: a,
      population: account.population,
      pop,
      attack: schedule.attack[i] === 1,
      status,
      tokens,
      expected,
      degraded: status === 200 && (results.outputTokens[i] ?? -1) >= 0 && tokens < expected,
      at: results.sentAt[i] ?? 0,
      decision: id ? decisions?.get(id) : undefined,
    };
  }
}
