/**
 * Scenario files: JSON, validated here. A scenario is a list of populations
 * (building blocks, combinable) played over `durationSeconds` of campaign
 * time, compressed `timeCompression` times into wall time.
 *
 *   legit          honest customers: many countries, networks, SDKs, prompts; human and CI timing;
 *                  some behind one office NAT, some sharing a popular tool's system prompt
 *   hydra          thousands of accounts on shared infrastructure, one client build, templated
 *                  chain-of-thought prompts, load-balanced synchronised rounds, each account under its limits
 *   reseller       a proxy reseller: attack and ordinary customers' traffic mixed on shared egress
 *   regionEvasion  hosting/VPN exits, billing country ≠ request country
 *   service        an honest customer's product: a few accounts on one network and client build, its own
 *                  system prompt or wrapper, content that may legitimately ask for reasoning or grading
 *   pivot          (top level) the campaign moves to a newly released model part-way through
 *
 * Campaigns (and services) may bring their own prompt shape (`prompt`: fixed wording around varied
 * content, sim/families builds them); without one they fill the built-in templates of sim/prompts.ts.
 *
 * Every value in the file is in campaign time; the simulator scales what must be scaled.
 */
import { z } from "zod";
import { CONTENT_KINDS } from "./content.ts";
import { ATTACK_TEMPLATES } from "./prompts.ts";
import { SDK_PROFILES } from "./world.ts";

const name = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "lower-case letters, digits and '-', starting with a letter, at most 32");
const share = z.number().min(0).max(1);
const country = z.string().regex(/^[A-Z]{2}$/);
const asn = z.number().int().min(1).max(4_294_967_295);

/** The part of the campaign clock a population is active in, as fractions of the duration. */
const activeWindow = z
  .strictObject({ from: share.default(0), to: share.default(1) })
  .prefault({})
  .refine((w) => w.from < w.to, { message: "active.from must be below active.to" });

/**
 * Days before the run the accounts were opened, drawn per account between min and max. Default: honest
 * populations 30–1,500 days (customers the gateway was put in front of), campaigns 0 (opened as they start).
 */
const accountAgeDays = z
  .strictObject({ min: z.number().min(0).max(10_000), max: z.number().min(0).max(10_000) })
  .refine((v) => v.min <= v.max, { message: "accountAgeDays.min must not exceed accountAgeDays.max" })
  .optional();

const tierMix = z.record(z.string().min(1), z.number().nonnegative());

