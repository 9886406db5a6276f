/**
 * The simulator's honest customers as the elicitation scorer sees them: every
 * honest family of both splits (sim/families/honest.ts) instantiated from a
 * seed, its requests built by sim/requests.ts, and each one fingerprinted as the
 * gateway fingerprints it (with the popular tools' prompts allow-listed, as the
 * simulator's policy does), so the text scored is the text the gateway scores.
 *
 * A test set, never training data: these are the customers the detection
 * evaluation replays beside every campaign, so a scorer fitted on them would
 * be judged on its own homework.
 */
import { fingerprintRequest } from "../../../lib/fingerprint/index.ts";
import { DEFAULT_POLICY, type Policy } from "../../../lib/policy/index.ts";
import { HONEST_FAMILIES, instantiate, timeline } from "../../../sim/families/index.ts";
import { generate } from "../../../sim/generate.ts";
import { buildRequest } from "../../../sim/requests.ts";
import { hashString } from "../../../sim/rng.ts";
import { parseScenario } from "../../../sim/scenario.ts";

export type HonestPrompt = {
  population: string;
  /** The system prompt the scorer reads: null when none was sent or it is allow-listed. */
  system: string | null;
  user: string;
  /** The shipped scorer's score, through the fingerprint. */
  score: number;
};

type Body = { system?: unknown; messages?: { content?: unknown }[] };

/** Up to `perSeed` honest requests of every seed (a full ten-minute timeline each), in schedule order. */
export async function honestPrompts(seeds: readonly number[], perSeed: number): Promise<HonestPrompt[]> {
  const t = timeline(false);
  const out: HonestPrompt[] = [];
  for (const seed of seeds) {
    const populations = HONEST_FAMILIES.flatMap((family) => instantiate(family, seed, t, "elicitation").populations);
    const scenario = parseScenario({
      name: `honest-${seed}`,
      seed: hashString(`elicitation:${seed}`),
      durationSeconds: t.durationSeconds,
      timeCompression: 1,
      concurrency: 1,
      outputEvents: 1,
      overhead: false,
      policy: {},
      populations,
    });
    const gen = await generate(scenario, "fixed");
    const policy: Policy = {
      ...DEFAULT_POLICY,
      fingerprint: { ...DEFAULT_POLICY.fingerprint, allowedSystemPromptHashes: gen.allowlistedPromptSha256 },
    };
    // Evenly spaced through the schedule, so every population and the whole timeline are sampled.
    const step = Math.max(1, Math.floor(gen.schedule.count / perSeed));
    for (let i = 0; i < gen.schedule.count && out.length < (seeds.indexOf(seed) + 1) * perSeed; i += step) {
      const account = gen.accounts[gen.schedule.account[i] ?? 0];
      const population = account === undefined ? "?" : (scenario.populations[account.population]?.name ?? "?");
      const request = buildRequest(gen, i);
      const body = JSON.parse(request.body) as Body;
      const fp = await fingerprintRequest({ cf: request.cf, headers: new Headers(request.headers), ip: request.ip, body, policy });
      const system = typeof body.system === "string" && !fp.templateAllowlisted ? body.system : null;
      const content = body.messages?.[0]?.content;
      out.push({ population, system, user: typeof content === "string" ? content : "", score: fp.elicitation.score });
    }
  }
  return out;
}
