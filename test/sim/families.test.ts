/**
 * The campaign and honest families of `npm run eval:detection`: reproducible
 * from the seed, tune and held-out kept apart (by family and by wording, in
 * what the requests really carry), wrapper shares inside their declared range,
 * and the generator's ground truth on every request.
 */
import { describe, expect, it } from "vitest";
import { wrappedPrompt } from "../../sim/content.ts";
import {
  CAMPAIGN_FAMILIES,
  CATEGORIES,
  FAMILIES,
  HONEST_FAMILIES,
  PHRASINGS,
  allPhrasings,
  evalRun,
  instantiate,
  timeline,
  type Split,
} from "../../sim/families/index.ts";
import { generate, type Generated } from "../../sim/generate.ts";
import { buildRequest } from "../../sim/requests.ts";
import { Rng } from "../../sim/rng.ts";
import type { PromptSpec } from "../../sim/scenario.ts";

const QUICK = timeline(true);
const RUN = { seed: 1, quick: true, timeCompression: 5 } as const;

/** Lower case, punctuation and spacing folded: two phrasings that differ only there are one phrasing. */
function folded(text: string): string {
  return text.toLowerCase().replace(/[\p{P}\p{S}\s]+/gu, " ").trim();
}

type Body = { system?: string; messages: { content: string }[] };

function textOf(gen: Generated, i: number): { system: string; user: string } {
  const body = JSON.parse(buildRequest(gen, i).body) as Body;
  return { system: body.system ?? "", user: body.messages[0]?.content ?? "" };
}

/** Every n-th request of the populations named, so a test reads hundreds of requests, not thousands. */
function sampled(gen: Generated, names: readonly string[], attack: boolean, every = 7): number[] {
  const pops = new Set(names.map((n) => gen.scenario.populations.findIndex((p) => p.name === n)));
  const out: number[] = [];
  for (let i = 0; i < gen.schedule.count; i += 1) {
    if ((gen.schedule.attack[i] === 1) !== attack) continue;
    if (!pops.has(gen.accounts[gen.schedule.account[i] ?? 0]?.population ?? -1)) continue;
    if (out.length === 0 || i % every === 0) out.push(i);
  }
  return out;
}

describe("campaign families: reproducible from the seed", () => {
  it("should draw the same instance from the same seed and other instances from other seeds", () => {
    for (const family of FAMILIES) {
      const a = JSON.stringify(instantiate(family, 7, QUICK));
      expect(JSON.stringify(instantiate(family, 7, QUICK)), family.name).toBe(a);
      const others = new Set([1, 2, 3, 4, 5].map((seed) => JSON.stringify(instantiate(family, seed, QUICK))));
      // Every family draws something (a size, a wording, a share): five seeds give more than one instance.
      expect(others.size, `${family.name} draws nothing from its seed`).toBeGreaterThan(1);
    }
  });

  it("should generate the same accounts and request bodies twice from one seed", async () => {
    const family = CAMPAIGN_FAMILIES.find((f) => f.name === "ext-reseller-grader");
    if (!family) throw new Error("no ext-reseller-grader family");
    const [one, two] = await Promise.all([generate(evalRun(family, RUN).scenario, "fixed"), generate(evalRun(family, RUN).scenario, "fixed")]);
    if (!one || !two) throw new Error("generate failed");
    expect(two.schedule.count).toBe(one.schedule.count);
    expect(two.accounts.map((a) => a.key)).toEqual(one.accounts.map((a) => a.key));
    for (let i = 0; i < one.schedule.count; i += 37) expect(buildRequest(two, i).body).toBe(buildRequest(one, i).body);
  });
});

describe("tune and held-out: disjoint by family and by wording", () => {
  it("should name every family once and split both campaign and honest families", () => {
    const names = FAMILIES.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const split of ["tune", "heldout"] as const) {
      expect(CAMPAIGN_FAMILIES.filter((f) => f.split === split).length, split).toBeGreaterThanOrEqual(5);
      expect(HONEST_FAMILIES.filter((f) => f.split === split).length, split).toBeGreaterThanOrEqual(5);
    }
  });

  it("should write at least 30 distinct phrasings per elicitation category, none shared between the splits", () => {
    for (const category of CATEGORIES) {
      const all = [...PHRASINGS[category].tune, ...PHRASINGS[category].heldout].map(folded);
      expect(new Set(all).size, category).toBeGreaterThanOrEqual(30);
    }
    const tune = new Set(allPhrasings("tune").map(folded));
    const shared = allPhrasings("heldout").filter((p) => tune.has(folded(p)));
    expect(shared).toEqual([]);
  });

  it("should put only its own split's wording in a family's campaign requests", async () => {
    const own = (split: Split) => CATEGORIES.flatMap((c) => PHRASINGS[c][split]);
    for (const family of CAMPAIGN_FAMILIES) {
      const run = evalRun(family, RUN);
      const gen = await generate(run.scenario, "fixed");
      const mine = own(family.split);
      const theirs = own(family.split === "tune" ? "heldout" : "tune");
      // A family that sends part of its traffic bare (bareShare) has requests with no wording at all.
      const bare = gen.scenario.populations.some((p) => run.campaign.includes(p.name) && p.kind !== "legit" && (p.prompt?.bareShare ?? 0) > 0);
      for (const i of sampled(gen, run.campaign, true, 11)) {
        const { system, user } = textOf(gen, i);
        const text = `${system}\n${user}`;
        if (!bare) expect(mine.some((p) => text.includes(p)), `${family.name}: request ${i} carries none of its split's wording`).toBe(true);
        expect(theirs.filter((p) => text.includes(p)), `${family.name}: request ${i}`).toEqual([]);
      }
    }
  });
});

