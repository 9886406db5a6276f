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
import * as z from "../lib/zod.ts";
import { CONTENT_KINDS } from "./content.ts";
import { ATTACK_TEMPLATES } from "./prompts.ts";
import { SDK_PROFILES } from "./world.ts";

const name = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/, "lower-case letters, digits and '-', starting with a letter, at most 32"));
const share = z.number().check(z.minimum(0), z.maximum(1));
const country = z.string().check(z.regex(/^[A-Z]{2}$/));
const asn = z.number().check(z.int(), z.minimum(1), z.maximum(4_294_967_295));
const nonNegative = z.number().check(z.nonnegative());
const positive = z.number().check(z.positive());
/** A number within [min, max]. */
const between = (min: number, max: number) => z.number().check(z.minimum(min), z.maximum(max));
/** An integer within [min, max]. */
const intBetween = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));
/** An integer of at least min. */
const intFrom = (min: number) => z.number().check(z.int(), z.minimum(min));
/** A string of min to max characters. */
const text = (min: number, max?: number) => z.string().check(z.minLength(min), ...(max === undefined ? [] : [z.maxLength(max)]));
/** A non-empty list. */
const listOf = <T extends z.core.SomeType>(item: T) => z.array(item).check(z.minLength(1));
const sdkProfile = z.enum(SDK_PROFILES);

/** The part of the campaign clock a population is active in, as fractions of the duration. */
const activeWindow = z
  .prefault(z.strictObject({ from: z._default(share, 0), to: z._default(share, 1) }), {})
  .check(z.refine((w) => w.from < w.to, { message: "active.from must be below active.to" }));

/**
 * Days before the run the accounts were opened, drawn per account between min and max. Default: honest
 * populations 30–1,500 days (customers the gateway was put in front of), campaigns 0 (opened as they start).
 */
const accountAgeDays = z.optional(
  z
    .strictObject({ min: between(0, 10_000), max: between(0, 10_000) })
    .check(z.refine((v) => v.min <= v.max, { message: "accountAgeDays.min must not exceed accountAgeDays.max" })),
);

const tierMix = z.record(text(1), nonNegative);

