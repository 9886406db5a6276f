/**
 * What the elicitation scorer makes of the simulator's campaign wording, without a replay.
 *
 *   npx tsx --import ./scripts/node-wasm.ts sim/node/elicitation-probe.ts --family NAME [--seed N] [--samples N]
 *   npx tsx --import ./scripts/node-wasm.ts sim/node/elicitation-probe.ts --phrasings tune|heldout [--category grader,preference]
 *
 * --family: the family's campaign populations as the evaluation builds them from the seed, each
 * instruction's score alone and the scores of sample prompts built as sim/requests.ts builds them
 * (the instruction placed and wrapped around varied content of the population's share), so a
 * family that is never confirmed can be told apart: an instruction the scorer does not see, or
 * one diluted by its content.
 * --phrasings: every phrasing of a split's categories, alone and around 30 sample contents.
 * Held-out wording is for reporting only: nothing may be fitted on what this prints for it.
 */
import { parseArgs } from "node:util";
import { scoredText } from "../../lib/fingerprint/elicitation-corpus.ts";
import { elicitationScore } from "../../lib/fingerprint/elicitation.ts";
import { type ContentKind, wrappedPrompt } from "../content.ts";
import { CATEGORIES, type Category, PHRASINGS, type Split, campaignFamilies, evalRun } from "../families/index.ts";
import { Rng } from "../rng.ts";
import type { PromptSpec } from "../scenario.ts";

const PLACEMENTS = ["prefix", "suffix", "system"] as const;
const SAMPLE_SYSTEM = "You are a helpful assistant.";

function scoreOf(system: string | null, user: string): { score: number; reasons: string[] } {
  return elicitationScore(scoredText(system, user));
}

function line(score: number, reasons: readonly string[], text: string): string {
  return `${score.toFixed(2)} ${reasons.length > 0 ? `[${reasons.join(" ")}] ` : ""}${text.replace(/\s+/g, " ").slice(0, 110)}`;
}

function probeFamily(name: string, seed: number, samples: number): void {
  const family = campaignFamilies().find((f) => f.name === name);
  if (family === undefined) throw new Error(`no campaign family ${name}; known: ${campaignFamilies().map((f) => f.name).join(", ")}`);
  const run = evalRun(family, { seed, quick: true, timeCompression: 1 });
  for (const population of run.scenario.populations.filter((p) => run.campaign.includes(p.name))) {
    const prompt: PromptSpec | undefined = "prompt" in population ? population.prompt : undefined;
    const share = population.kind === "reseller" ? ` campaign share ${population.attackShare}` : "";
    console.log(`${family.name} seed ${seed}: population ${population.name} (${population.kind}, ${population.accounts} accounts${share})`);
    if (prompt === undefined) {
      console.log("  no own prompt shape (templated campaign prompts)");
      continue;
    }
    console.log(`  placement ${prompt.placement}, content ${prompt.content}, varied share ${prompt.variedShare.min}-${prompt.variedShare.max}, system ${prompt.system === null ? "none" : JSON.stringify(prompt.system)}`);
    for (const instruction of prompt.instructions) {
      const alone = scoreOf(null, instruction);
      console.log(`  alone      ${line(alone.score, alone.reasons, instruction)}`);
    }
    const rng = new Rng(`probe:${seed}:${name}`);
    const scores: number[] = [];
    for (let i = 0; i < samples; i++) {
      // Instructions weighted as sim/requests.ts weighs them: the first carries most of the campaign.
      const instruction = rng.weighted(prompt.instructions.map((t, k) => [t, 1 / (k + 1)] as const));
      const variedShare = prompt.variedShare.min + rng.next() * (prompt.variedShare.max - prompt.variedShare.min);
      const system = rng.chance(0.5) ? prompt.system : null;
      const wrapped = wrappedPrompt({ system, instruction, placement: prompt.placement, content: prompt.content, variedShare }, rng);
      const result = scoreOf(wrapped.system, wrapped.user);
      scores.push(result.score);
      if (i < 4) console.log(`  sample ${i}   ${line(result.score, result.reasons, `${wrapped.system ?? ""} ${wrapped.user}`)}`);
    }
    const at = (bar: number) => scores.filter((s) => s >= bar).length;
    console.log(`  ${samples} sample prompts: ${at(0.5)} at or above 0.5, ${at(0.85)} at or above 0.85`);
  }
}

function contentFor(category: Category): ContentKind {
  if (category === "grader") return "response-pair";
  if (category === "agentic") return "agent-task";
  if (category === "reasoning") return "math";
  return "question";
}

function probePhrasings(split: Split, categories: readonly Category[]): void {
  for (const category of categories) {
    let flagged = 0;
    let total = 0;
    for (const instruction of PHRASINGS[category][split]) {
      const alone = scoreOf(null, instruction);
      const rng = new Rng(`probe:${split}:${instruction}`);
      let hits = 0;
      for (let i = 0; i < 30; i++) {
        const placement = PLACEMENTS[i % PLACEMENTS.length] ?? "suffix";
        const wrapped = wrappedPrompt({ system: i % 2 === 1 ? SAMPLE_SYSTEM : null, instruction, placement, content: contentFor(category), variedShare: 0.3 + rng.next() * 0.5 }, rng);
        if (scoreOf(wrapped.system, wrapped.user).score >= 0.5) hits++;
      }
      flagged += hits;
      total += 30;
      console.log(`${category.padEnd(10)} ${String(hits).padStart(2)}/30 wrapped, alone ${line(alone.score, alone.reasons, instruction)}`);
    }
    console.log(`${category}: ${flagged} of ${total} wrapped prompts at or above 0.5`);
  }
}

const { values } = parseArgs({
  options: {
    family: { type: "string" },
    seed: { type: "string", default: "1" },
    samples: { type: "string", default: "200" },
    phrasings: { type: "string" },
    category: { type: "string" },
  },
});
if (values.family !== undefined) {
  probeFamily(values.family, Number(values.seed), Number(values.samples));
} else if (values.phrasings === "tune" || values.phrasings === "heldout") {
  const wanted = (values.category ?? CATEGORIES.join(",")).split(",");
  probePhrasings(values.phrasings, CATEGORIES.filter((c) => wanted.includes(c)));
} else {
  console.error("usage: elicitation-probe.ts --family NAME [--seed N] [--samples N] | --phrasings tune|heldout [--category a,b]");
  process.exitCode = 2;
}
