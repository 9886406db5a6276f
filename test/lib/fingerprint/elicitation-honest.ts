/**
 * The simulator's honest customers as the elicitation scorer sees them: every
 * honest family of both splits (sim/families/honest.ts) instantiated from a
 * seed, its requests built by sim/generate.ts, and each one's system prompt and
 * user turn normalised as the fingerprint normalises them.
 *
 * A test set, never training data: these are the customers the detection
 * evaluation replays beside every campaign, so a scorer fitted on them would
 * be judged on its own homework.
 */
import { normalizeText } from "../../../lib/fingerprint/content.ts";
import { HONEST_FAMILIES, instantiate, timeline } from "../../../sim/families/index.ts";
import { buildRequest, generate } from "../../../sim/generate.ts";
import { hashString } from "../../../sim/rng.ts";
import { parseScenario } from "../../../sim/scenario.ts";

// What the fingerprint reads at most (policy.fingerprint.maxContentBytes default).
const MAX_BYTES = 16_384;

export type HonestPrompt = { population: string; text: string };

type Body = { system?: unknown; messages?: { content?: unknown }[] };

function textOf(body: Body): string {
  const system = typeof body.system === "string" ? normalizeText(body.system, MAX_BYTES).text : "";
  const content = body.messages?.[0]?.content;
  const user = typeof content === "string" ? normalizeText(content, MAX_BYTES - system.length).text : "";
  return system === "" ? user : user === "" ? system : `${system} ${user}`;
}

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
    // Evenly spaced through the schedule, so every population and the whole timeline are sampled.
    const step = Math.max(1, Math.floor(gen.schedule.count / perSeed));
    for (let i = 0; i < gen.schedule.count && out.length < (seeds.indexOf(seed) + 1) * perSeed; i += step) {
      const account = gen.accounts[gen.schedule.account[i] ?? 0];
      const population = account === undefined ? "?" : (scenario.populations[account.population]?.name ?? "?");
      out.push({ population, text: textOf(JSON.parse(buildRequest(gen, i).body) as Body) });
    }
  }
  return out;
}
