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
 *   pivot          (top level) the campaign moves to a newly released model part-way through
 *
 * Every value in the file is in campaign time; the simulator scales what must be scaled.
 */
import * as z from "../lib/zod.ts";
import { ATTACK_TEMPLATES } from "./prompts.ts";
import { SDK_PROFILES } from "./world.ts";

const name = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/, "lower-case letters, digits and '-', starting with a letter, at most 32"));
const share = z.number().check(z.minimum(0), z.maximum(1));
const country = z.string().check(z.regex(/^[A-Z]{2}$/));
const asn = z.number().check(z.int(), z.minimum(1), z.maximum(4_294_967_295));
/** An integer within [min, max]. */
const intBetween = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));
/** An integer of at least min. */
const intFrom = (min: number) => z.number().check(z.int(), z.minimum(min));
const nonNegative = z.number().check(z.nonnegative());
/** A list of at least one. */
const some = <T extends z.ZodMiniType>(item: T) => z.array(item).check(z.minLength(1));

/** The part of the campaign clock a population is active in, as fractions of the duration. */
const activeWindow = z
  .prefault(z.strictObject({ from: z._default(share, 0), to: z._default(share, 1) }), {})
  .check(z.refine((w) => w.from < w.to, { message: "active.from must be below active.to" }));

const tierMix = z.record(z.string().check(z.minLength(1)), nonNegative);

