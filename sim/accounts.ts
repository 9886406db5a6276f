/**
 * The scenario's accounts: who they are (tier, verification, billing country,
 * payment fingerprint, age), where they connect from (sim/networks.ts) and
 * which client build they run. Honest populations are varied people and
 * products; a campaign's accounts share what a fleet shares (a build, a few
 * payment instruments, rented address blocks).
 *
 * Each population draws from its own stream and each account from a fork of
 * it, so adding a population or a field leaves the others' accounts as they were.
 */
import { Rng, hashString } from "./rng.ts";
import type {
  AttackPopulation,
  HydraPopulation,
  LegitPopulation,
  Population,
  RegionEvasionPopulation,
  ResellerPopulation,
  Scenario,
  ServicePopulation,
} from "./scenario.ts";
import { ciRunner, evasionExit, homeAddress, hostingBlock, ispOf, residentialExit, resellerEgress, type Network } from "./networks.ts";
import { CLOUD_ASNS, clientStack, ipIn, localRttMs, placesIn, type ClientStack, type SdkProfileName } from "./world.ts";

export type SimAccount = {
  index: number;
  id: string;
  key: string;
  population: number;
  tier: string;
  verified: boolean;
  billingCountry: string | null;
  paymentFingerprint: string;
  stack: ClientStack;
  /** Where the account connects from (resellers and rotating evaders pick per request instead). */
  network: Network;
  style: "human" | "ci" | "campaign" | "service";
  usesTool: boolean;
  /** Whether the account's requests carry its population's own system prompt (`prompt.system`). */
  sendsSystem: boolean;
  /** Region evaders that hop exits on every request. */
  rotates: boolean;
  /**
   * Days since the account was opened at the provider, as the admin API is told (`createdAt`); 0: not
   * told, so the gateway dates it from its import, as it dates every account nobody gave an age.
   */
  ageDays?: number;
};

/** Every population's accounts in scenario order; `index` is the account's place in the returned list. */
export function makeAccounts(scenario: Scenario, root: Rng, runTag: string): SimAccount[] {
  const accounts: SimAccount[] = [];
  scenario.populations.forEach((pop, p) => {
    const made = populationAccounts(pop, p, root.fork(`accounts:${pop.name}`), runTag, accounts.length);
    made.forEach((account, i) => (account.ageDays = accountAgeDays(pop, i)));
    accounts.push(...made);
  });
  return accounts;
}

// Honest customers opened their accounts over years before the gateway went in front of them.
const HONEST_AGE_DAYS = { min: 30, max: 1_500 } as const;

/**
 * An account's age, drawn from its own stream (what else the population draws stays as it was). A
 * campaign's accounts are opened as it starts unless its population says otherwise (aged accounts
 * bought in bulk); honest accounts unless their population says otherwise (a class signing up).
 */
function accountAgeDays(pop: Population, i: number): number {
  const range = pop.accountAgeDays ?? (pop.kind === "legit" || pop.kind === "service" ? HONEST_AGE_DAYS : null);
  if (range === null) return 0;
  return range.min + new Rng(`age:${pop.name}:${i}`).next() * (range.max - range.min);
}

/** What names an account: its place in the run, an id and an API key unique to the run, its population. */
function identity(name: string, p: number, i: number, rng: Rng, runTag: string, offset: number) {
  return { index: offset + i, id: `sim-${runTag}-${name}-${i}`, key: `sk-sim-${runTag}-${rng.hex(32)}`, population: p };
}

function populationAccounts(pop: Population, p: number, rng: Rng, runTag: string, offset: number): SimAccount[] {
  switch (pop.kind) {
    case "legit":
      return legitAccounts(pop, p, rng, runTag, offset);
    case "hydra":
      return hydraAccounts(pop, p, rng, runTag, offset);
    case "reseller":
      return resellerAccounts(pop, p, rng, runTag, offset);
    case "regionEvasion":
      return evasionAccounts(pop, p, rng, runTag, offset);
    case "service":
      return serviceAccounts(pop, p, rng, runTag, offset);
  }
}

