/**
 * Synthetic key metrics for calibrating the cluster verdict score
 * (lib/cluster/evidence.ts): what a cluster root would see on each key of a
 * campaign or an honest crowd, drawn from families with randomised parameters.
 *
 * These are metric vectors, not traffic: they stand in for the roll-ups until
 * the detection harness replays whole families through the gateway. Every
 * number below is an assumption, written where it is made, so a reader can
 * disagree with one and rerun scripts/calibrate-verdict.ts.
 *
 * A population shows up on several keys (its system prompt, client build,
 * ASNs, prefixes, wrapper, template band); broad keys also carry a background
 * of unrelated honest accounts. A campaign counts as caught when any of its
 * keys is confirmed; an honest crowd is touched when any of them is.
 */
import type { KeyMetrics } from "../lib/cluster/evidence.ts";
import { Rng } from "./rng.ts";

/** One group of accounts that behave alike, as the root would measure it on a key only they use. */
export type Crowd = {
  accounts: number;
  /** Requests per account per window. */
  perAccount: number;
  hosting: number;
  /** Share of the crowd's requests on its most common client build. */
  client: number;
  /** Share of its requests carrying its one system prompt (0 = none). */
  system: number;
  wrapper: number;
  template: number;
  elicitation: number;
  synchrony: number;
  /** Share of its requests from accounts created in one burst. */
  burst: number;
  /** Distinct payment fingerprints per account. */
  payments: number;
  pivot: boolean;
};

export type KeyCase = { key: string; metrics: KeyMetrics };
export type Split = "tune" | "heldout";
export type Population = { family: string; split: Split; campaign: boolean; keys: KeyCase[] };

// An honest free-tier account makes about one request per window (the tier allows 20): the baseline
// volumeRatio divides by. Campaigns that stay under per-account limits still use much more of them.
export const HONEST_PER_ACCOUNT = 1;

/** Unrelated honest users of a broad key: what a popular build, an ISP or a cloud region carries besides. */
export const BACKGROUND: Omit<Crowd, "accounts"> = {
  perAccount: 0.6,
  hosting: 0.3,
  client: 0.4,
  system: 0.05,
  wrapper: 0.03,
  template: 0.05,
  elicitation: 0.08,
  synchrony: 0.05,
  burst: 0.05,
  payments: 0.97,
  pivot: false,
};

/**
 * The metrics of a key several crowds share. Shares of requests mix by request weight; "top" shares
 * (one client, one prompt, one wrapper, one band, one burst) are the largest crowd's own, diluted, as
 * crowds do not share their prompt or build with each other; synchrony holds only within a crowd, so it
 * dilutes by the square of the crowd's share of accounts; payments and volume mix by account.
 */
export function mixKey(crowds: readonly Crowd[], implied: { client?: boolean; system?: boolean; wrapper?: boolean } = {}): KeyMetrics {
  const accounts = crowds.reduce((n, c) => n + c.accounts, 0);
  const requests = crowds.reduce((n, c) => n + c.accounts * c.perAccount, 0);
  const byRequests = (f: (c: Crowd) => number) => crowds.reduce((n, c) => n + f(c) * c.accounts * c.perAccount, 0) / Math.max(1e-9, requests);
  const top = (f: (c: Crowd) => number) => Math.max(...crowds.map((c) => (f(c) * c.accounts * c.perAccount) / Math.max(1e-9, requests)));
  const byAccounts = (f: (c: Crowd) => number) => crowds.reduce((n, c) => n + f(c) * c.accounts, 0) / Math.max(1, accounts);
  const lead = crowds.reduce((a, b) => (b.accounts * b.perAccount > a.accounts * a.perAccount ? b : a));
  return {
    accounts,
    requestsPerWindow: requests,
    synchrony: crowds.reduce((n, c) => n + c.synchrony * (c.accounts / Math.max(1, accounts)) ** 2, 0),
    templateShare: top((c) => c.template),
    elicitationShare: byRequests((c) => c.elicitation),
    pivotModel: lead.pivot && (lead.accounts * lead.perAccount) / requests >= 0.5 ? "new-model" : null,
    hostingShare: byRequests((c) => c.hosting),
    clientHomogeneity: implied.client ? 1 : top((c) => c.client),
    systemPromptShare: implied.system ? 1 : top((c) => c.system),
    wrapperShare: implied.wrapper ? 1 : top((c) => c.wrapper),
    newAccountBurst: top((c) => c.burst),
    paymentsPerAccount: byAccounts((c) => c.payments),
    volumeRatio: byAccounts((c) => c.perAccount) / HONEST_PER_ACCOUNT,
  };
}

/** The part of a crowd that carries one value of a fingerprint: `share` of its accounts. */
function part(c: Crowd, share: number): Crowd {
  return { ...c, accounts: Math.max(1, Math.round(c.accounts * share)) };
}

function background(accounts: number, overrides: Partial<Crowd> = {}): Crowd {
  return { ...BACKGROUND, accounts, ...overrides };
}

export type Shape = {
  crowd: Crowd;
  /** Distinct ASNs and /24s the crowd's traffic spreads over, and the background each carries. */
  asns: number;
  asnBackground: Crowd | null;
  prefixes: number;
  /** Accounts of other customers on the crowd's client build (0 = a build nobody else runs). */
  clientBackground: number;
  /** Other honest users sharing the crowd's system prompt (a popular tool's) beyond this crowd. */
  systemBackground?: Crowd;
  /** A reseller's campaign half whose traffic rides on every account of the reseller (see resellerKeys). */
  pooled?: true;
};

