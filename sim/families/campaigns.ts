/**
 * Campaign families. Each draws its parameters (size, networks, client
 * builds, wording, wrapper shape and share, timing, mix) from the run's seed;
 * the split says whether detection may be tuned on it.
 *
 * The held-out set starts with the five campaigns an outside team replayed
 * against the gateway (issue 17), described as they were measured from
 * outside; the others widen the shapes (tiny and large fleets, tool-use
 * harvest, rotated clients, business hours). Held-out families speak only
 * held-out wording (phrasings.ts).
 */
import type { Rng } from "../rng.ts";
import type { ContentKind } from "../content.ts";
import { CAMPAIGN_SYSTEM_PROMPTS, PHRASINGS, type Category, type Split } from "./phrasings.ts";
import { pickSome, requestsAt, type Family, type FamilyInstance, type PopulationInput, type Timeline } from "./types.ts";

const HOSTING_ASNS = [14061, 16276, 24940, 20473, 63949];
const VPN_ASNS = [9009, 212238, 60068];
const SINGLE_BUILD_SDKS = ["python-sdk", "ts-sdk", "python-requests", "go-sdk"] as const;
// Countries an operator may be barred from serving; billing there is refused whatever the exit.
const DENIED = ["IR", "KP", "SY", "CU", "RU", "BY"];

function active(t: Timeline) {
  return { from: t.campaignFrom, to: 1 };
}

/** `k` phrasings of one category from the split's pool: a campaign sticks to a few. */
function wording(rng: Rng, split: Split, category: Category, k: number): string[] {
  return pickSome(rng, PHRASINGS[category][split], k);
}

