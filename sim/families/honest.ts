/**
 * Honest families: the customers beside every campaign, in the same split as
 * the campaign. Each one is a shape an honest customer really has and a
 * detector could mistake for a campaign: heavy single users who ask for
 * step-by-step answers, a teaching platform whose tutor persona asks the
 * model to explain, an evaluation customer grading its own product with
 * rubric prompts (in synchronised CI batches), a coding tool's shared system
 * prompt that no operator allow-listed, an office NAT, CI jobs in clouds,
 * and ordinary diverse customers.
 */
import {
  CODING_TOOL_PROMPTS,
  HONEST_RUBRIC_PHRASINGS,
  HONEST_STEP_PHRASINGS,
  TUTOR_SYSTEM_PROMPTS,
  type Split,
} from "./phrasings.ts";
import { pickSome, requestsAt, type Family } from "./types.ts";

const COUNTRY_SETS = [
  ["US", "US", "US", "GB", "DE", "FR", "IN", "BR", "JP", "CA"],
  ["US", "CA", "GB", "AU", "NL", "SE", "PL", "ES"],
  ["DE", "FR", "NL", "ES", "PL", "SE", "GB", "US"],
  ["US", "JP", "KR", "SG", "IN", "AU", "HK"],
];

function customers(split: Split, name: string): Family {
  return {
    name: `${name}`,
    split,
    role: "honest",
    description: "ordinary diverse customers: many countries, ISPs and SDKs, some CI, a few small offices, an allow-listed popular tool",
    varies: ["accounts 80–120", "countries", "CI share", "offices", "step-by-step share"],
    build: (rng, t) => {
      const accounts = rng.int(80, 120);
      return {
        populations: [
          {
            kind: "legit",
            name,
            accounts,
            requests: requestsAt(accounts * 0.7, t.durationSeconds),
            countries: rng.pick(COUNTRY_SETS),
            ciShare: Math.round(rng.next() * 20) / 100,
            officeNat: { share: 0.1, offices: rng.int(1, 3) },
            popularTool: { share: 0.1, allowlisted: true },
            stepByStepShare: 0.05,
            stepByStepPhrasings: [...HONEST_STEP_PHRASINGS[split]],
          },
        ],
      };
    },
  };
}

function heavyReasoners(split: Split, name: string): Family {
  return {
    name,
    split,
    role: "honest",
    description: "a handful of heavy single users who ask for step-by-step reasoning in most requests",
    varies: ["users 3–8", "share asking for steps 40–80 %", "countries", "tiers"],
    build: (rng, t) => {
      const accounts = rng.int(3, 8);
      return {
        populations: [
          {
            kind: "legit",
            name,
            accounts,
            requests: requestsAt(accounts * 8, t.durationSeconds),
            tiers: { build: 0.5, scale: 0.5 },
            countries: rng.pick(COUNTRY_SETS),
            ciShare: 0,
            officeNat: { share: 0, offices: 1 },
            popularTool: { share: 0 },
            stepByStepShare: Math.round((0.4 + rng.next() * 0.4) * 100) / 100,
            stepByStepPhrasings: [...HONEST_STEP_PHRASINGS[split]],
            maxTokens: { min: 1_024, max: 4_096 },
          },
        ],
      };
    },
  };
}

function teachingPlatform(split: Split, name: string): Family {
  return {
    name,
    split,
    role: "honest",
    description: "a teaching platform's backend: 1–3 accounts on a cloud, one tutor system prompt that asks the model to explain step by step, students' questions",
    varies: ["accounts 1–3", "volume", "subject mix", "question share 50–90 %"],
    build: (rng, t) => {
      const accounts = rng.int(1, 3);
      const min = Math.round((0.5 + rng.next() * 0.2) * 100) / 100;
      return {
        populations: [
          {
            kind: "service",
            name,
            accounts,
            requests: requestsAt(rng.int(20, 40), t.durationSeconds),
            network: "cloud",
            country: rng.pick(["US", "DE", "GB"]),
            sdk: rng.pick(["python-sdk", "ts-sdk"]),
            maxTokens: 2_048,
            timing: { mode: "poisson" },
            prompt: {
              system: rng.pick(TUTOR_SYSTEM_PROMPTS[split]),
              instructions: split === "tune" ? ["Student question:"] : ["A learner asks:"],
              placement: "prefix",
              content: rng.pick(["math", "question", "logic"] as const),
              variedShare: { min, max: Math.round((min + 0.2) * 100) / 100 },
            },
          },
        ],
      };
    },
  };
}

/**
 * The hard honest case for "a burst of new accounts behind one system prompt": a class opening its
 * accounts on a teaching platform at the start of term, each student calling the API with their own
 * key through the platform's tutor prompt (not allow-listed). What separates it from a campaign is
 * what a class cannot fake: residential and campus networks, whatever client each student runs,
 * sign-ups spread over days, human pace and timing.
 */