/** Every key a crowd shows up on, with the background each carries. */
export function keysOf(name: string, shape: Shape): KeyCase[] {
  const { crowd } = shape;
  const keys: KeyCase[] = [];
  if (crowd.system > 0) {
    const own = { ...part(crowd, crowd.system), system: 1 };
    keys.push({ key: `system:${name}`, metrics: mixKey(shape.systemBackground ? [own, shape.systemBackground] : [own], { system: true }) });
  }
  if (crowd.wrapper > 0.1) keys.push({ key: `wrap:${name}`, metrics: mixKey([{ ...part(crowd, crowd.wrapper), wrapper: 1 }], { wrapper: true }) });
  const build = { ...part(crowd, crowd.client), client: 1 };
  const buildKey = shape.clientBackground > 0 ? [build, background(shape.clientBackground, { client: 1 })] : [build];
  keys.push({ key: `tls+sdk:${name}`, metrics: mixKey(buildKey, { client: true }) });
  keys.push({ key: `asn:${name}`, metrics: mixKey(shape.asnBackground ? [part(crowd, 1 / shape.asns), shape.asnBackground] : [part(crowd, 1 / shape.asns)]) });
  keys.push({ key: `prefix:${name}`, metrics: mixKey([part(crowd, 1 / shape.prefixes)]) });
  // A template shows as a band key carried by the templated share of the crowd's requests.
  if (crowd.template >= 0.3) keys.push({ key: `tpl:1:${name}`, metrics: mixKey([part(crowd, crowd.template)]) });
  return keys;
}

export type Family = { name: string; split: Split; campaign: boolean; draw: (rng: Rng) => Shape | Shape[] };

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();
const logUniform = (rng: Rng, lo: number, hi: number) => Math.exp(uniform(rng, Math.log(lo), Math.log(hi)));

/** A campaign's network: hosting exits, residential proxies, or both. */
function campaignNetwork(rng: Rng, accounts: number): Pick<Shape, "asns" | "asnBackground" | "prefixes"> & { hosting: number } {
  const kind = rng.pick(["hosting", "residential", "mixed"] as const);
  const hosting = kind === "hosting" ? uniform(rng, 0.85, 1) : kind === "residential" ? uniform(rng, 0, 0.1) : uniform(rng, 0.4, 0.6);
  // Residential proxies spread over many ISPs and prefixes, each carrying a large honest background.
  const asns = kind === "hosting" ? rng.int(1, 4) : rng.int(5, 40);
  const asnBackground = background(Math.round(logUniform(rng, 300, 20_000)), { hosting: kind === "hosting" ? 1 : 0, synchrony: kind === "hosting" ? 0.15 : 0.02 });
  return { hosting, asns, asnBackground, prefixes: Math.max(1, Math.round(accounts / rng.int(3, 40))) };
}

/** A campaign of `accounts` with at most the behaviours named visible; the rest stay below the markers. */
function campaign(rng: Rng, visible: { sync?: boolean; template?: boolean; elicitation?: boolean; pivot?: boolean }): Shape {
  const accounts = Math.round(logUniform(rng, 20, 24_000));
  const net = campaignNetwork(rng, accounts);
  // Campaigns stay under per-account limits (20/window on free) but use far more of them than honest
  // accounts; the biggest hydras spread thinner.
  const perAccount = logUniform(rng, 2, 12) / (1 + Math.log10(accounts / 20) / 3);
  const oneBuild = rng.chance(0.6);
  const crowd: Crowd = {
    accounts,
    perAccount,
    hosting: net.hosting,
    client: oneBuild ? uniform(rng, 0.95, 1) : 1 / rng.int(3, 8),
    system: rng.chance(0.7) ? uniform(rng, 0.85, 1) : 0,
    wrapper: visible.template ? uniform(rng, 0.5, 0.95) : rng.chance(0.5) ? uniform(rng, 0.2, 0.6) : 0,
    template: visible.template ? uniform(rng, 0.55, 0.95) : uniform(rng, 0, 0.2),
    elicitation: visible.elicitation ? uniform(rng, 0.35, 0.95) : uniform(rng, 0, 0.09),
    synchrony: visible.sync ? uniform(rng, 0.6, 0.95) : uniform(rng, 0, 0.2),
    // Hydras register in waves; some buy aged accounts.
    burst: rng.chance(0.6) ? uniform(rng, 0.5, 0.95) : uniform(rng, 0, 0.2),
    payments: rng.chance(0.5) ? uniform(rng, 0.02, 0.3) : uniform(rng, 0.8, 1),
    pivot: visible.pivot ?? false,
  };
  return { crowd, ...net, clientBackground: oneBuild && rng.chance(0.5) ? Math.round(logUniform(rng, 500, 20_000)) : 0 };
}

const RESELLER = { accounts: [40, 80], perAccount: [2, 6], burst: [0, 0.4] } as const satisfies Parameters<typeof reseller>[2];
// A small reseller of long-standing accounts whose customers, campaign and ordinary, each ask at about an honest pace,
// pooled: each account serves campaign and ordinary customers alike (tune-reseller-small as the evaluation replays it).
const SMALL_RESELLER = { accounts: [20, 60], perAccount: [0.7, 2], burst: [0, 0.1], pooled: true } as const satisfies Parameters<typeof reseller>[2];

type ResellerSize = { accounts: [number, number]; perAccount: [number, number]; burst: [number, number]; pooled?: boolean };