function share(rng: Rng, lo: number, hi: number, width: number) {
  const min = lo + rng.next() * (hi - lo - width);
  return { min: round2(min), max: round2(min + width) };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * A tier and a max_tokens that fit each account's output-token budget at a few requests a minute:
 * a campaign stays under per-account limits (free: 8,000 output tokens a minute; build: 40,000).
 */
function fittingTier(rng: Rng): { tier: string; maxTokens: number } {
  return rng.chance(0.5) ? { tier: "free", maxTokens: 2_048 } : { tier: "build", maxTokens: rng.pick([4_096, 8_192]) };
}

/** The clock hour `seconds` before `hour`: a working day that starts a little into the campaign. */
function hourBefore(hour: number, seconds: number): number {
  return Math.round((hour - seconds / 3_600) * 10_000) / 10_000;
}

type HarvestOptions = {
  name: string;
  split: Split;
  rng: Rng;
  t: Timeline;
  network: "hosting" | "residential";
  pivot: boolean;
};

/**
 * The outside team's first campaign and its two variants: 300 accounts, one client build, one system
 * prompt on ~295 of them, a fixed reasoning-harvest instruction appended to varied problem text,
 * ~1,770 requests a minute on the shared TLS key.
 */
function harvest300({ name, split, rng, t, network, pivot }: HarvestOptions): FamilyInstance {
  const accounts = 300;
  // Quick runs send a third of the measured volume: still far above what a key needs for a verdict.
  const perMinute = rng.int(1_500, 1_900) * (t.quick ? 1 / 3 : 1);
  const content = rng.pick<ContentKind>(["math", "logic", "code"]);
  const population: PopulationInput = {
    kind: "hydra",
    name,
    accounts,
    requests: requestsAt(perMinute, t.campaignSeconds),
    active: active(t),
    sdk: rng.pick(SINGLE_BUILD_SDKS),
    sdkVariants: 1,
    asns: pickSome(rng, HOSTING_ASNS, 3),
    prefixes: rng.int(6, 24),
    exitCountries: pickSome(rng, ["US", "DE", "NL", "GB", "FR", "SG"], rng.int(1, 3)),
    residentialShare: network === "residential" ? 1 : 0,
    ...fittingTier(rng),
    timing: rng.chance(0.5) ? { mode: "poisson" } : { mode: "jittered", everySeconds: rng.int(20, 60), burst: rng.int(1, 3), spread: 0.9 },
    prompt: {
      system: rng.pick(CAMPAIGN_SYSTEM_PROMPTS[split]),
      systemAccounts: 295 / 300,
      instructions: wording(rng, split, "reasoning", 1),
      placement: "suffix",
      content,
      variedShare: share(rng, 0.4, 0.9, 0.3),
    },
  };
  return {
    populations: [population],
    ...(pivot ? { pivot: { at: 0.5, model: "demo-model-2", share: round2(0.5 + rng.next() * 0.5), legitShare: 0.05, populations: [name] } } : {}),
  };
}

export const CAMPAIGN_FAMILIES: readonly Family[] = [
  // ───────────────────────────── held out ─────────────────────────────
  {
    name: "ext-hosting-suffix",
    split: "heldout",
    role: "campaign",
    description: "300 accounts on 3 hosting ASNs, one client build, one system prompt on ~295 of them, a fixed reasoning-harvest instruction appended to varied problem text, ~1,770 requests/min",
    varies: ["ASNs", "prefixes", "client library", "system prompt", "instruction wording", "problem kind", "varied share 40–90 %", "Poisson or jittered"],
    build: (rng, t) => harvest300({ name: "ext-hosting", split: "heldout", rng, t, network: "hosting", pivot: false }),
  },
  {
    name: "ext-residential-suffix",
    split: "heldout",
    role: "campaign",
    description: "the same campaign on residential proxy prefixes (consumer ISPs, an address per account)",
    varies: ["exit countries", "client library", "system prompt", "instruction wording", "problem kind", "varied share 40–90 %", "Poisson or jittered"],
    build: (rng, t) => harvest300({ name: "ext-residential", split: "heldout", rng, t, network: "residential", pivot: false }),
  },
  {
    name: "ext-hosting-pivot",
    split: "heldout",
    role: "campaign",
    description: "the hosting campaign moving 50–100 % of its traffic to a newly released model half-way",
    varies: ["pivot share", "ASNs", "client library", "instruction wording", "problem kind", "varied share 40–90 %", "Poisson or jittered"],
    build: (rng, t) => harvest300({ name: "ext-pivot", split: "heldout", rng, t, network: "hosting", pivot: true }),
  },
  {
    name: "ext-reseller-grader",
    split: "heldout",
    role: "campaign",
    description: "a reseller: 60 accounts on shared egress, a grader/rubric template in 30 % of their traffic, the rest ordinary customers",
    varies: ["egress network", "egress addresses", "grader wording", "template placement", "varied share 30–80 %"],
    build: (rng, t) => ({
      populations: [
        {
          kind: "reseller",
          name: "ext-reseller",
          accounts: 60,
          // ~230 campaign requests in two minutes: about 100 a minute of grading, 230 a minute ordinary.
          requests: requestsAt(rng.int(300, 360), t.campaignSeconds),
          attackShare: 0.3,
          active: active(t),
          egressAsn: rng.pick([7922, 9009, 16509, 3320]),
          egressIps: rng.int(2, 12),
          exitCountries: rng.pick([["US"], ["GB"], ["US", "GB"], ["DE"]]),
          sdk: rng.pick(["ts-sdk", "python-sdk"]),
          maxTokens: rng.pick([1_024, 2_048, 4_096]),
          timing: { mode: "poisson" },
          prompt: {
            system: rng.chance(0.5) ? rng.pick(CAMPAIGN_SYSTEM_PROMPTS.heldout) : null,
            instructions: wording(rng, "heldout", "grader", 1),
            placement: rng.pick(["prefix", "system"] as const),
            content: "response-pair",
            variedShare: share(rng, 0.3, 0.8, 0.2),
          },
        },
      ],
    }),
  },
  {
    name: "ext-denied-billing",
    split: "heldout",
    role: "campaign",
    description: "accounts billed in a country the operator may not serve, half through hosting exits, half through VPNs",
    varies: ["denied country", "accounts 40–120", "exit countries", "tunnel and rotation shares", "instruction wording"],
    build: (rng, t) => {
      const country = rng.pick(DENIED);
      const accounts = rng.int(40, 120);
      return {
        operatorPolicy: { regions: { deniedCountries: [country] } },
        populations: [
          {
            kind: "regionEvasion",
            name: "ext-denied",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 5) * t.rate, t.campaignSeconds),
            active: active(t),
            billingCountries: [country],
            vpnAsns: pickSome(rng, VPN_ASNS, 2),
            hostingAsns: pickSome(rng, HOSTING_ASNS, 2),
            exitCountries: pickSome(rng, ["US", "DE", "SG", "JP", "GB", "NL"], 3),
            tunnelShare: round2(rng.next() * 0.6),
            rotateShare: round2(rng.next() * 0.5),
            sdk: rng.pick(SINGLE_BUILD_SDKS),
            timing: { mode: "poisson" },
            prompt: {
              system: null,
              instructions: wording(rng, "heldout", "reasoning", 2),
              placement: rng.pick(["prefix", "suffix"] as const),
              content: rng.pick<ContentKind>(["math", "code"]),
              variedShare: share(rng, 0.3, 0.9, 0.3),
            },
          },
        ],
      };
    },
  },
  {
    name: "hold-agentic-mixed",
    split: "heldout",
    role: "campaign",
    description: "tool-use and coding-trace harvest: half hosting, half residential, three client libraries rotated, instruction in the system prompt, business hours",
    varies: ["accounts 80–400", "libraries and builds", "agentic wording", "task kind", "varied share 30–70 %", "start of the working day"],
    build: (rng, t) => {
      const accounts = rng.int(80, 400);
      return {
        populations: [
          {
            kind: "hydra",
            name: "hold-agentic",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            sdks: pickSome(rng, ["ts-sdk", "python-sdk", "go-sdk", "python-requests"], 3),
            sdkVariants: rng.int(1, 3),
            asns: pickSome(rng, HOSTING_ASNS, 2),
            prefixes: rng.int(4, 16),
            exitCountries: pickSome(rng, ["US", "DE", "GB", "FR", "JP"], 2),
            residentialShare: 0.5,
            tier: "build",
            maxTokens: 4_096,
            timing: { mode: "businessHours", startHour: hourBefore(9, rng.int(30, 150)) },
            prompt: {
              system: rng.pick(CAMPAIGN_SYSTEM_PROMPTS.heldout),
              instructions: wording(rng, "heldout", "agentic", 2),
              placement: "system",
              content: rng.pick<ContentKind>(["agent-task", "code"]),
              variedShare: share(rng, 0.3, 0.7, 0.2),
              tools: true,
            },
          },
        ],
      };
    },
  },
  {
    name: "hold-synthetic-tiny",
    split: "heldout",
    role: "campaign",
    description: "a tiny fleet (20–40 accounts) on residential exits writing synthetic training data: fixed prefix, no system prompt, short varied part, jittered rounds",
    varies: ["accounts 20–40", "synthetic-data wording", "seed text kind", "varied share 20–50 %", "round period"],
    build: (rng, t) => {
      const accounts = rng.int(20, 40);
      return {
        populations: [
          {
            kind: "hydra",
            name: "hold-synthetic",
            accounts,
            requests: requestsAt(accounts * rng.int(3, 6) * t.rate, t.campaignSeconds),
            active: active(t),
            sdk: rng.pick(SINGLE_BUILD_SDKS),
            residentialShare: 1,
            exitCountries: pickSome(rng, ["US", "GB", "CA", "AU"], 2),
            tier: "build",
            maxTokens: 4_096,
            timing: { mode: "jittered", everySeconds: rng.int(15, 45), burst: rng.int(1, 2), spread: round2(0.3 + rng.next() * 0.6) },
            prompt: {
              system: null,
              instructions: wording(rng, "heldout", "synthetic", 1),
              placement: "prefix",
              content: rng.pick<ContentKind>(["document", "question", "math"]),
              variedShare: share(rng, 0.2, 0.5, 0.15),
            },
          },
        ],
      };
    },
  },
  {
    name: "hold-preference-large",
    split: "heldout",
    role: "campaign",
    description: "a large fleet (1,500–3,000 accounts) harvesting preference pairs, hosting and residential mixed, one build, synchronised rounds, instruction appended",
    varies: ["accounts 1,500–3,000", "residential share 20–60 %", "preference wording", "varied share 50–90 %", "round period and burst"],
    build: (rng, t) => {
      const accounts = rng.int(1_500, 3_000);
      return {
        populations: [
          {
            kind: "hydra",
            name: "hold-preference",
            accounts,
            // Each account a request or two over the campaign: under every per-account limit.
            requests: Math.round(accounts * (1 + rng.next()) * (t.quick ? 0.75 : 2)),
            active: active(t),
            sdk: rng.pick(SINGLE_BUILD_SDKS),
            asns: pickSome(rng, HOSTING_ASNS, rng.int(2, 4)),
            prefixes: rng.int(16, 64),
            exitCountries: pickSome(rng, ["US", "DE", "NL", "SG"], 2),
            residentialShare: round2(0.2 + rng.next() * 0.4),
            maxTokens: 2_048,
            timing: { mode: "rounds", everySeconds: rng.int(20, 40), burst: 1, jitterMs: rng.int(100, 800) },
            prompt: {
              system: null,
              instructions: wording(rng, "heldout", "preference", 2),
              placement: "suffix",
              content: rng.pick<ContentKind>(["question", "document"]),
              variedShare: share(rng, 0.5, 0.9, 0.2),
            },
          },
        ],
      };
    },
  },

  // ─────────────────────────────── tune ───────────────────────────────
  {
    name: "tune-hydra-rounds",
    split: "tune",
    role: "campaign",
    description: "a hosting hydra in synchronised rounds, reasoning harvest in the system prompt, one build",
    varies: ["accounts 200–1,000", "ASNs and prefixes", "client library", "reasoning wording", "problem kind", "varied share 20–60 %", "round period and burst"],
    build: (rng, t) => {
      const accounts = rng.int(200, 1_000);
      return {
        populations: [
          {
            kind: "hydra",
            name: "tune-hydra",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            sdk: rng.pick(SINGLE_BUILD_SDKS),
            asns: pickSome(rng, HOSTING_ASNS, rng.int(1, 3)),
            prefixes: rng.int(4, 32),
            maxTokens: 1_536,
            timing: { mode: "rounds", everySeconds: rng.int(20, 60), burst: rng.int(1, 3), burstSpacingSeconds: 2 },
            prompt: {
              system: rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune),
              instructions: wording(rng, "tune", "reasoning", 2),
              placement: "system",
              content: rng.pick<ContentKind>(["math", "logic", "code"]),
              variedShare: share(rng, 0.2, 0.6, 0.2),
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-reseller-mix",
    split: "tune",
    role: "campaign",
    description: "a reseller with a 10–50 % campaign share of grader or preference prompts among ordinary customers",
    varies: ["accounts 40–150", "campaign share 10–50 %", "egress", "grader or preference wording", "placement", "varied share 30–80 %"],
    build: (rng, t) => {
      const accounts = rng.int(40, 150);
      const category = rng.pick<Category>(["grader", "preference"]);
      return {
        populations: [
          {
            kind: "reseller",
            name: "tune-reseller",
            accounts,
            requests: requestsAt(accounts * rng.int(3, 6) * t.rate, t.campaignSeconds),
            attackShare: round2(0.1 + rng.next() * 0.4),
            active: active(t),
            egressAsn: rng.pick([7922, 9009, 5089, 16509]),
            egressIps: rng.int(2, 24),
            exitCountries: rng.pick([["US"], ["GB"], ["US", "GB"]]),
            sdk: rng.pick(["ts-sdk", "python-sdk"]),
            timing: { mode: "poisson" },
            prompt: {
              system: rng.chance(0.5) ? rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune) : null,
              instructions: wording(rng, "tune", category, 2),
              placement: rng.pick(["prefix", "suffix", "system"] as const),
              content: category === "grader" ? "response-pair" : "question",
              variedShare: share(rng, 0.3, 0.8, 0.2),
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-residential-synthetic",
    split: "tune",
    role: "campaign",
    description: "synthetic training data from residential proxies, Poisson arrivals, fixed prefix, no system prompt",
    varies: ["accounts 100–600", "exit countries", "client library", "synthetic wording", "seed kind", "varied share 40–90 %"],
    build: (rng, t) => {
      const accounts = rng.int(100, 600);
      return {
        populations: [
          {
            kind: "hydra",
            name: "tune-residential",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            sdk: rng.pick(SINGLE_BUILD_SDKS),
            residentialShare: 1,
            exitCountries: pickSome(rng, ["US", "GB", "DE", "FR", "BR", "IN"], 3),
            tier: "build",
            maxTokens: 8_192,
            timing: { mode: "poisson" },
            prompt: {
              system: null,
              instructions: wording(rng, "tune", "synthetic", 1),
              placement: "prefix",
              content: rng.pick<ContentKind>(["document", "math", "question"]),
              variedShare: share(rng, 0.4, 0.9, 0.25),
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-agentic-rotated",
    split: "tune",
    role: "campaign",
    description: "tool-use and coding-trace harvest, hosting and residential mixed, several client libraries rotated, jittered rounds",
    varies: ["accounts 50–300", "libraries and builds", "agentic wording", "task kind", "placement", "varied share 20–70 %"],
    build: (rng, t) => {
      const accounts = rng.int(50, 300);
      return {
        populations: [
          {
            kind: "hydra",
            name: "tune-agentic",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            sdks: pickSome(rng, ["ts-sdk", "python-sdk", "go-sdk", "curl"], rng.int(2, 3)),
            sdkVariants: rng.int(1, 4),
            asns: pickSome(rng, HOSTING_ASNS, 2),
            residentialShare: round2(0.3 + rng.next() * 0.4),
            tier: "build",
            maxTokens: 4_096,
            timing: { mode: "jittered", everySeconds: rng.int(20, 60), burst: rng.int(1, 3), spread: round2(0.5 + rng.next() * 0.5) },
            prompt: {
              system: rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune),
              instructions: wording(rng, "tune", "agentic", 2),
              placement: rng.pick(["system", "prefix"] as const),
              content: rng.pick<ContentKind>(["agent-task", "code"]),
              variedShare: share(rng, 0.2, 0.7, 0.25),
              tools: true,
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-pivot-preference",
    split: "tune",
    role: "campaign",
    description: "preference pairs on hosting in business hours, pivoting to the newly released model half-way",
    varies: ["accounts 100–400", "pivot share", "preference wording", "varied share 30–80 %", "start of the working day"],
    build: (rng, t) => {
      const accounts = rng.int(100, 400);
      return {
        pivot: { at: 0.5, model: "demo-model-2", share: round2(0.4 + rng.next() * 0.6), legitShare: 0.05, populations: ["tune-pivot"] },
        populations: [
          {
            kind: "hydra",
            name: "tune-pivot",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            sdk: rng.pick(SINGLE_BUILD_SDKS),
            asns: pickSome(rng, HOSTING_ASNS, 2),
            prefixes: rng.int(4, 16),
            maxTokens: 1_536,
            timing: { mode: "businessHours", startHour: hourBefore(9, rng.int(30, 120)) },
            prompt: {
              system: rng.chance(0.5) ? rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune) : null,
              instructions: wording(rng, "tune", "preference", 2),
              placement: "suffix",
              content: "question",
              variedShare: share(rng, 0.3, 0.8, 0.25),
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-aged-fleet",
    split: "tune",
    role: "campaign",
    description: "a fleet of aged accounts bought in bulk (no burst of new accounts), hosting and residential mixed, one build, one system prompt, Poisson arrivals",
    varies: ["accounts 60–400", "account age", "residential share 0–50 %", "client library", "system prompt", "reasoning wording", "varied share 30–80 %"],
    build: (rng, t) => {
      const accounts = rng.int(60, 400);
      const minAge = rng.int(30, 300);
      return {
        populations: [
          {
            kind: "hydra",
            name: "tune-aged",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            accountAgeDays: { min: minAge, max: minAge + rng.int(30, 600) },
            sdk: rng.pick(SINGLE_BUILD_SDKS),
            asns: pickSome(rng, HOSTING_ASNS, 2),
            prefixes: rng.int(4, 24),
            residentialShare: round2(rng.next() * 0.5),
            exitCountries: pickSome(rng, ["US", "DE", "GB", "NL"], 2),
            maxTokens: 2_048,
            timing: { mode: "poisson" },
            prompt: {
              system: rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune),
              systemAccounts: round2(0.8 + rng.next() * 0.2),
              instructions: wording(rng, "tune", "reasoning", 2),
              placement: rng.pick(["suffix", "system"] as const),
              content: rng.pick<ContentKind>(["math", "logic", "code"]),
              variedShare: share(rng, 0.3, 0.8, 0.25),
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-small-quiet",
    split: "tune",
    role: "campaign",
    description: "a small, quiet fleet (20–60 accounts), some bought aged, hosting and residential exits mixed, Poisson or business-hours arrivals, a few cards, one build or two",
    varies: ["accounts 20–60", "account age", "residential share 20–80 %", "one or two libraries", "system prompt or none", "category and wording", "placement", "varied share 30–85 %", "Poisson or business hours", "cards 2–12"],
    build: (rng, t) => {
      const accounts = rng.int(20, 60);
      const category = rng.pick<Category>(["reasoning", "synthetic", "agentic", "preference"]);
      const aged = rng.chance(0.6);
      const minAge = rng.int(20, 400);
      const withSystem = rng.chance(0.5);
      return {
        populations: [
          {
            kind: "hydra",
            name: "tune-small",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            ...(aged ? { accountAgeDays: { min: minAge, max: minAge + rng.int(30, 900) } } : {}),
            paymentFingerprints: rng.int(2, 12),
            ...(rng.chance(0.5) ? { sdk: rng.pick(SINGLE_BUILD_SDKS) } : { sdks: pickSome(rng, ["ts-sdk", "python-sdk", "go-sdk", "python-requests"], 2) }),
            asns: pickSome(rng, HOSTING_ASNS, rng.int(1, 2)),
            prefixes: rng.int(2, 8),
            residentialShare: round2(0.2 + rng.next() * 0.6),
            exitCountries: pickSome(rng, ["US", "GB", "DE", "CA", "NL"], 2),
            ...fittingTier(rng),
            timing: rng.chance(0.6) ? { mode: "poisson" } : { mode: "businessHours", startHour: hourBefore(9, rng.int(30, 120)) },
            prompt: {
              system: withSystem ? rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune) : null,
              ...(withSystem ? { systemAccounts: round2(0.6 + rng.next() * 0.4) } : {}),
              instructions: wording(rng, "tune", category, rng.int(1, 3)),
              placement: rng.pick(withSystem ? (["prefix", "suffix", "system"] as const) : (["prefix", "suffix"] as const)),
              content: category === "agentic" ? rng.pick<ContentKind>(["agent-task", "code"]) : rng.pick<ContentKind>(["math", "logic", "question", "document"]),
              variedShare: share(rng, 0.3, 0.85, 0.25),
              tools: category === "agentic",
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-reseller-small",
    split: "tune",
    role: "campaign",
    description: "a small reseller (20–60 long-standing accounts) on shared egress, a 10–50 % campaign share of reasoning, synthetic-data or grader prompts among ordinary customers, Poisson",
    varies: ["accounts 20–60", "campaign share 10–50 %", "egress network and addresses", "category and wording", "system prompt or none", "placement", "varied share 30–80 %"],
    build: (rng, t) => {
      const accounts = rng.int(20, 60);
      const category = rng.pick<Category>(["reasoning", "synthetic", "grader"]);
      const minAge = rng.int(60, 700);
      return {
        populations: [
          {
            kind: "reseller",
            name: "tune-reseller-small",
            accounts,
            requests: requestsAt(accounts * rng.int(3, 6) * t.rate, t.campaignSeconds),
            attackShare: round2(0.1 + rng.next() * 0.4),
            active: active(t),
            accountAgeDays: { min: minAge, max: minAge + rng.int(30, 600) },
            egressAsn: rng.pick([7922, 3320, 9009, 16509, 5089]),
            egressIps: rng.int(1, 8),
            exitCountries: rng.pick([["US"], ["DE"], ["GB", "US"], ["CA"]]),
            sdk: rng.pick(["ts-sdk", "python-sdk"]),
            maxTokens: rng.pick([1_024, 2_048, 4_096]),
            timing: { mode: "poisson" },
            prompt: {
              system: rng.chance(0.4) ? rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune) : null,
              instructions: wording(rng, "tune", category, rng.int(1, 2)),
              placement: rng.pick(["prefix", "suffix", "system"] as const),
              content: category === "grader" ? "response-pair" : rng.pick<ContentKind>(["math", "question", "document"]),
              variedShare: share(rng, 0.3, 0.8, 0.2),
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-rotated-bare",
    split: "tune",
    role: "campaign",
    description: "each account rotates two or three instruction wordings and sends 30–60 % of its traffic bare (no system prompt, or one of its own), hosting and residential mixed, one build or several",
    varies: ["accounts 60–400", "category and 2–3 wordings", "system prompt or none", "placement", "bare share 30–60 %", "residential share 0–60 %", "one or several libraries", "Poisson, jittered or business hours", "varied share 30–80 %"],
    build: (rng, t) => {
      const accounts = rng.int(60, 400);
      const category = rng.pick<Category>(["reasoning", "agentic", "synthetic", "grader", "preference"]);
      const timing = rng.pick(["poisson", "jittered", "businessHours"] as const);
      return {
        populations: [
          {
            kind: "hydra",
            name: "tune-rotated",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 4) * t.rate, t.campaignSeconds),
            active: active(t),
            ...(rng.chance(0.5) ? { sdk: rng.pick(SINGLE_BUILD_SDKS) } : { sdks: pickSome(rng, ["ts-sdk", "python-sdk", "go-sdk", "curl"], rng.int(2, 3)), sdkVariants: rng.int(1, 3) }),
            asns: pickSome(rng, HOSTING_ASNS, rng.int(1, 3)),
            prefixes: rng.int(4, 24),
            residentialShare: round2(rng.next() * 0.6),
            exitCountries: pickSome(rng, ["US", "DE", "GB", "NL", "FR"], 2),
            ...fittingTier(rng),
            timing:
              timing === "poisson"
                ? { mode: "poisson" }
                : timing === "jittered"
                  ? { mode: "jittered", everySeconds: rng.int(20, 60), burst: rng.int(1, 3), spread: round2(0.5 + rng.next() * 0.5) }
                  : { mode: "businessHours", startHour: hourBefore(9, rng.int(30, 120)) },
            prompt: {
              system: rng.chance(0.6) ? rng.pick(CAMPAIGN_SYSTEM_PROMPTS.tune) : null,
              instructions: wording(rng, "tune", category, rng.int(2, 3)),
              placement: rng.pick(["system", "prefix", "suffix"] as const),
              content: category === "agentic" ? rng.pick<ContentKind>(["agent-task", "code"]) : category === "grader" ? "response-pair" : rng.pick<ContentKind>(["math", "logic", "question", "document"]),
              variedShare: share(rng, 0.3, 0.8, 0.25),
              tools: category === "agentic",
              bareShare: round2(0.3 + rng.next() * 0.3),
            },
          },
        ],
      };
    },
  },
  {
    name: "tune-region-evasion",
    split: "tune",
    role: "campaign",
    description: "accounts billed in a denied country on VPN and hosting exits, some tunnelling, some rotating exits",
    varies: ["denied country", "accounts 30–150", "exits", "tunnel and rotation shares", "reasoning wording"],
    build: (rng, t) => {
      const country = rng.pick(DENIED);
      const accounts = rng.int(30, 150);
      return {
        operatorPolicy: { regions: { deniedCountries: [country] } },
        populations: [
          {
            kind: "regionEvasion",
            name: "tune-evasion",
            accounts,
            requests: requestsAt(accounts * rng.int(2, 5) * t.rate, t.campaignSeconds),
            active: active(t),
            billingCountries: [country],
            vpnAsns: pickSome(rng, VPN_ASNS, 2),
            hostingAsns: pickSome(rng, HOSTING_ASNS, 1),
            exitCountries: pickSome(rng, ["US", "DE", "SG", "GB"], 2),
            tunnelShare: round2(rng.next()),
            rotateShare: round2(rng.next() * 0.5),
            timing: { mode: "rounds", everySeconds: rng.int(20, 60) },
            prompt: {
              system: null,
              instructions: wording(rng, "tune", "reasoning", 1),
              placement: "suffix",
              content: "math",
              variedShare: share(rng, 0.3, 0.8, 0.2),
            },
          },
        ],
      };
    },
  },
];