function legitAccounts(pop: LegitPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const tiers = Object.entries(pop.tiers);
  const sdks = Object.entries(pop.sdkMix) as [SdkProfileName, number][];
  // Each office sits in one country on one ISP, all its people behind one address.
  const offices = Array.from({ length: pop.officeNat.offices }, (_, k) => ({
    ...homeAddress(pop.countries, base.fork(`office:${k}`)),
    payment: `pm_${runTag}_${pop.name}_office${k}`,
  }));
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    const ci = rng.chance(pop.ciShare);
    const inOffice = !ci && rng.chance(pop.officeNat.share);
    const office = inOffice ? offices[i % offices.length] : undefined;
    let network: Network;
    if (office) network = { place: office.place, asn: office.asn, ip: office.ip, rttMs: localRttMs(rng, 0) };
    else if (ci) network = ciRunner(rng);
    else network = { ...homeAddress(pop.countries, rng), rttMs: localRttMs(rng) };
    // CI jobs use an SDK; people use whatever they like.
    const sdk: SdkProfileName = ci ? rng.pick(["python-sdk", "ts-sdk"] as const) : rng.weighted(sdks);
    // Most people pay where they live; a few pay through a head office abroad (they trip region_mismatch honestly).
    const billingCountry = rng.chance(0.05) ? "US" : network.place.country;
    out.push({
      ...identity(pop.name, p, i, rng, runTag, offset),
      tier: rng.weighted(tiers),
      verified: rng.chance(pop.verifiedShare),
      billingCountry,
      paymentFingerprint: office?.payment ?? `pm_${rng.hex(16)}`,
      stack: clientStack(sdk, rng),
      network,
      style: ci ? "ci" : "human",
      usesTool: !ci && rng.chance(pop.popularTool.share),
      sendsSystem: false,
      rotates: false,
    });
  }
  return out;
}

/** An honest product's accounts: one backend (a cloud region) or one office NAT, one client build. */
function serviceAccounts(pop: ServicePopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const site = base.fork("site");
  const place = site.pick(placesIn(pop.country));
  const asn = pop.network === "cloud" ? site.pick(CLOUD_ASNS)[0] : ispOf(pop.country, site);
  const officeIp = ipIn(asn, site);
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    // A backend's instances leave from a few addresses of its region; an office from its one NAT address.
    const ip = pop.network === "cloud" ? ipIn(asn, rng, (hashString(`${pop.name}:${i % 3}`) >>> 8) & 0xff) : officeIp;
    out.push({
      ...identity(pop.name, p, i, rng, runTag, offset),
      tier: pop.tier,
      verified: pop.verified,
      billingCountry: pop.billingCountry,
      paymentFingerprint: `pm_${runTag}_${pop.name}`,
      stack: clientStack(pop.sdk, rng, `${pop.name}:build`),
      network: { place, asn, ip, rttMs: pop.network === "cloud" ? rng.int(1, 6) : localRttMs(rng, 0) },
      style: "service",
      usesTool: false,
      sendsSystem: pop.prompt.system !== null && new Rng(`system:${pop.name}:${i}`).chance(pop.prompt.systemAccounts),
      rotates: false,
    });
  }
  return out;
}

function campaignAccount(
  pop: AttackPopulation,
  p: number,
  i: number,
  rng: Rng,
  runTag: string,
  offset: number,
  network: Network,
): SimAccount {
  return {
    ...identity(pop.name, p, i, rng, runTag, offset),
    tier: pop.tier,
    verified: pop.verified,
    billingCountry: rng.pick(pop.billingCountries),
    paymentFingerprint: `pm_${runTag}_${pop.name}_${i % pop.paymentFingerprints}`,
    stack: campaignStack(pop, i, rng),
    network,
    style: "campaign",
    usesTool: false,
    // Drawn from its own stream, so populations without a prompt of their own draw what they always drew.
    sendsSystem: pop.prompt !== undefined && new Rng(`system:${pop.name}:${i}`).chance(pop.prompt.systemAccounts),
    rotates: false,
  };
}

/**
 * One client build per variant for the whole fleet: the campaign ships a binary, not a population of installs.
 * The build depends on the scenario, not the run: two runs of one file must meet the same collisions with honest users.
 * A fleet that rotates libraries runs account i on the (i mod n)-th, each library in its own builds.
 */
function campaignStack(pop: AttackPopulation, i: number, rng: Rng): ClientStack {
  if (pop.sdks === undefined) return clientStack(pop.sdk, rng, `${pop.name}:build${i % pop.sdkVariants}`);
  const profile = pop.sdks[i % pop.sdks.length] ?? pop.sdk;
  return clientStack(profile, rng, `${pop.name}:${profile}:build${Math.floor(i / pop.sdks.length) % pop.sdkVariants}`);
}

function hydraAccounts(pop: HydraPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    const residential = pop.residentialShare > 0 && new Rng(`residential:${pop.name}:${i}`).chance(pop.residentialShare);
    const network = residential ? residentialExit(pop, rng) : hostingBlock(pop, i, rng);
    out.push(campaignAccount(pop, p, i, rng, runTag, offset, network));
  }
  return out;
}

function resellerAccounts(pop: ResellerPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    out.push(campaignAccount(pop, p, i, rng, runTag, offset, resellerEgress(pop, i % pop.egressIps)));
  }
  return out;
}

function evasionAccounts(pop: RegionEvasionPopulation, p: number, base: Rng, runTag: string, offset: number): SimAccount[] {
  const out: SimAccount[] = [];
  for (let i = 0; i < pop.accounts; i++) {
    const rng = base.fork(i);
    const account = campaignAccount(pop, p, i, rng, runTag, offset, evasionExit(pop, rng, rng.chance(pop.tunnelShare)));
    account.rotates = rng.chance(pop.rotateShare);
    out.push(account);
  }
  return out;
}