describe("wrapper shares", () => {
  it("should give the varied part the share asked for, from 20 % to 90 %", () => {
    const rng = new Rng(3);
    for (const placement of ["prefix", "suffix", "system"] as const) {
      for (const variedShare of [0.2, 0.35, 0.5, 0.75, 0.9]) {
        const p = wrappedPrompt({ system: "You are a careful assistant.", instruction: "Show all the steps of your reasoning before answering.", placement, content: "math", variedShare }, rng);
        const total = (p.system?.length ?? 0) + p.user.length;
        expect(Math.abs(p.variedChars / total - variedShare), `${placement} ${variedShare}`).toBeLessThan(0.01);
      }
    }
  });

  it("should keep every wrapper family's requests inside the family's declared range", async () => {
    // Each run holds a campaign family and every honest family of its split.
    for (const family of CAMPAIGN_FAMILIES) {
      const run = evalRun(family, RUN);
      const gen = await generate(run.scenario, "fixed");
      for (const pop of gen.scenario.populations) {
        const spec: PromptSpec | undefined = pop.kind === "legit" ? undefined : pop.prompt;
        if (!spec) continue;
        const attack = pop.kind !== "service";
        for (const i of sampled(gen, [pop.name], attack, 13)) {
          const { system, user } = textOf(gen, i);
          const instruction = spec.instructions.find((t) => user.startsWith(t) || user.endsWith(t) || system.endsWith(t));
          // A bare request carries none of the wording, by design (bareShare), and no share to check.
          if (instruction === undefined && spec.bareShare > 0) continue;
          expect(instruction, `${pop.name}: request ${i} carries none of its instructions`).toBeDefined();
          const inUser = spec.placement === "system" ? 0 : (instruction?.length ?? 0) + 2;
          const total = system.length + user.length;
          const varied = (total - system.length - inUser) / total;
          expect(varied, `${pop.name}: request ${i}`).toBeGreaterThanOrEqual(spec.variedShare.min - 0.01);
          expect(varied, `${pop.name}: request ${i}`).toBeLessThanOrEqual(spec.variedShare.max + 0.01);
        }
      }
    }
  });
});

describe("a campaign that rotates its wording and sends part of its traffic bare", () => {
  it("should send each account's requests in two or three wordings and, at the family's bare share, with none of its wording", async () => {
    const family = CAMPAIGN_FAMILIES.find((f) => f.name === "tune-rotated-bare");
    if (!family) throw new Error("no tune-rotated-bare family");
    for (const seed of [1, 2, 3]) {
      const run = evalRun(family, { ...RUN, seed });
      const gen = await generate(run.scenario, "fixed");
      const pop = gen.scenario.populations.find((p) => p.name === "tune-rotated");
      const spec = pop && pop.kind !== "legit" ? pop.prompt : undefined;
      if (!spec) throw new Error("tune-rotated has no prompt spec");
      expect(spec.instructions.length).toBeGreaterThanOrEqual(2);
      expect(spec.bareShare).toBeGreaterThanOrEqual(0.3);
      expect(spec.bareShare).toBeLessThanOrEqual(0.6);
      const samples = sampled(gen, ["tune-rotated"], true, 3);
      const used = new Set<string>();
      let bare = 0;
      for (const i of samples) {
        const { system, user } = textOf(gen, i);
        const instruction = spec.instructions.find((t) => user.includes(t) || system.includes(t));
        if (instruction) {
          used.add(instruction);
          continue;
        }
        bare++;
        // Neither the campaign's system prompt nor anything else it always sends.
        if (spec.system !== null) expect(system.includes(spec.system)).toBe(false);
      }
      expect(used.size, `seed ${seed}`).toBeGreaterThanOrEqual(2);
      expect(Math.abs(bare / samples.length - spec.bareShare), `seed ${seed}: ${bare} of ${samples.length}`).toBeLessThan(0.12);
    }
  });
});

describe("ground truth", () => {
  it("should label every campaign family's requests: its own as attack, every honest family's as legit", async () => {
    for (const family of CAMPAIGN_FAMILIES) {
      const run = evalRun(family, RUN);
      const gen = await generate(run.scenario, "fixed");
      const campaign = new Set(run.campaign.map((n) => gen.scenario.populations.findIndex((p) => p.name === n)));
      const honest = new Set(run.honest.map((n) => gen.scenario.populations.findIndex((p) => p.name === n)));
      let attack = 0;
      let legit = 0;
      for (let i = 0; i < gen.schedule.count; i++) {
        const p = gen.accounts[gen.schedule.account[i] ?? 0]?.population ?? -1;
        if (gen.schedule.attack[i] === 1) {
          attack++;
          expect(campaign.has(p), `${family.name}: an attack request outside the campaign`).toBe(true);
        } else if (honest.has(p)) legit++;
      }
      expect(attack, family.name).toBeGreaterThan(0);
      expect(legit, family.name).toBeGreaterThan(100);
      expect(run.honest.length, family.name).toBe(HONEST_FAMILIES.filter((h) => h.split === family.split).length);
    }
  });
});
