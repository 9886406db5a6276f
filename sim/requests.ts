/**
 * Each scheduled request as it goes on the wire: headers, credential,
 * `request.cf`, client address and a Messages API body (model, prompt, tools,
 * max_tokens, stream). Rebuilt from the schedule entry's seed when it is sent,
 * so nothing per request is kept in memory and a replay sends the same bytes.
 */
import { Rng } from "./rng.ts";
import { isAttack, type AttackPopulation, type Population, type PromptSpec } from "./scenario.ts";
import { variedContent, wrappedPrompt } from "./content.ts";
import { AGENT_TOOLS, TOOL_SYSTEM_PROMPT, humanPrompt, templatedPrompt, type AttackTemplate } from "./prompts.ts";
import type { SimAccount } from "./accounts.ts";
import { toolPrompt, type Generated } from "./generate.ts";
import { cfFor, evasionExit, resellerEgress, type Network } from "./networks.ts";

export type SimRequest = {
  method: "POST";
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What `request.cf` should say (sent as MF-CF-Blob over HTTP, or as `cf` in-process). */
  cf: Record<string, unknown>;
  /** The client address (CF-Connecting-IP). */
  ip: string;
  maxTokens: number;
  /** Output tokens the demo origin answers with when nothing clamps max_tokens. */
  expectedOutputTokens: number;
  stream: boolean;
};

// Characters of a bare request's content: a few paragraphs, as long as a wrapped request's varied part.
const BARE_CHARS = { min: 400, max: 2_400 };

/**
 * A request of a population with a prompt shape of its own: one of its instructions, at a share drawn in
 * its range; or, at `bareShare`, its varied content alone (no system prompt, or one of its own).
 */
function ownPrompt(spec: PromptSpec, account: SimAccount, rng: Rng) {
  // Drawn only when the spec has bare requests, so specs without them replay the same bodies.
  if (spec.bareShare > 0 && rng.chance(spec.bareShare)) {
    const user = variedContent(spec.content, rng, rng.int(BARE_CHARS.min, BARE_CHARS.max));
    const system = rng.chance(0.5) ? null : variedContent("document", rng, rng.int(80, 400));
    return { system, user, fixedChars: 0, variedChars: user.length };
  }
  const instruction = rng.weighted(spec.instructions.map((t, i) => [t, 1 / (i + 1)] as const));
  const variedShare = spec.variedShare.min + rng.next() * (spec.variedShare.max - spec.variedShare.min);
  const system = account.sendsSystem ? spec.system : null;
  return wrappedPrompt({ system, instruction, placement: spec.placement, content: spec.content, variedShare }, rng);
}

function attackTemplate(pop: AttackPopulation, rng: Rng): AttackTemplate {
  // The first template carries most of the campaign, the rest less and less.
  return rng.weighted(pop.templates.map((t, i) => [t, 1 / (i + 1)] as const));
}

function modelFor(gen: Generated, pop: Population, atMs: number, attack: boolean, rng: Rng): string {
  const pivot = gen.scenario.pivot;
  if (!pivot || atMs < pivot.at * gen.scenario.durationSeconds * 1000) return "demo-model-1";
  if (!attack) return rng.chance(pivot.legitShare) ? pivot.model : "demo-model-1";
  const pivots = pivot.populations === undefined ? isAttack(pop) : pivot.populations.includes(pop.name);
  return pivots && rng.chance(pivot.share) ? pivot.model : "demo-model-1";
}

function networkFor(account: SimAccount, pop: Population, rng: Rng): Network {
  if (pop.kind === "reseller") return resellerEgress(pop, rng.int(0, pop.egressIps - 1));
  if (pop.kind === "regionEvasion" && account.rotates) return evasionExit(pop, rng, account.network.rttMs > 100);
  return account.network;
}

/** The request for schedule entry `i`, rebuilt from its seed (nothing per request is kept in memory). */
export function buildRequest(gen: Generated, i: number): SimRequest {
  const { schedule, scenario } = gen;
  const account = gen.accounts[schedule.account[i] ?? 0];
  if (!account) throw new Error(`schedule entry ${i} names no account`);
  const pop = scenario.populations[account.population];
  if (!pop) throw new Error(`account ${account.id} names no population`);
  const rng = new Rng(schedule.seed[i] ?? 0);
  const attack = schedule.attack[i] === 1;
  const model = modelFor(gen, pop, schedule.at[i] ?? 0, attack, rng);
  const body: Record<string, unknown> = { model };
  let stream = false;
  if (attack && isAttack(pop)) {
    const prompt = pop.prompt === undefined ? templatedPrompt(attackTemplate(pop, rng), rng) : { ...ownPrompt(pop.prompt, account, rng), tools: pop.prompt.tools };
    body.max_tokens = pop.maxTokens;
    if (prompt.system !== null) body.system = prompt.system;
    body.messages = [{ role: "user", content: prompt.user }];
    if (prompt.tools) body.tools = AGENT_TOOLS;
    if (pop.thinking) body.thinking = { type: "enabled", budget_tokens: Math.min(1_024, Math.max(1, pop.maxTokens - 1)) };
  } else if (pop.kind === "service") {
    const prompt = ownPrompt(pop.prompt, account, rng);
    body.max_tokens = pop.maxTokens;
    if (prompt.system !== null) body.system = prompt.system;
    body.messages = [{ role: "user", content: prompt.user }];
    if (pop.prompt.tools) body.tools = AGENT_TOOLS;
    stream = rng.chance(pop.streamShare);
    if (stream) body.stream = true;
  } else {
    const legit = pop.kind === "legit" ? pop : null;
    const range = legit?.maxTokens ?? { min: 256, max: 2_048 };
    body.max_tokens = rng.int(range.min, Math.max(range.min, range.max));
    if (account.usesTool) body.system = legit ? toolPrompt(legit) : TOOL_SYSTEM_PROMPT;
    const steps = rng.chance(legit?.stepByStepShare ?? 0.04);
    // Only populations with phrasings of their own draw one, so older scenarios replay the same bodies.
    const phrase = steps && legit?.stepByStepPhrasings ? rng.pick(legit.stepByStepPhrasings) : undefined;
    body.messages = [{ role: "user", content: humanPrompt(rng, steps, phrase) }];
    stream = rng.chance(legit?.streamShare ?? 0.2);
    if (stream) body.stream = true;
  }
  const network = networkFor(account, pop, rng);
  const headers: Record<string, string> = {
    ...account.stack.headers,
    "content-type": "application/json",
    "x-demo-events": String(scenario.outputEvents),
  };
  if (account.stack.auth === "bearer") headers.authorization = `Bearer ${account.key}`;
  else headers["x-api-key"] = account.key;
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 0;
  return {
    method: "POST",
    path: "/v1/messages",
    headers,
    body: JSON.stringify(body),
    cf: cfFor(network, account.stack),
    ip: network.ip,
    maxTokens,
    expectedOutputTokens: Math.min(maxTokens, scenario.outputEvents * 2),
    stream,
  };
}