/** A reseller: shared egress, one build, campaign traffic as `share` of an otherwise ordinary customer mix. */
function reseller(rng: Rng, share: number, size: ResellerSize = RESELLER): Shape[] {
  const accounts = rng.int(...size.accounts);
  const perAccount = logUniform(rng, ...size.perAccount);
  const common = { hosting: uniform(rng, 0.6, 1), client: uniform(rng, 0.8, 1), burst: uniform(rng, ...size.burst), payments: uniform(rng, 0.05, 0.5), pivot: false };
  // The campaign's part: a grader/rubric template (a wrapper) with grader elicitation the scorer sees half of.
  const attack: Crowd = {
    ...common, accounts: Math.round(accounts * share), perAccount: perAccount * 1.5,
    system: uniform(rng, 0.5, 1), wrapper: uniform(rng, 0.7, 1), template: uniform(rng, 0.3, 0.7),
    elicitation: uniform(rng, 0.3, 0.8), synchrony: uniform(rng, 0, 0.4),
  };
  const ordinary: Crowd = {
    ...common, accounts: accounts - attack.accounts, perAccount,
    system: 0, wrapper: 0.02, template: 0.05, elicitation: 0.08, synchrony: 0.05,
  };
  const asnBackground = background(Math.round(logUniform(rng, 300, 5_000)), { hosting: 1, synchrony: 0.15 });
  // Both halves share every network and client key; the attack half alone carries the system prompt and wrapper.
  return [
    { crowd: { ...attack, client: 1 }, asns: 1, asnBackground, prefixes: 1, clientBackground: 0, ...(size.pooled ? { pooled: true as const } : {}) },
    { crowd: { ...ordinary, client: 1 }, asns: 1, asnBackground: null, prefixes: 1, clientBackground: 0 },
  ];
}

/** Keys of a reseller's two halves merged: network and client keys carry both, content keys the attack only. */
export function resellerKeys(name: string, halves: readonly Shape[]): KeyCase[] {
  const [attack, ordinary] = halves;
  if (!attack || !ordinary) return [];
  const both = [attack.crowd, ordinary.crowd];
  const keys: KeyCase[] = [];
  for (const kind of ["tls+sdk", "prefix"] as const) keys.push({ key: `${kind}:${name}`, metrics: mixKey(both, { client: kind === "tls+sdk" }) });
  keys.push({ key: `asn:${name}`, metrics: mixKey(attack.asnBackground ? [...both, attack.asnBackground] : both) });
  // Pooled: the campaign's requests spread over every account, each of which also serves ordinary customers,
  // so its prompt's keys have all the accounts, the campaign's requests, and a share of their members' traffic.
  const attackRequests = attack.crowd.accounts * attack.crowd.perAccount;
  const ordinaryRequests = ordinary.crowd.accounts * ordinary.crowd.perAccount;
  const accounts = attack.crowd.accounts + ordinary.crowd.accounts;
  const carrier = attack.pooled ? { ...attack.crowd, accounts, perAccount: attackRequests / accounts } : attack.crowd;
  const pooled = (m: KeyMetrics): KeyMetrics =>
    attack.pooled ? { ...m, memberShare: attackRequests / (attackRequests + ordinaryRequests), volumeRatio: (attackRequests + ordinaryRequests) / accounts / HONEST_PER_ACCOUNT } : m;
  if (attack.crowd.system > 0) keys.push({ key: `system:${name}`, metrics: pooled(mixKey([{ ...part(carrier, attack.crowd.system), system: 1 }], { system: true })) });
  keys.push({ key: `wrap:${name}`, metrics: pooled(mixKey([{ ...part(carrier, attack.crowd.wrapper), wrapper: 1 }], { wrapper: true })) });
  return keys;
}

/**
 * A small, quiet fleet (20–60 accounts): Poisson arrivals, a pace of one to three times an honest account's,
 * exits half on servers and half on residential proxies, a few cards, one build or two, the scorer seeing
 * some of its elicitation; its accounts new or bought aged.
 */
function smallQuiet(rng: Rng): Shape {
  const accounts = rng.int(20, 60);
  const aged = rng.chance(0.6);
  const crowd: Crowd = {
    accounts, perAccount: logUniform(rng, 1, 3), hosting: uniform(rng, 0.2, 0.8), client: rng.chance(0.5) ? uniform(rng, 0.95, 1) : 0.5,
    system: rng.chance(0.5) ? uniform(rng, 0.6, 1) : 0, wrapper: uniform(rng, 0.3, 0.7), template: uniform(rng, 0, 0.3),
    elicitation: uniform(rng, 0.05, 0.5), synchrony: uniform(rng, 0, 0.2), burst: aged ? uniform(rng, 0, 0.1) : uniform(rng, 0.5, 0.95),
    payments: rng.int(2, 12) / accounts, pivot: false,
  };
  const asnBackground = background(Math.round(logUniform(rng, 300, 5_000)), { hosting: 1, synchrony: 0.15 });
  return { crowd, asns: rng.int(1, 3), asnBackground, prefixes: Math.max(1, Math.round(accounts / rng.int(3, 10))), clientBackground: rng.chance(0.5) ? Math.round(logUniform(rng, 500, 10_000)) : 0 };
}

/** Aged accounts bought in bulk (no burst), one build, one system prompt, mostly on servers, at an honest pace. */
function agedFleet(rng: Rng): Shape {
  const accounts = rng.int(60, 400);
  const crowd: Crowd = {
    accounts, perAccount: logUniform(rng, 1, 3), hosting: uniform(rng, 0.4, 0.9), client: uniform(rng, 0.95, 1), system: uniform(rng, 0.8, 1),
    wrapper: uniform(rng, 0.3, 0.7), template: uniform(rng, 0.05, 0.25), elicitation: uniform(rng, 0, 0.15), synchrony: uniform(rng, 0, 0.1),
    burst: uniform(rng, 0, 0.1), payments: uniform(rng, 0.05, 0.3), pivot: false,
  };
  const asnBackground = background(Math.round(logUniform(rng, 300, 5_000)), { hosting: 1, synchrony: 0.15 });
  return { crowd, asns: rng.int(1, 3), asnBackground, prefixes: Math.max(1, Math.round(accounts / rng.int(5, 20))), clientBackground: rng.chance(0.5) ? Math.round(logUniform(rng, 500, 10_000)) : 0 };
}