function teachingClass(split: Split, name: string): Family {
  return {
    name,
    split,
    role: "honest",
    description: "a class of 60–150 students who opened accounts this term, most through one tutor system prompt that is not allow-listed, asking for step-by-step answers, from homes and a campus NAT",
    varies: ["students 60–150", "sign-up spread 2–14 days", "campus share", "step-by-step share 30–60 %", "country"],
    build: (rng, t) => {
      const accounts = rng.int(60, 150);
      const country = rng.pick(["US", "GB", "DE", "IN", "BR", "CA"]);
      return {
        populations: [
          {
            kind: "legit",
            name,
            accounts,
            requests: requestsAt(accounts * 0.8, t.durationSeconds),
            tiers: { free: 0.8, build: 0.2 },
            verifiedShare: 0.2,
            countries: [country],
            ciShare: 0,
            officeNat: { share: Math.round((0.2 + rng.next() * 0.3) * 100) / 100, offices: rng.int(1, 2) },
            popularTool: { share: Math.round((0.8 + rng.next() * 0.2) * 100) / 100, allowlisted: false, systemPrompt: rng.pick(TUTOR_SYSTEM_PROMPTS[split]) },
            sdkMix: { "python-sdk": 0.45, "ts-sdk": 0.2, "python-requests": 0.2, curl: 0.1, "go-sdk": 0.05 },
            stepByStepShare: Math.round((0.3 + rng.next() * 0.3) * 100) / 100,
            stepByStepPhrasings: [...HONEST_STEP_PHRASINGS[split]],
            accountAgeDays: { min: 0, max: rng.int(2, 14) },
          },
        ],
      };
    },
  };
}

function evaluationCustomer(split: Split, name: string): Family {
  return {
    name,
    split,
    role: "honest",
    description: "an evaluation customer grading its own product's answers with rubric prompts, from CI in a cloud, in synchronised batches",
    varies: ["accounts 2–4", "batch period and size", "rubric wording"],
    build: (rng, t) => {
      const accounts = rng.int(2, 4);
      return {
        populations: [
          {
            kind: "service",
            name,
            accounts,
            requests: requestsAt(rng.int(15, 30), t.durationSeconds),
            network: "cloud",
            tier: "scale",
            sdk: "python-sdk",
            maxTokens: 512,
            streamShare: 0,
            // An eval job fires its whole batch at once: honest synchrony.
            timing: { mode: "rounds", everySeconds: rng.int(30, 90), burst: rng.int(3, 8), burstSpacingSeconds: 1 },
            prompt: {
              system: null,
              instructions: pickSome(rng, HONEST_RUBRIC_PHRASINGS[split], 2),
              placement: "prefix",
              content: "response-pair",
              variedShare: { min: 0.6, max: 0.85 },
            },
          },
        ],
      };
    },
  };
}

function codingToolOffice(split: Split, name: string, seats: readonly [number, number]): Family {
  return {
    name,
    split,
    role: "honest",
    description: `an office of ${seats[0]}–${seats[1]} seats behind one NAT address, most using one coding tool whose system prompt is not allow-listed`,
    varies: [`seats ${seats[0]}–${seats[1]}`, "tool share 70–100 %", "country", "SDK mix"],
    build: (rng, t) => {
      const accounts = rng.int(seats[0], seats[1]);
      return {
        populations: [
          {
            kind: "legit",
            name,
            accounts,
            requests: requestsAt(accounts * 1.2, t.durationSeconds),
            countries: [rng.pick(["US", "GB", "DE", "FR", "NL", "JP"])],
            ciShare: 0,
            officeNat: { share: 1, offices: 1 },
            popularTool: { share: Math.round((0.7 + rng.next() * 0.3) * 100) / 100, allowlisted: false, systemPrompt: rng.pick(CODING_TOOL_PROMPTS[split]) },
            sdkMix: { "ts-sdk": 0.7, "python-sdk": 0.3 },
            stepByStepShare: 0.03,
            stepByStepPhrasings: [...HONEST_STEP_PHRASINGS[split]],
          },
        ],
      };
    },
  };
}

/**
 * `tiers`: the accounts' tier mix (default: the legit population's, a third free). A CI job's busiest account
 * then sends more than a free tier allows, and its 429s are the per-account quota doing its work, not detection.
 */
function ciJobs(split: Split, name: string, tiers?: Record<string, number>): Family {
  return {
    name,
    split,
    role: "honest",
    description: "CI pipelines in clouds: bursts of quick calls from cloud ASNs",
    varies: ["accounts 10–25", "volume"],
    build: (rng, t) => {
      const accounts = rng.int(10, 25);
      return {
        populations: [
          {
            kind: "legit",
            name,
            accounts,
            ...(tiers ? { tiers } : {}),
            requests: requestsAt(accounts * rng.int(2, 4), t.durationSeconds),
            ciShare: 1,
            officeNat: { share: 0, offices: 1 },
            popularTool: { share: 0 },
            stepByStepShare: 0,
          },
        ],
      };
    },
  };
}

export const HONEST_FAMILIES: readonly Family[] = [
  customers("tune", "customers-tune"),
  heavyReasoners("tune", "stepwise-users-tune"),
  teachingPlatform("tune", "tutor-tune"),
  evaluationCustomer("tune", "eval-harness-tune"),
  codingToolOffice("tune", "ide-office-tune", [20, 35]),
  teachingClass("tune", "class-tune"),
  // The businesses whose pipelines call the API pay for a tier that fits them; the eval measures detection's
  // precision, and a free account over its own per-account limit would read as touched by it.
  ciJobs("tune", "ci-cloud-tune", { build: 0.6, scale: 0.4 }),
  // Held out: the outside team's 120 customers and 40-seat office, and the other hard shapes in held-out wording.
  customers("heldout", "customers"),
  codingToolOffice("heldout", "office-nat-40", [40, 40]),
  heavyReasoners("heldout", "heavy-reasoners"),
  teachingPlatform("heldout", "teaching-platform"),
  evaluationCustomer("heldout", "eval-customer"),
  ciJobs("heldout", "ci-cloud"),
];
