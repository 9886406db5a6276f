/**
 * The scenario generator: the accounts (sim/accounts.ts, connecting from
 * sim/networks.ts) and the schedule (sim/schedule.ts) of one run; each
 * request's headers, `request.cf` and body are rebuilt from the schedule
 * when it is sent (sim/requests.ts).
 *
 * Pure TypeScript with no Node imports: the CLI runs it on Node, the smoke test
 * runs it inside workerd. Deterministic from the scenario's seed.
 */
import { sha256Hex } from "../lib/hash.ts";
import { Rng, hashString } from "./rng.ts";
import type { LegitPopulation, Scenario } from "./scenario.ts";
import { TOOL_SYSTEM_PROMPT } from "./prompts.ts";
import { makeAccounts, type SimAccount } from "./accounts.ts";
import { makeSchedule, type Schedule } from "./schedule.ts";

export type Generated = {
  scenario: Scenario;
  /** Makes ids and keys unique per run, so a long-running gateway never sees one account twice. */
  runTag: string;
  accounts: SimAccount[];
  schedule: Schedule;
  /** SHA-256 of the popular tool's system prompt, for the policy's allow list. */
  toolPromptSha256: string;
  /** SHA-256 of every tool prompt the scenario's honest populations have the operator allow-list. */
  allowlistedPromptSha256: string[];
};

export async function generate(scenario: Scenario, runTag: string): Promise<Generated> {
  const root = new Rng(scenario.seed);
  const accounts = makeAccounts(scenario, root, runTag);
  const schedule = makeSchedule(scenario, accounts, root.fork("schedule"));
  const allowlisted = new Set<string>();
  for (const pop of scenario.populations) {
    if (pop.kind === "legit" && pop.popularTool.share > 0 && pop.popularTool.allowlisted) allowlisted.add(toolPrompt(pop));
  }
  return {
    scenario,
    runTag,
    accounts,
    schedule,
    toolPromptSha256: await sha256Hex(TOOL_SYSTEM_PROMPT),
    allowlistedPromptSha256: await Promise.all([...allowlisted].map((text) => sha256Hex(text))),
  };
}

/** The system prompt a legit population's popular tool sends: its own, or the common one. */
export function toolPrompt(pop: LegitPopulation): string {
  return pop.popularTool.systemPrompt ?? TOOL_SYSTEM_PROMPT;
}

/** A short run tag: base36 time plus a little randomness, or a fixed one for reproducible tests. */
export function runTagFrom(nowMs: number, salt: string): string {
  return `${Math.floor(nowMs / 1000).toString(36)}${(hashString(salt) % 1296).toString(36).padStart(2, "0")}`;
}