/** Honest: an office behind one NAT using one coding tool whose system prompt is not allow-listed. */
function office(rng: Rng, cloudProxy: boolean): Shape {
  const seats = rng.int(20, 60);
  // The tool's long prompt dominates the SimHash: an office looks templated. Seats were onboarded
  // together on one company card. A cloud security proxy puts all of it on a hosting ASN.
  const crowd: Crowd = {
    accounts: seats, perAccount: logUniform(rng, 0.8, 3), hosting: cloudProxy ? 1 : 0, client: uniform(rng, 0.85, 1),
    system: uniform(rng, 0.6, 0.95), wrapper: uniform(rng, 0.5, 0.9), template: uniform(rng, 0.5, 0.85),
    elicitation: uniform(rng, 0.02, 0.15), synchrony: uniform(rng, 0.05, 0.3), burst: uniform(rng, 0.6, 1),
    payments: 1 / seats, pivot: rng.chance(0.2),
  };
  // The tool is popular: its prompt and build are shared with thousands of its users elsewhere.
  const toolUsers = background(Math.round(logUniform(rng, 200, 5_000)), { perAccount: 0.8, system: 1, client: 0.9, wrapper: 0.7, template: 0.6, hosting: 0.15 });
  return { crowd, asns: 1, asnBackground: background(Math.round(logUniform(rng, 300, 10_000)), { hosting: cloudProxy ? 1 : 0 }), prefixes: 1, clientBackground: toolUsers.accounts, systemBackground: toolUsers };
}

/** Honest: one popular SDK build, thousands of unrelated customers. */
function popularSdk(rng: Rng): Shape {
  const crowd = background(Math.round(logUniform(rng, 2_000, 30_000)), { client: 1, perAccount: logUniform(rng, 0.4, 1.5), synchrony: uniform(rng, 0.02, 0.15), elicitation: uniform(rng, 0.05, 0.2) });
  return { crowd, asns: 400, asnBackground: null, prefixes: 5_000, clientBackground: 0 };
}

/** Honest: CI jobs of many customers in one cloud region, on cron. */
function cloudCi(rng: Rng): Shape {
  const crowd: Crowd = {
    accounts: Math.round(logUniform(rng, 200, 3_000)), perAccount: logUniform(rng, 0.5, 3), hosting: 1, client: uniform(rng, 0.3, 0.6),
    // Each customer's jobs send their own prompts: no system prompt is shared across the region's CI.
    system: 0, wrapper: 0, template: uniform(rng, 0.05, 0.3), elicitation: uniform(rng, 0.02, 0.12),
    // Cron at the top of the hour lines many jobs up.
    synchrony: uniform(rng, 0.3, 0.7), burst: uniform(rng, 0, 0.2), payments: uniform(rng, 0.7, 1), pivot: false,
  };
  // CI runs the popular SDK builds: its client keys carry their users elsewhere too.
  return { crowd, asns: 1, asnBackground: null, prefixes: rng.int(20, 200), clientBackground: Math.round(logUniform(rng, 2_000, 20_000)) };
}

/**
 * Honest: a course on a teaching platform, each student calling with their own key through the
 * platform's tutor prompt and asking for step-by-step reasoning. Its accounts are new and share one
 * prompt, like a hydra's; what a class cannot fake is the rest: students bring their own machines
 * (several clients), sign up over the first days of term (no single burst), and ask at a human pace
 * from homes and a campus network. On its hosted backend it is one client on hosting (a limitation).
 */
function teaching(rng: Rng, hostedBackend: boolean): Shape {
  const crowd: Crowd = {
    accounts: rng.int(60, 400), perAccount: logUniform(rng, 0.3, 1.5), hosting: hostedBackend ? 1 : uniform(rng, 0, 0.1),
    client: hostedBackend ? uniform(rng, 0.85, 1) : uniform(rng, 0.3, 0.6),
    system: uniform(rng, 0.8, 1), wrapper: uniform(rng, 0.6, 0.9), template: uniform(rng, 0.3, 0.7), elicitation: uniform(rng, 0.4, 0.8),
    synchrony: uniform(rng, 0.05, 0.3), burst: uniform(rng, 0.15, 0.5), payments: rng.chance(0.5) ? uniform(rng, 0.005, 0.05) : uniform(rng, 0.9, 1),
    pivot: false,
  };
  return { crowd, asns: hostedBackend ? 1 : 3, asnBackground: background(Math.round(logUniform(rng, 500, 5_000)), { hosting: hostedBackend ? 1 : 0 }), prefixes: hostedBackend ? 2 : 6, clientBackground: 0 };
}

/** Held-out honest: the default system prompt of a popular bring-your-own-key chat app. */
function byokChat(rng: Rng): Shape {
  const crowd: Crowd = {
    accounts: Math.round(logUniform(rng, 500, 5_000)), perAccount: logUniform(rng, 0.3, 1.5), hosting: uniform(rng, 0.2, 0.5), client: uniform(rng, 0.5, 0.8),
    system: uniform(rng, 0.7, 0.95), wrapper: uniform(rng, 0, 0.3), template: uniform(rng, 0.2, 0.5), elicitation: uniform(rng, 0.05, 0.25),
    synchrony: uniform(rng, 0, 0.1), burst: uniform(rng, 0, 0.3), payments: uniform(rng, 0.9, 1), pivot: rng.chance(0.3),
  };
  return { crowd, asns: 300, asnBackground: null, prefixes: 2_000, clientBackground: Math.round(logUniform(rng, 1_000, 10_000)) };
}