const legit = z.strictObject({
  kind: z.literal("legit"),
  name,
  accounts: z.number().int().min(1).max(100_000),
  /** Requests over the whole duration, spread over accounts with a heavy tail (a few busy, most light). */
  requests: z.number().int().min(0).max(5_000_000),
  active: activeWindow,
  tiers: tierMix.default({ free: 0.35, build: 0.45, scale: 0.2 }),
  verifiedShare: share.default(0.6),
  accountAgeDays,
  countries: z.array(country).min(1).default(["US", "US", "US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "NL", "AU", "SG", "KR", "ES", "SE", "PL"]),
  /** Accounts whose traffic comes from CI jobs on a cloud: bursts of quick requests, from cloud ASNs. */
  ciShare: share.default(0.15),
  /** Accounts behind a few office NATs: same /24, same ASN, different people. */
  officeNat: z.strictObject({ share: share.default(0.2), offices: z.number().int().min(1).max(1_000).default(3) }).prefault({}),
  /** Accounts using one popular tool: its long system prompt, verbatim, before their own question. */
  popularTool: z
    .strictObject({
      share: share.default(0.15),
      allowlisted: z.boolean().default(true),
      /** The tool's own system prompt; without one, the built-in coding tool's (sim/prompts.ts). */
      systemPrompt: z.string().min(1).max(20_000).optional(),
    })
    .prefault({}),
  sdkMix: z.partialRecord(z.enum(SDK_PROFILES), z.number().nonnegative()).default({ "ts-sdk": 0.35, "python-sdk": 0.4, "go-sdk": 0.05, curl: 0.1, "python-requests": 0.1 }),
  streamShare: share.default(0.2),
  /** Share of requests where an honest user asks for a step-by-step answer. */
  stepByStepShare: share.default(0.04),
  /** How those users word the ask, one picked per request; without a list, one built-in phrase. */
  stepByStepPhrasings: z.array(z.string().min(1).max(2_000)).min(1).optional(),
  maxTokens: z.strictObject({ min: z.number().int().min(1).default(256), max: z.number().int().min(1).default(2_048) }).prefault({}),
});

/**
 * Timing of a campaign. `rounds` (the default): rounds on a shared clock, a cohort of accounts per
 * round, each firing a short burst at the same offsets; `jittered`: the same rounds with each
 * member's burst started anywhere in the first `spread` of the period; `poisson`: independent
 * arrivals at a constant rate; `businessHours`: arrivals only while the campaign clock, starting at
 * `startHour`, is inside working hours (fewer over lunch), each account starting its day at its own time.
 */
const timingObject = z
  .strictObject({
    mode: z.enum(["rounds", "jittered", "poisson", "businessHours"]).default("rounds"),
    /** A round starts every this many seconds. */
    everySeconds: z.number().positive().default(60),
    /** Requests each account of a round's cohort sends, at the same offsets as every other member. */
    burst: z.number().int().min(1).max(50).default(3),
    burstSpacingSeconds: z.number().nonnegative().default(2),
    /** Scheduler jitter around each shared instant. */
    jitterMs: z.number().nonnegative().default(150),
    /** jittered: share of the round period over which members' bursts start. */
    spread: share.default(0.8),
    /** businessHours: local hour the campaign clock starts at (9.5 = half past nine). */
    startHour: z.number().min(0).max(24).default(8.75),
  });
const rounds = timingObject.prefault({});

/**
 * A prompt shape of one's own: fixed wording (a system prompt, an instruction put before or after
 * the content) around content that varies per request. The varied share is measured over the text
 * the gateway reads (system prompt plus user turn).
 */
const promptSpec = z
  .strictObject({
    /** One system prompt, verbatim on every request of the accounts that send it; null: none. */
    system: z.string().min(1).max(20_000).nullable().default(null),
    /** Share of the accounts that send the system prompt (the rest send none). */
    systemAccounts: share.default(1),
    /** The fixed wording; each request carries one, the first most often (weights 1, 1/2, 1/3, …). */
    instructions: z.array(z.string().min(1).max(8_000)).min(1),
    /** Where the instruction sits: before or after the varied content, or appended to the system prompt. */
    placement: z.enum(["prefix", "suffix", "system"]).default("suffix"),
    /** What varies per request. */
    content: z.enum(CONTENT_KINDS),
    /** Share of the text that varies, drawn per request between min and max. */
    variedShare: z
      .strictObject({ min: z.number().min(0.05).max(0.95), max: z.number().min(0.05).max(0.95) })
      .refine((v) => v.min <= v.max, { message: "variedShare.min must not exceed variedShare.max" }),
    /** Send the agent tool list (tool-use harvest). */
    tools: z.boolean().default(false),
  });

/** What every attacking population has: accounts, a client build, templated prompts, a round clock. */
const attackCommon = {
  name,
  accounts: z.number().int().min(1).max(50_000),
  requests: z.number().int().min(0).max(5_000_000),
  active: activeWindow,
  tier: z.string().min(1).default("free"),
  verified: z.boolean().default(false),
  billingCountries: z.array(country).min(1).default(["US"]),
  /** Distinct payment fingerprints the accounts were opened with (stolen or prepaid cards are reused). */
  paymentFingerprints: z.number().int().min(1).default(40),
  accountAgeDays,
  sdk: z.enum(SDK_PROFILES).default("python-sdk"),
  /** Distinct client builds across the accounts (1 = one binary everywhere). */
  sdkVariants: z.number().int().min(1).max(64).default(1),
  /** Several client libraries rotated over the accounts (account i runs the (i mod n)-th); overrides `sdk`. */
  sdks: z.array(z.enum(SDK_PROFILES)).min(1).optional(),
  // The first template carries most of the traffic (weights 1, 1/2, 1/3, …).
  templates: z.array(z.enum(ATTACK_TEMPLATES)).min(1).default(["code-cot", "math-cot"]),
  /** A prompt shape of the campaign's own; when set, `templates` is not used. */
  prompt: promptSpec.optional(),
  timing: rounds,
  maxTokens: z.number().int().min(1).default(2_048),
  /** Ask for extended thinking (the trace the campaign wants). */
  thinking: z.boolean().default(false),
};

const hydra = z.strictObject({
  kind: z.literal("hydra"),
  ...attackCommon,
  /** The hosting provider's networks the fleet runs in. */
  asns: z.array(asn).min(1).default([14061, 16276, 24940]),
  /** /24 blocks the fleet's addresses come from, spread over the ASNs. */
  prefixes: z.number().int().min(1).max(4_096).default(12),
  exitCountries: z.array(country).min(1).default(["US", "DE", "NL"]),
  /**
   * Share of the accounts on residential proxy exits instead: consumer ISPs of the exit countries,
   * each account on an address of its own (0: all on hosting, 1: all residential).
   */
  residentialShare: share.default(0),
});

const reseller = z.strictObject({
  kind: z.literal("reseller"),
  ...attackCommon,
  tier: z.string().min(1).default("build"),
  verified: z.boolean().default(true),
  sdk: z.enum(SDK_PROFILES).default("ts-sdk"),
  /** Share of the reseller's requests that are the distiller's; the rest are ordinary customers (labelled legit). */
  attackShare: share.default(0.5),
  /** The reseller's egress: one network, a few addresses every request leaves from. */
  egressAsn: asn.default(9009),
  egressIps: z.number().int().min(1).max(1_024).default(16),
  exitCountries: z.array(country).min(1).default(["US", "GB"]),
});

const regionEvasion = z.strictObject({
  kind: z.literal("regionEvasion"),
  ...attackCommon,
  billingCountries: z.array(country).min(1).default(["VN", "ID"]),
  /** Exits: VPN and hosting networks in countries the campaign pretends to be in. */
  vpnAsns: z.array(asn).default([9009, 212238]),
  hostingAsns: z.array(asn).default([16276, 20473]),
  exitCountries: z.array(country).min(1).default(["US", "DE", "SG"]),
  /** Share of accounts on layer-3 tunnels: long RTT for a client that geolocates next to the colo. */
  tunnelShare: share.default(0.5),
  /** Share of accounts rotating exit country on every request. */
  rotateShare: share.default(0.3),
});

const service = z.strictObject({
  kind: z.literal("service"),
  name,
  accounts: z.number().int().min(1).max(1_000),
  requests: z.number().int().min(0).max(5_000_000),
  active: activeWindow,
  tier: z.string().min(1).default("scale"),
  verified: z.boolean().default(true),
  billingCountry: country.default("US"),
  accountAgeDays,
  /** cloud: backends or CI on a cloud ASN; office: one NAT address on an ISP. */
  network: z.enum(["cloud", "office"]).default("cloud"),
  /** The country the backend or office is in. */
  country: country.default("US"),
  sdk: z.enum(SDK_PROFILES).default("python-sdk"),
  prompt: promptSpec,
  timing: timingObject.prefault({ mode: "poisson" }),
  maxTokens: z.number().int().min(1).default(1_024),
  streamShare: share.default(0.2),
});

export const populationSchema = z.discriminatedUnion("kind", [legit, hydra, reseller, regionEvasion, service]);
export type Population = z.output<typeof populationSchema>;
export type LegitPopulation = z.output<typeof legit>;
export type HydraPopulation = z.output<typeof hydra>;
export type ResellerPopulation = z.output<typeof reseller>;
export type RegionEvasionPopulation = z.output<typeof regionEvasion>;
export type ServicePopulation = z.output<typeof service>;
export type PromptSpec = z.output<typeof promptSpec>;
export type TimingSpec = z.output<typeof rounds>;
export type AttackPopulation = HydraPopulation | ResellerPopulation | RegionEvasionPopulation;

export const scenarioSchema = z
  .strictObject({
    name,
    description: z.string().max(2_000).default(""),
    seed: z.number().int().nonnegative().default(1),
    /** Campaign time covered, in seconds. */
    durationSeconds: z.number().positive().max(30 * 86_400).default(3_600),
    /** Campaign seconds per wall second: 60 plays an hour in a minute. Policy time fields are scaled by it. */
    timeCompression: z.number().min(1).max(3_600).default(1),
    /** Requests in flight at once from the simulator (bounded: the point is the gateway, not the load generator). */
    concurrency: z.number().int().min(1).max(1_024).default(32),
    /** The demo origin answers 2 tokens per event (x-demo-events): the "output" a campaign harvests. */
    outputEvents: z.number().int().min(1).max(2_000).default(120),
    /** The cron linker's period in campaign seconds (wrangler.toml: every 5 minutes). */
    linkerEverySeconds: z.number().positive().default(300),
    /** How often the simulator asks GET /admin/clusters for confirmed verdicts, in campaign seconds. */
    clusterPollSeconds: z.number().positive().default(120),
    /** Gateway vs bare pass-through worker, measured in the same run; false to skip. */
    overhead: z
      .union([
        z.literal(false),
        z.strictObject({
          sequential: z.number().int().min(10).max(100_000).default(300),
          concurrent: z.number().int().min(10).max(1_000_000).default(3_000),
          clients: z.number().int().min(1).max(256).default(16),
        }),
      ])
      .default({ sequential: 300, concurrent: 3_000, clients: 16 }),
    pivot: z
      .strictObject({
        /** When the new model is released, as a fraction of the duration. */
        at: share.default(0.5),
        model: z.string().min(1).default("demo-model-2"),
        /** Share of each campaign's traffic moved to the new model once it exists. */
        share: share.default(0.5),
        /** Share of honest traffic that tries the new model. */
        legitShare: share.default(0.1),
        /** Campaign populations that pivot; default all. */
        populations: z.array(name).optional(),
      })
      .optional(),
    /**
     * What the run must achieve to pass: the report's first paragraph judges the run against these.
     * Shares are of requests; times are campaign seconds since each campaign's first request.
     */
    targets: z
      .strictObject({
        /** Honest requests (legit and service populations) refused (429/403) or answered degraded. */
        honestTouchedMax: share.default(0.001),
        /** Attack exchanges answered in full (200, not degraded): what a campaign harvests. */
        leakageMax: share.default(0.5),
        /** Each campaign first denied or confirmed within this long; null: not judged. */
        detectWithinSeconds: z.number().positive().nullable().default(null),
        /** Share of attack accounts the gateway acted on (see sim/metrics.ts, "flagged"); null: not judged. */
        accountRecallMin: share.nullable().default(null),
      })
      .prefault({}),
    /** A partial policy (lib/policy.ts), in campaign time; merged over defaults, time fields scaled. */
    policy: z.record(z.string(), z.unknown()).default({}),
    populations: z.array(populationSchema).min(1),
  })
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    for (const p of s.populations) {
      if (names.has(p.name)) ctx.addIssue({ code: "custom", path: ["populations"], message: `duplicate population name "${p.name}"` });
      names.add(p.name);
    }
    for (const n of s.pivot?.populations ?? []) {
      if (!names.has(n)) ctx.addIssue({ code: "custom", path: ["pivot", "populations"], message: `no population named "${n}"` });
    }
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type Targets = Scenario["targets"];
export type ScenarioInput = z.input<typeof scenarioSchema>;

export function isAttack(p: Population): p is AttackPopulation {
  return p.kind !== "legit" && p.kind !== "service";
}

/** Parses a scenario; the error lists every problem with its path. */
export function parseScenario(input: unknown): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
  throw new Error(`invalid scenario:\n  ${problems.join("\n  ")}`);
}