const legit = z.strictObject({
  kind: z.literal("legit"),
  name,
  accounts: intBetween(1, 100_000),
  /** Requests over the whole duration, spread over accounts with a heavy tail (a few busy, most light). */
  requests: intBetween(0, 5_000_000),
  active: activeWindow,
  tiers: z._default(tierMix, { free: 0.35, build: 0.45, scale: 0.2 }),
  verifiedShare: z._default(share, 0.6),
  countries: z._default(some(country), ["US", "US", "US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "NL", "AU", "SG", "KR", "ES", "SE", "PL"]),
  /** Accounts whose traffic comes from CI jobs on a cloud: bursts of quick requests, from cloud ASNs. */
  ciShare: z._default(share, 0.15),
  /** Accounts behind a few office NATs: same /24, same ASN, different people. */
  officeNat: z.prefault(z.strictObject({ share: z._default(share, 0.2), offices: z._default(intBetween(1, 1_000), 3) }), {}),
  /** Accounts using one popular tool: its long system prompt, verbatim, before their own question. */
  popularTool: z.prefault(z.strictObject({ share: z._default(share, 0.15), allowlisted: z._default(z.boolean(), true) }), {}),
  sdkMix: z._default(z.partialRecord(z.enum(SDK_PROFILES), nonNegative), { "ts-sdk": 0.35, "python-sdk": 0.4, "go-sdk": 0.05, curl: 0.1, "python-requests": 0.1 }),
  streamShare: z._default(share, 0.2),
  /** Share of requests where an honest user asks for a step-by-step answer. */
  stepByStepShare: z._default(share, 0.04),
  maxTokens: z.prefault(z.strictObject({ min: z._default(intFrom(1), 256), max: z._default(intFrom(1), 2_048) }), {}),
});

/** Timing of a campaign: rounds on a shared clock, a cohort of accounts per round, each firing a short burst. */
const rounds = z.prefault(
  z.strictObject({
    /** A round starts every this many seconds. */
    everySeconds: z._default(z.number().check(z.positive()), 60),
    /** Requests each account of a round's cohort sends, at the same offsets as every other member. */
    burst: z._default(intBetween(1, 50), 3),
    burstSpacingSeconds: z._default(nonNegative, 2),
    /** Scheduler jitter around each shared instant. */
    jitterMs: z._default(nonNegative, 150),
  }),
  {},
);

/** What every attacking population has: accounts, a client build, templated prompts, a round clock. */
const attackCommon = {
  name,
  accounts: intBetween(1, 50_000),
  requests: intBetween(0, 5_000_000),
  active: activeWindow,
  tier: z._default(z.string().check(z.minLength(1)), "free"),
  verified: z._default(z.boolean(), false),
  billingCountries: z._default(some(country), ["US"]),
  /** Distinct payment fingerprints the accounts were opened with (stolen or prepaid cards are reused). */
  paymentFingerprints: z._default(intFrom(1), 40),
  sdk: z._default(z.enum(SDK_PROFILES), "python-sdk"),
  /** Distinct client builds across the accounts (1 = one binary everywhere). */
  sdkVariants: z._default(intBetween(1, 64), 1),
  // The first template carries most of the traffic (weights 1, 1/2, 1/3, …).
  templates: z._default(some(z.enum(ATTACK_TEMPLATES)), ["code-cot", "math-cot"]),
  timing: rounds,
  maxTokens: z._default(intFrom(1), 2_048),
  /** Ask for extended thinking (the trace the campaign wants). */
  thinking: z._default(z.boolean(), false),
};

const hydra = z.strictObject({
  kind: z.literal("hydra"),
  ...attackCommon,
  /** The hosting provider's networks the fleet runs in. */
  asns: z._default(some(asn), [14061, 16276, 24940]),
  /** /24 blocks the fleet's addresses come from, spread over the ASNs. */
  prefixes: z._default(intBetween(1, 4_096), 12),
  exitCountries: z._default(some(country), ["US", "DE", "NL"]),
});

const reseller = z.strictObject({
  kind: z.literal("reseller"),
  ...attackCommon,
  tier: z._default(z.string().check(z.minLength(1)), "build"),
  verified: z._default(z.boolean(), true),
  sdk: z._default(z.enum(SDK_PROFILES), "ts-sdk"),
  /** Share of the reseller's requests that are the distiller's; the rest are ordinary customers (labelled legit). */
  attackShare: z._default(share, 0.5),
  /** The reseller's egress: one network, a few addresses every request leaves from. */
  egressAsn: z._default(asn, 9009),
  egressIps: z._default(intBetween(1, 1_024), 16),
  exitCountries: z._default(some(country), ["US", "GB"]),
});

const regionEvasion = z.strictObject({
  kind: z.literal("regionEvasion"),
  ...attackCommon,
  billingCountries: z._default(some(country), ["VN", "ID"]),
  /** Exits: VPN and hosting networks in countries the campaign pretends to be in. */
  vpnAsns: z._default(z.array(asn), [9009, 212238]),
  hostingAsns: z._default(z.array(asn), [16276, 20473]),
  exitCountries: z._default(some(country), ["US", "DE", "SG"]),
  /** Share of accounts on layer-3 tunnels: long RTT for a client that geolocates next to the colo. */
  tunnelShare: z._default(share, 0.5),
  /** Share of accounts rotating exit country on every request. */
  rotateShare: z._default(share, 0.3),
});

export const populationSchema = z.discriminatedUnion("kind", [legit, hydra, reseller, regionEvasion]);
export type Population = z.output<typeof populationSchema>;
export type LegitPopulation = z.output<typeof legit>;
export type HydraPopulation = z.output<typeof hydra>;
export type ResellerPopulation = z.output<typeof reseller>;
export type RegionEvasionPopulation = z.output<typeof regionEvasion>;
export type AttackPopulation = HydraPopulation | ResellerPopulation | RegionEvasionPopulation;

export const scenarioSchema = z
  .strictObject({
    name,
    description: z._default(z.string().check(z.maxLength(2_000)), ""),
    seed: z._default(z.number().check(z.int(), z.nonnegative()), 1),
    /** Campaign time covered, in seconds. */
    durationSeconds: z._default(z.number().check(z.positive(), z.maximum(30 * 86_400)), 3_600),
    /** Campaign seconds per wall second: 60 plays an hour in a minute. Policy time fields are scaled by it. */
    timeCompression: z._default(z.number().check(z.minimum(1), z.maximum(3_600)), 1),
    /** Requests in flight at once from the simulator (bounded: the point is the gateway, not the load generator). */
    concurrency: z._default(intBetween(1, 1_024), 32),
    /** The demo origin answers 2 tokens per event (x-demo-events): the "output" a campaign harvests. */
    outputEvents: z._default(intBetween(1, 2_000), 120),
    /** The cron linker's period in campaign seconds (wrangler.toml: every 5 minutes). */
    linkerEverySeconds: z._default(z.number().check(z.positive()), 300),
    /** How often the simulator asks GET /admin/clusters for confirmed verdicts, in campaign seconds. */
    clusterPollSeconds: z._default(z.number().check(z.positive()), 120),
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
        model: z._default(z.string().check(z.minLength(1)), "demo-model-2"),
        /** Share of each campaign's traffic moved to the new model once it exists. */
        share: z._default(share, 0.5),
        /** Share of honest traffic that tries the new model. */
        legitShare: z._default(share, 0.1),
        /** Campaign populations that pivot; default all. */
        populations: z.optional(z.array(name)),
      }),
    ),
    /** A partial policy (lib/policy.ts), in campaign time; merged over defaults, time fields scaled. */
    policy: z._default(z.record(z.string(), z.unknown()), {}),
    populations: some(populationSchema),
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
export type ScenarioInput = z.input<typeof scenarioSchema>;

export function isAttack(p: Population): p is AttackPopulation {
  return p.kind !== "legit";
}

/** Parses a scenario; the error lists every problem with its path. */
export function parseScenario(input: unknown): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
  throw new Error(`invalid scenario:\n  ${problems.join("\n  ")}`);
}