/** Held-out honest: an evaluation customer's few accounts sending rubric-grading prompts from the cloud. */
function evalCustomer(rng: Rng): Shape {
  const crowd: Crowd = {
    accounts: rng.int(2, 12), perAccount: logUniform(rng, 3, 10), hosting: 1, client: 1, system: 1, wrapper: 0.9, template: 0.8,
    elicitation: uniform(rng, 0.4, 0.8), synchrony: uniform(rng, 0.3, 0.7), burst: 0.9, payments: 0.1, pivot: false,
  };
  return { crowd, asns: 1, asnBackground: background(2_000, { hosting: 1 }), prefixes: 1, clientBackground: 0 };
}

/** Held-out campaign: a 24,000-account-scale hydra spread thin on residential proxies, Poisson timing, several builds. */
function slowBurn(rng: Rng): Shape {
  const accounts = Math.round(logUniform(rng, 2_000, 24_000));
  const crowd: Crowd = {
    accounts, perAccount: logUniform(rng, 1, 3), hosting: uniform(rng, 0, 0.15), client: 1 / rng.int(2, 5), system: rng.chance(0.5) ? uniform(rng, 0.8, 1) : 0,
    wrapper: uniform(rng, 0.3, 0.6), template: uniform(rng, 0.1, 0.35), elicitation: uniform(rng, 0.15, 0.4), synchrony: uniform(rng, 0, 0.15),
    burst: uniform(rng, 0.3, 0.9), payments: uniform(rng, 0.3, 1), pivot: rng.chance(0.5),
  };
  return { crowd, asns: rng.int(30, 200), asnBackground: background(Math.round(logUniform(rng, 5_000, 50_000)), { hosting: 0 }), prefixes: Math.round(accounts / 3), clientBackground: Math.round(logUniform(rng, 1_000, 20_000)) };
}

export const FAMILIES: readonly Family[] = [
  { name: "campaign/sync-only", split: "tune", campaign: true, draw: (r) => campaign(r, { sync: true }) },
  { name: "campaign/template-only", split: "tune", campaign: true, draw: (r) => campaign(r, { template: true }) },
  { name: "campaign/elicitation-only", split: "tune", campaign: true, draw: (r) => campaign(r, { elicitation: true }) },
  { name: "campaign/none-visible", split: "tune", campaign: true, draw: (r) => campaign(r, {}) },
  { name: "campaign/reseller", split: "tune", campaign: true, draw: (r) => reseller(r, uniform(r, 0.1, 0.5)) },
  { name: "campaign/reseller-small", split: "tune", campaign: true, draw: (r) => reseller(r, uniform(r, 0.1, 0.5), SMALL_RESELLER) },
  { name: "campaign/small-quiet", split: "tune", campaign: true, draw: smallQuiet },
  { name: "campaign/aged-fleet", split: "tune", campaign: true, draw: agedFleet },
  { name: "campaign/pivot-none-visible", split: "heldout", campaign: true, draw: (r) => campaign(r, { pivot: true }) },
  { name: "campaign/slow-burn", split: "heldout", campaign: true, draw: slowBurn },
  { name: "honest/office-nat", split: "tune", campaign: false, draw: (r) => office(r, false) },
  { name: "honest/office-cloud-proxy", split: "tune", campaign: false, draw: (r) => office(r, true) },
  { name: "honest/popular-sdk", split: "tune", campaign: false, draw: popularSdk },
  { name: "honest/cloud-ci", split: "tune", campaign: false, draw: cloudCi },
  { name: "honest/teaching-campus", split: "tune", campaign: false, draw: (r) => teaching(r, false) },
  { name: "honest/teaching-hosted", split: "tune", campaign: false, draw: (r) => teaching(r, true) },
  { name: "honest/byok-chat", split: "heldout", campaign: false, draw: byokChat },
  { name: "honest/eval-customer", split: "heldout", campaign: false, draw: evalCustomer },
];

export function keysOfDraw(name: string, drawn: Shape | Shape[]): KeyCase[] {
  return Array.isArray(drawn) ? resellerKeys(name, drawn) : keysOf(name, drawn);
}

/** `perFamily` populations of every family, the same for the same seed. */
export function populations(seed: number, perFamily: number): Population[] {
  const out: Population[] = [];
  for (const family of FAMILIES) {
    const rng = new Rng(`${seed}:${family.name}`);
    for (let i = 0; i < perFamily; i++) {
      out.push({ family: family.name, split: family.split, campaign: family.campaign, keys: keysOfDraw(`${family.name}#${i}`, family.draw(rng)) });
    }
  }
  return out;
}

const C = (crowd: Partial<Crowd> & { accounts: number }): Crowd => ({ ...BACKGROUND, client: 1, system: 0, wrapper: 0, template: 0, elicitation: 0, synchrony: 0, burst: 0, payments: 1, ...crowd });

/** The cases the calibration reports by name (and the tests hold the default policy to). */
export type NamedCase = {
  name: string;
  campaign: boolean;
  keys: KeyCase[];
  /** Why the score cannot get this case right from these metrics; such a case is reported, not held to. */
  limitation?: string;
};