const legit = z.strictObject({
  kind: z.literal("legit"),
  name,
  accounts: intBetween(1, 100_000),
  /** Requests over the whole duration, spread over accounts with a heavy tail (a few busy, most light). */
  requests: intBetween(0, 5_000_000),
  active: activeWindow,
  tiers: z._default(tierMix, { free: 0.35, build: 0.45, scale: 0.2 }),
  verifiedShare: z._default(share, 0.6),
  accountAgeDays,
  countries: z._default(listOf(country), ["US", "US", "US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "NL", "AU", "SG", "KR", "ES", "SE", "PL"]),
  /** Accounts whose traffic comes from CI jobs on a cloud: bursts of quick requests, from cloud ASNs. */
  ciShare: z._default(share, 0.15),
  /** Accounts behind a few office NATs: same /24, same ASN, different people. */
  officeNat: z.prefault(z.strictObject({ share: z._default(share, 0.2), offices: z._default(intBetween(1, 1_000), 3) }), {}),
  /** Accounts using one popular tool: its long system prompt, verbatim, before their own question. */
  popularTool: z.prefault(
    z.strictObject({
      share: z._default(share, 0.15),
      allowlisted: z._default(z.boolean(), true),
      /** The tool's own system prompt; without one, the built-in coding tool's (sim/prompts.ts). */
      systemPrompt: z.optional(text(1, 20_000)),
    }),
    {},
  ),
  sdkMix: z._default(z.partialRecord(sdkProfile, nonNegative), { "ts-sdk": 0.35, "python-sdk": 0.4, "go-sdk": 0.05, curl: 0.1, "python-requests": 0.1 }),
  streamShare: z._default(share, 0.2),
  /** Share of requests where an honest user asks for a step-by-step answer. */
  stepByStepShare: z._default(share, 0.04),
  /** How those users word the ask, one picked per request; without a list, one built-in phrase. */
  stepByStepPhrasings: z.optional(listOf(text(1, 2_000))),
  maxTokens: z.prefault(z.strictObject({ min: z._default(intFrom(1), 256), max: z._default(intFrom(1), 2_048) }), {}),
});

/**
 * Timing of a campaign. `rounds` (the default): rounds on a shared clock, a cohort of accounts per
 * round, each firing a short burst at the same offsets; `jittered`: the same rounds with each
 * member's burst started anywhere in the first `spread` of the period; `poisson`: independent
 * arrivals at a constant rate; `businessHours`: arrivals only while the campaign clock, starting at
 * `startHour`, is inside working hours (fewer over lunch), each account starting its day at its own time.
 */
const timingObject = z.strictObject({
  mode: z._default(z.enum(["rounds", "jittered", "poisson", "businessHours"]), "rounds"),
  /** A round starts every this many seconds. */
  everySeconds: z._default(positive, 60),
  /** Requests each account of a round's cohort sends, at the same offsets as every other member. */
  burst: z._default(intBetween(1, 50), 3),
  burstSpacingSeconds: z._default(nonNegative, 2),
  /** Scheduler jitter around each shared instant. */
  jitterMs: z._default(nonNegative, 150),
  /** jittered: share of the round period over which members' bursts start. */
  spread: z._default(share, 0.8),
  /** businessHours: local hour the campaign clock starts at (9.5 = half past nine). */
  startHour: z._default(between(0, 24), 8.75),
});
const rounds = z.prefault(timingObject, {});

/**
 * A prompt shape of one's own: fixed wording (a system prompt, an instruction put before or after
 * the content) around content that varies per request. The varied share is measured over the text
 * the gateway reads (system prompt plus user turn).
 */
const promptSpec = z.strictObject({
  /** One system prompt, verbatim on every request of the accounts that send it; null: none. */
  system: z._default(z.nullable(text(1, 20_000)), null),
  /** Share of the accounts that send the system prompt (the rest send none). */
  systemAccounts: z._default(share, 1),
  /** The fixed wording; each request carries one, the first most often (weights 1, 1/2, 1/3, …). */
  instructions: listOf(text(1, 8_000)),
  /** Where the instruction sits: before or after the varied content, or appended to the system prompt. */
  placement: z._default(z.enum(["prefix", "suffix", "system"]), "suffix"),
  /** What varies per request. */
  content: z.enum(CONTENT_KINDS),
  /** Share of the text that varies, drawn per request between min and max. */
  variedShare: z
    .strictObject({ min: between(0.05, 0.95), max: between(0.05, 0.95) })
    .check(z.refine((v) => v.min <= v.max, { message: "variedShare.min must not exceed variedShare.max" })),
  /** Send the agent tool list (tool-use harvest). */
  tools: z._default(z.boolean(), false),
  /**
   * Share of each account's requests that carry none of the fixed wording: the varied content alone,
   * with no system prompt (half of them) or one written for that request. A campaign that sends part of
   * its traffic bare matches no signature there; 0: every request carries the wording.
   */
  bareShare: z._default(share, 0),
});

/** What every attacking population has: accounts, a client build, templated prompts, a round clock. */
const attackCommon = {
  name,
  accounts: intBetween(1, 50_000),
  requests: intBetween(0, 5_000_000),
  active: activeWindow,
  tier: z._default(text(1), "free"),
  verified: z._default(z.boolean(), false),
  billingCountries: z._default(listOf(country), ["US"]),
  /** Distinct payment fingerprints the accounts were opened with (stolen or prepaid cards are reused). */
  paymentFingerprints: z._default(intFrom(1), 40),
  accountAgeDays,
  sdk: z._default(sdkProfile, "python-sdk"),
  /** Distinct client builds across the accounts (1 = one binary everywhere). */
  sdkVariants: z._default(intBetween(1, 64), 1),
  /** Several client libraries rotated over the accounts (account i runs the (i mod n)-th); overrides `sdk`. */
  sdks: z.optional(listOf(sdkProfile)),
  // The first template carries most of the traffic (weights 1, 1/2, 1/3, …).
  templates: z._default(listOf(z.enum(ATTACK_TEMPLATES)), ["code-cot", "math-cot"]),
  /** A prompt shape of the campaign's own; when set, `templates` is not used. */
  prompt: z.optional(promptSpec),
  timing: rounds,
  maxTokens: z._default(intFrom(1), 2_048),
  /** Ask for extended thinking (the trace the campaign wants). */
  thinking: z._default(z.boolean(), false),
};

const hydra = z.strictObject({
  kind: z.literal("hydra"),
  ...attackCommon,
  /** The hosting provider's networks the fleet runs in. */
  asns: z._default(listOf(asn), [14061, 16276, 24940]),
  /** /24 blocks the fleet's addresses come from, spread over the ASNs. */
  prefixes: z._default(intBetween(1, 4_096), 12),
  exitCountries: z._default(listOf(country), ["US", "DE", "NL"]),
  /**
   * Share of the accounts on residential proxy exits instead: consumer ISPs of the exit countries,
   * each account on an address of its own (0: all on hosting, 1: all residential).
   */
  residentialShare: z._default(share, 0),
});

const reseller = z.strictObject({
  kind: z.literal("reseller"),
  ...attackCommon,
  tier: z._default(text(1), "build"),
  verified: z._default(z.boolean(), true),
  sdk: z._default(sdkProfile, "ts-sdk"),
  /** Share of the reseller's requests that are the distiller's; the rest are ordinary customers (labelled legit). */
  attackShare: z._default(share, 0.5),
  /** The reseller's egress: one network, a few addresses every request leaves from. */
  egressAsn: z._default(asn, 9009),
  egressIps: z._default(intBetween(1, 1_024), 16),
  exitCountries: z._default(listOf(country), ["US", "GB"]),
});

const regionEvasion = z.strictObject({
  kind: z.literal("regionEvasion"),
  ...attackCommon,
  billingCountries: z._default(listOf(country), ["VN", "ID"]),
  /** Exits: VPN and hosting networks in countries the campaign pretends to be in. */
  vpnAsns: z._default(z.array(asn), [9009, 212238]),
  hostingAsns: z._default(z.array(asn), [16276, 20473]),
  exitCountries: z._default(listOf(country), ["US", "DE", "SG"]),
  /** Share of accounts on layer-3 tunnels: long RTT for a client that geolocates next to the colo. */
  tunnelShare: z._default(share, 0.5),
  /** Share of accounts rotating exit country on every request. */
  rotateShare: z._default(share, 0.3),
});

const service = z.strictObject({
  kind: z.literal("service"),
  name,
  accounts: intBetween(1, 1_000),
  requests: intBetween(0, 5_000_000),
  active: activeWindow,
  tier: z._default(text(1), "scale"),
  verified: z._default(z.boolean(), true),
  billingCountry: z._default(country, "US"),
  accountAgeDays,
  /** cloud: backends or CI on a cloud ASN; office: one NAT address on an ISP. */
  network: z._default(z.enum(["cloud", "office"]), "cloud"),
  /** The country the backend or office is in. */
  country: z._default(country, "US"),
  sdk: z._default(sdkProfile, "python-sdk"),
  prompt: promptSpec,
  timing: z.prefault(timingObject, { mode: "poisson" }),
  maxTokens: z._default(intFrom(1), 1_024),
  streamShare: z._default(share, 0.2),
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
    description: z._default(z.string().check(z.maxLength(2_000)), ""),
    seed: z._default(z.number().check(z.int(), z.nonnegative()), 1),
    /** Campaign time covered, in seconds. */
    durationSeconds: z._default(z.number().check(z.positive(), z.maximum(30 * 86_400)), 3_600),
    /** Campaign seconds per wall second: 60 plays an hour in a minute. Policy time fields are scaled by it. */
    timeCompression: z._default(between(1, 3_600), 1),
    /** Requests in flight at once from the simulator (bounded: the point is the gateway, not the load generator). */
    concurrency: z._default(intBetween(1, 1_024), 32),
    /** The demo origin answers 2 tokens per event (x-demo-events): the "output" a campaign harvests. */
    outputEvents: z._default(intBetween(1, 2_000), 120),
    /** The cron linker's period in campaign seconds (wrangler.toml: every 5 minutes). */
    linkerEverySeconds: z._default(positive, 300),
    /** How often the simulator asks GET /admin/clusters for confirmed verdicts, in campaign seconds. */
    clusterPollSeconds: z._default(positive, 120),
    /** Gateway vs bare pass-through worker, measured in the same run; false to skip. */
    overhead: z._default(
      z.union([
        z.literal(false),
        z.strictObject({
          sequential: z._default(intBetween(10, 100_000), 300),
          concurrent: z._default(intBetween(10, 1_000_000), 3_000),
          clients: z._default(intBetween(1, 256), 16),
        }),
      ]),
      { sequential: 300, concurrent: 3_000, clients: 16 },
    ),
    pivot: z.optional(
      z.strictObject({
        /** When the new model is released, as a fraction of the duration. */
        at: z._default(share, 0.5),
        model: z._default(text(1), "demo-model-2"),
        /** Share of each campaign's traffic moved to the new model once it exists. */
        share: z._default(share, 0.5),
        /** Share of honest traffic that tries the new model. */
        legitShare: z._default(share, 0.1),
        /** Campaign populations that pivot; default all. */
        populations: z.optional(z.array(name)),
      }),
    ),
    /**
     * What the run must achieve to pass: the report's first paragraph judges the run against these.
     * Shares are of requests; times are campaign seconds since each campaign's first request.
     */
    targets: z.prefault(
      z.strictObject({
        /** Honest requests (legit and service populations) refused (429/403) or answered degraded. */
        honestTouchedMax: z._default(share, 0.001),
        /** Attack exchanges answered in full (200, not degraded): what a campaign harvests. */
        leakageMax: z._default(share, 0.5),
        /** Each campaign first denied or confirmed within this long; null: not judged. */
        detectWithinSeconds: z._default(z.nullable(positive), null),
        /** Share of attack accounts the gateway acted on (see sim/metrics/index.ts, "flagged"); null: not judged. */
        accountRecallMin: z._default(z.nullable(share), null),
      }),
      {},
    ),
    /** A partial policy (lib/policy/), in campaign time; merged over defaults, time fields scaled. */
    policy: z._default(z.record(z.string(), z.unknown()), {}),
    populations: listOf(populationSchema),
  })
  .check(
    z.superRefine((s, ctx) => {
      const names = new Set<string>();
      for (const p of s.populations) {
        if (names.has(p.name)) ctx.addIssue({ code: "custom", path: ["populations"], message: `duplicate population name "${p.name}"` });
        names.add(p.name);
      }
      for (const n of s.pivot?.populations ?? []) {
        if (!names.has(n)) ctx.addIssue({ code: "custom", path: ["pivot", "populations"], message: `no population named "${n}"` });
      }
    }),
  );

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