export const NAMED_CASES: readonly NamedCase[] = [
  {
    // Issue 17's first campaign: 300 accounts on three hosting ASNs, one build, one exact system prompt on ~295,
    // ~1,770 requests per window; no synchrony, no template, elicitation just under the scorer's threshold.
    name: "295 hosting accounts, one build, one system prompt, nothing else visible",
    campaign: true,
    keys: keysOf("issue17", {
      crowd: C({ accounts: 300, perAccount: 5.9, hosting: 0.97, system: 295 / 300, template: 0.1, elicitation: 0.05, synchrony: 0.05 }),
      asns: 3, asnBackground: background(2_000, { hosting: 1, synchrony: 0.15 }), prefixes: 30, clientBackground: 0,
    }),
  },
  {
    name: "same on residential prefixes",
    campaign: true,
    keys: keysOf("issue17-res", {
      crowd: C({ accounts: 300, perAccount: 5.9, hosting: 0.03, system: 295 / 300, template: 0.1, elicitation: 0.05, synchrony: 0.05 }),
      asns: 25, asnBackground: background(20_000, { hosting: 0 }), prefixes: 150, clientBackground: 0,
    }),
  },
  {
    // The tuning family tune-aged-fleet as its strongest key measured it (quick eval, seed 1): aged accounts,
    // one build, one prompt on 90 %, 57 % hosting, 40 cards, the scorer seeing 6 % of its elicitation.
    name: "256 aged accounts, one build, one prompt on 90 %, 57 % hosting, honest pace",
    campaign: true,
    keys: keysOf("aged", {
      crowd: C({ accounts: 256, perAccount: 1.6, hosting: 0.57, system: 0.9, wrapper: 0.67, template: 0.15, elicitation: 0.06, synchrony: 0.05, burst: 0.01, payments: 0.156 }),
      asns: 2, asnBackground: background(2_000, { hosting: 1, synchrony: 0.15 }), prefixes: 20, clientBackground: 0,
    }),
  },
  {
    // tune-reseller-small's strongest key as the quick evaluation measured it (seed 1): 46 long-standing accounts
    // pooled behind one VPN egress, campaign and ordinary customers on every account, a quarter of the traffic
    // eliciting, at an honest pace. Its own prompt's keys carry ~25 requests a window, under minRequestsPerWindow.
    name: "small reseller, 46 pooled accounts behind one VPN egress, a quarter of the traffic eliciting",
    campaign: true,
    keys: [{
      key: "tls:reseller-small",
      metrics: {
        accounts: 46, requestsPerWindow: 96.6, synchrony: 0, templateShare: 0.04, elicitationShare: 0.257, pivotModel: null, hostingShare: 1,
        clientHomogeneity: 1, systemPromptShare: 0.307, wrapperShare: 0.228, newAccountBurst: 0.059, paymentsPerAccount: 0.804, volumeRatio: 1.05,
      },
    }],
  },
  {
    // The same reseller's campaign prompt key (seed 1): all 56 pooled accounts carry it, ~36 requests a window (under
    // minRequestsPerWindow on its own), a third of their traffic over the whole run, the scorer seeing 83 % of it.
    // Measured offline over the generated traffic; the root's per-report count makes the share larger in a 2-minute run.
    name: "small reseller's campaign prompt on its 56 pooled accounts, a third of their traffic",
    campaign: true,
    keys: [{
      key: "system:reseller-small",
      metrics: {
        accounts: 56, requestsPerWindow: 36, synchrony: 0, templateShare: 0.05, elicitationShare: 0.83, pivotModel: null, hostingShare: 1,
        clientHomogeneity: 1, systemPromptShare: 1, wrapperShare: 0.8, newAccountBurst: 0.05, paymentsPerAccount: 0.8, volumeRatio: 1.05, memberShare: 0.32,
      },
    }],
  },
  {
    // The same family on seed 2 as the cluster root measured its prompt's key at the end of a quick run: 22 of its
    // 41 accounts seen, residential egress, half their traffic by the per-report measure, at an honest pace.
    name: "small reseller's campaign prompt on 22 residential pooled accounts, half their traffic, honest pace",
    campaign: true,
    keys: [{
      key: "system:reseller-small-2",
      metrics: {
        accounts: 22, requestsPerWindow: 28.2, synchrony: 0, templateShare: 0.05, elicitationShare: 0.59, pivotModel: null, hostingShare: 0,
        clientHomogeneity: 1, volumeRatio: 1.244, memberShare: 0.515,
      },
    }],
  },
  {
    name: "20-account campaign, synchrony only, one build",
    campaign: true,
    keys: keysOf("small-sync", { crowd: C({ accounts: 20, perAccount: 8, hosting: 0.9, synchrony: 0.8, client: 1 }), asns: 2, asnBackground: null, prefixes: 4, clientBackground: 0 }),
  },
  {
    name: "2,000-account campaign, template only (rotated builds, residential)",
    campaign: true,
    keys: keysOf("mid-template", { crowd: C({ accounts: 2_000, perAccount: 3, hosting: 0.05, template: 0.8, wrapper: 0.8, client: 0.25 }), asns: 30, asnBackground: background(20_000, { hosting: 0 }), prefixes: 300, clientBackground: 0 }),
  },
  {
    name: "24,000-account campaign, elicitation only (rotated builds, residential)",
    campaign: true,
    keys: keysOf("big-elicit", { crowd: C({ accounts: 24_000, perAccount: 1.5, hosting: 0.05, elicitation: 0.6, client: 0.25 }), asns: 100, asnBackground: background(40_000, { hosting: 0 }), prefixes: 5_000, clientBackground: 0 }),
  },
  {
    name: "reseller, 60 accounts, 30 % rubric traffic",
    campaign: true,
    keys: resellerKeys("reseller30", [
      { crowd: C({ accounts: 18, perAccount: 4.5, hosting: 0.8, system: 1, wrapper: 0.9, template: 0.5, elicitation: 0.5, synchrony: 0.1, payments: 0.2 }), asns: 1, asnBackground: background(1_000, { hosting: 1 }), prefixes: 1, clientBackground: 0 },
      { crowd: C({ accounts: 42, perAccount: 3, hosting: 0.8, elicitation: 0.08, synchrony: 0.05, payments: 0.2 }), asns: 1, asnBackground: null, prefixes: 1, clientBackground: 0 },
    ]),
  },
  {
    name: "reseller, 60 accounts, 10 % rubric traffic",
    campaign: true,
    keys: resellerKeys("reseller10", [
      { crowd: C({ accounts: 6, perAccount: 4.5, hosting: 0.8, system: 1, wrapper: 0.9, template: 0.5, elicitation: 0.5, synchrony: 0.1, payments: 0.2 }), asns: 1, asnBackground: background(1_000, { hosting: 1 }), prefixes: 1, clientBackground: 0 },
      { crowd: C({ accounts: 54, perAccount: 3, hosting: 0.8, elicitation: 0.08, synchrony: 0.05, payments: 0.2 }), asns: 1, asnBackground: null, prefixes: 1, clientBackground: 0 },
    ]),
  },
  {
    name: "office NAT, 40 seats, coding tool's prompt (not allow-listed)",
    campaign: false,
    keys: keysOf("office", {
      crowd: C({ accounts: 40, perAccount: 2, hosting: 0, client: 0.95, system: 0.85, wrapper: 0.8, template: 0.7, elicitation: 0.08, synchrony: 0.2, burst: 0.9, payments: 1 / 40 }),
      asns: 1, asnBackground: background(3_000, { hosting: 0 }), prefixes: 1, clientBackground: 2_000,
      systemBackground: background(2_000, { perAccount: 0.8, system: 1, client: 0.9, wrapper: 0.7, template: 0.6, hosting: 0.15 }),
    }),
  },
  {
    name: "same office behind a cloud security proxy (hosting ASN)",
    campaign: false,
    keys: keysOf("office-proxy", {
      crowd: C({ accounts: 40, perAccount: 2, hosting: 1, client: 0.95, system: 0.85, wrapper: 0.8, template: 0.7, elicitation: 0.08, synchrony: 0.2, burst: 0.9, payments: 1 / 40 }),
      asns: 1, asnBackground: background(3_000, { hosting: 1 }), prefixes: 1, clientBackground: 2_000,
      systemBackground: background(2_000, { perAccount: 0.8, system: 1, client: 0.9, wrapper: 0.7, template: 0.6, hosting: 0.15 }),
    }),
  },
  {
    name: "company of 200 seats behind a cloud security proxy, its own tool's prompt",
    campaign: false,
    // Seats on one build behind one proxy on a hosting ASN, one internal prompt, one company card, onboarded together.
    limitation: "hundreds of one operator's accounts on servers and one build: a fleet's shape (confirmed before the fleet lift too)",
    keys: keysOf("company-proxy", {
      crowd: C({ accounts: 200, perAccount: 1, hosting: 1, client: 0.95, system: 0.85, wrapper: 0.8, template: 0.7, elicitation: 0.08, synchrony: 0.2, burst: 0.5, payments: 1 / 200 }),
      asns: 1, asnBackground: background(3_000, { hosting: 1 }), prefixes: 2, clientBackground: 0,
    }),
  },
  {
    name: "popular SDK build, 10,000 accounts",
    campaign: false,
    keys: keysOf("sdk", { crowd: background(10_000, { client: 1, perAccount: 0.8, elicitation: 0.15, synchrony: 0.08 }), asns: 400, asnBackground: null, prefixes: 5_000, clientBackground: 0 }),
  },
  {
    name: "cloud region ASN, 1,500 CI accounts on cron",
    campaign: false,
    keys: keysOf("ci", {
      crowd: C({ accounts: 1_500, perAccount: 2, hosting: 1, client: 0.45, system: 0, template: 0.2, elicitation: 0.08, synchrony: 0.6, burst: 0.1, payments: 0.9 }),
      asns: 1, asnBackground: null, prefixes: 100, clientBackground: 5_000,
    }),
  },
  {
    // A class that opened its accounts over the first days of term: one tutor prompt, step-by-step asks,
    // their own laptops and networks, a human pace. New accounts and one prompt, and nothing a fleet does.
    name: "teaching platform, 200 new students, one tutor prompt, own clients",
    campaign: false,
    keys: keysOf("course", {
      crowd: C({ accounts: 200, perAccount: 0.8, hosting: 0.05, client: 0.45, system: 0.95, wrapper: 0.8, template: 0.5, elicitation: 0.65, synchrony: 0.15, burst: 0.35, payments: 0.01 }),
      asns: 3, asnBackground: background(3_000, { hosting: 0 }), prefixes: 6, clientBackground: 0,
    }),
  },
  {
    // The hard version: the whole class opened its accounts in one session (one 6-hour bucket).
    name: "teaching platform, 120 students who all signed up in one class session",
    campaign: false,
    keys: keysOf("course-session", {
      crowd: C({ accounts: 120, perAccount: 0.8, hosting: 0.05, client: 0.45, system: 0.95, wrapper: 0.8, template: 0.5, elicitation: 0.65, synchrony: 0.15, burst: 0.95, payments: 0.01 }),
      asns: 3, asnBackground: background(3_000, { hosting: 0 }), prefixes: 6, clientBackground: 0,
    }),
  },
  {
    // A heavy single user asking for step-by-step reasoning in most requests: one account, never a cluster.
    name: "heavy single user asking step by step",
    campaign: false,
    keys: keysOf("stepwise", { crowd: C({ accounts: 1, perAccount: 8, hosting: 0, client: 1, elicitation: 0.7 }), asns: 1, asnBackground: background(3_000, { hosting: 0 }), prefixes: 1, clientBackground: 2_000 }),
  },
  {
    // An evaluation customer grading its own product with rubric prompts from CI in a cloud, in batches.
    name: "evaluation customer, 4 accounts, rubric prompts from CI in a cloud",
    campaign: false,
    keys: keysOf("evals", {
      crowd: C({ accounts: 4, perAccount: 10, hosting: 1, client: 1, system: 0, wrapper: 0.9, template: 0.8, elicitation: 0.6, synchrony: 0.7, burst: 0, payments: 0.25 }),
      asns: 1, asnBackground: background(2_000, { hosting: 1, synchrony: 0.15 }), prefixes: 1, clientBackground: 5_000,
    }),
  },
  {
    // A coding tool's shared system prompt nobody allow-listed, used by its customers everywhere (not one office).
    name: "coding tool's system prompt (not allow-listed), 3,000 users",
    campaign: false,
    keys: keysOf("tool", {
      crowd: C({ accounts: 3_000, perAccount: 1.2, hosting: 0.2, client: 0.7, system: 1, wrapper: 0.7, template: 0.6, elicitation: 0.08, synchrony: 0.05, burst: 0.05, payments: 0.98 }),
      asns: 300, asnBackground: null, prefixes: 2_000, clientBackground: 5_000,
    }),
  },
  {
    // CI jobs of a few dozen customers in one cloud: hosting, a cron lines them up, old accounts.
    name: "CI jobs of 40 customers in one cloud, on cron",
    campaign: false,
    keys: keysOf("ci-small", {
      crowd: C({ accounts: 40, perAccount: 3, hosting: 1, client: 0.5, system: 0, template: 0.2, elicitation: 0.05, synchrony: 0.6, burst: 0.05, payments: 1 }),
      asns: 1, asnBackground: background(2_000, { hosting: 1, synchrony: 0.15 }), prefixes: 20, clientBackground: 5_000,
    }),
  },
  {
    name: "teaching platform, 200 students via its hosted backend",
    campaign: false,
    // Templated, eliciting, on hosting, one client, at scale: the profile of an eliciting campaign in every
    // metric but volume (and the two-boolean rule confirmed it too). What tells it apart is its system prompt's
    // hash on fingerprint.allowedSystemPromptHashes, or the operator's allow-list.
    limitation: "indistinguishable from an eliciting hosted campaign except by volume",
    keys: keysOf("course-hosted", {
      crowd: C({ accounts: 200, perAccount: 0.8, hosting: 1, client: 0.95, system: 0.95, wrapper: 0.8, template: 0.5, elicitation: 0.65, synchrony: 0.35, burst: 0.85, payments: 0.01 }),
      asns: 1, asnBackground: background(3_000, { hosting: 1 }), prefixes: 2, clientBackground: 0,
    }),
  },
  {
    // tune-pivot-preference on seed 2 as its second wording's wrapper key measured at the end of a quick run: the
    // campaign's first wording was confirmed, this one stayed suspect (0.83) and was served in full. Nearly all of
    // its requests come from accounts that sent the confirmed wording (campaignMemberShare as a collector counts it).
    name: "a confirmed campaign's second wording: 54 of its hosting accounts, one build, nothing elicited",
    campaign: true,
    keys: [{
      key: "wrap:s:second-wording",
      metrics: {
        accounts: 54, requestsPerWindow: 71, synchrony: 0.18, templateShare: 0.08, elicitationShare: 0, pivotModel: null, hostingShare: 1,
        clientHomogeneity: 1, newAccountBurst: 1, paymentsPerAccount: 0.667, volumeRatio: 1.24, memberShare: 0.71, campaignMemberShare: 0.9,
      },
    }],
  },
  {
    // A campaign that also runs the office's coding tool: a quarter of the tool prompt's requests come from accounts
    // known as a confirmed campaign's members. The office's own seats are most of the key, so it must stay unconfirmed.
    name: "office NAT's coding tool prompt, a quarter of its requests from a confirmed campaign's members",
    campaign: false,
    keys: keysOf("office-beside-campaign", {
      crowd: C({ accounts: 40, perAccount: 2, hosting: 0, client: 0.95, system: 0.85, wrapper: 0.8, template: 0.7, elicitation: 0.08, synchrony: 0.2, burst: 0.9, payments: 1 / 40 }),
      asns: 1, asnBackground: background(3_000, { hosting: 0 }), prefixes: 1, clientBackground: 2_000,
      systemBackground: background(2_000, { perAccount: 0.8, system: 1, client: 0.9, wrapper: 0.7, template: 0.6, hosting: 0.15 }),
    }).map((k) => ({ ...k, metrics: { ...k.metrics, campaignMemberShare: 0.25 } })),
  },
];

/** What a cluster root measures today: the evidence with no new plumbing behind it. */
export function rootToday(m: KeyMetrics): KeyMetrics {
  return {
    accounts: m.accounts,
    requestsPerWindow: m.requestsPerWindow,
    synchrony: m.synchrony,
    templateShare: m.templateShare,
    elicitationShare: m.elicitationShare,
    pivotModel: m.pivotModel,
  };
}

/** Everything but the volume ratio (the one metric that needs a per-tier honest baseline). */
export function withoutVolume(m: KeyMetrics): KeyMetrics {
  const { volumeRatio: _volume, ...rest } = m;
  return rest;
}
