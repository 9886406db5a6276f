/**
 * What an account object tells its cluster collector, in one batch per
 * report interval: per fingerprint key, the requests, tokens, elicitation,
 * template bands, wrapper keys, models and the account's tier seen since the last report, plus the
 * account's request-start histogram for timing synchrony.
 */
import type { Policy, RiskSignal } from "../policy/index.ts";
import { asnCategoriesOf } from "../region/asn.ts";
import { recordStart, type StartHistogram } from "./synchrony.ts";

export type KeyCounts = {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Requests whose prompt scored as chain-of-thought / training-data elicitation. */
  elicited: number;
  /** Template band key → requests carrying it. */
  bands: Record<string, number>;
  /** Model → requests. */
  models: Record<string, number>;
  // Evidence for the verdict score; absent until the account side reports it (absent = unknown).
  /** Requests from hosting, VPN or proxy ASNs. */
  hosting?: number;
  /** Client profile (the request's TLS + SDK key) → requests. */
  clients?: Record<string, number>;
  /** Exact system prompt (`system:` key) → requests. */
  systems?: Record<string, number>;
  /** When the requesting account was created, as a bucket label (see creationBucket) → requests. */
  created?: Record<string, number>;
  /** Wrapper key (`wrap:`) → requests carrying it; absent in counts stored before wrapper keys existed. */
  wrappers?: Record<string, number>;
  /** Requests whose account pays with a known card (a `payment:` key). */
  paid?: number;
  /**
   * Payment key → requests, for the distinct cards among a key's accounts. Bounded (MAX_PAYMENTS_PER_DELTA):
   * a record that reaches the bound may have dropped cards, and the root then treats payment as unknown.
   */
  payments?: Record<string, number>;
  /**
   * The requesting account's tier (as the policy resolves it) → requests, for a volume baseline per
   * tier at the root; absent in counts stored before tiers were reported (the flat baseline applies).
   */
  tiers?: Record<string, number>;
  /**
   * Requests the reporting accounts made in all (on any key) since each last reported this key, over the
   * reports that carried it again (within a few reports of the last): the key's share of its members' traffic
   * is `membersKeyed` ÷ `members`. A reseller's campaign prompt is a minority of the pooled accounts'
   * traffic; a tool's or a class's prompt is nearly all of its users'. Absent in counts stored before it
   * was reported, and when no account carried the key twice (unknown).
   */
  members?: number;
  /** The key's own requests in the reports `members` counts. */
  membersKeyed?: number;
  /**
   * Set by the collector, not the account: the key's requests it counted while it held a confirmed exact
   * prompt key (`campaignChecked`), and those among them from accounts it knows as members of such a key
   * other than this one (`campaignMembers`). Absent: nothing was confirmed there, or counts stored before.
   */
  campaignChecked?: number;
  campaignMembers?: number;
};

export type AccountReport = {
  accountId: string;
  /** Epoch ms of the first and last request covered. */
  from: number;
  to: number;
  keys: Record<string, KeyCounts>;
  starts: StartHistogram;
};

export type ReportedRequest = {
  at: number;
  keys: string[];
  bands: string[];
  model: string;
  inputTokens: number;
  outputTokens: number;
  elicited: boolean;
  /** From a hosting, VPN or proxy ASN; undefined = not known. */
  hosting?: boolean;
  /** The request's client profile key (`tls+sdk:…`, else `tls:…` or `sdk:…`). */
  client?: string | null;
  /** The request's `system:` key, unless allow-listed. */
  system?: string | null;
  /** The account's creation bucket (creationBucket). */
  created?: string | null;
  /** The account's `payment:` key (the card it pays with), if it has one. */
  payment?: string | null;
  /** The account's tier, resolved against the policy's tiers (an unknown one is the default tier). */
  tier?: string;
};

// Accounts created within one such bucket count as one burst: a hydra registers its accounts in waves of
// hours, honest sign-ups to one key spread over weeks.
export const CREATION_BUCKET_MS = 6 * 3_600_000;

/** The bucket label of an account's creation time (epoch ms). */
export function creationBucket(createdAt: number): string {
  return String(Math.floor(createdAt / CREATION_BUCKET_MS));
}

const ASN_SIGNALS: ReadonlySet<RiskSignal> = new Set(["hosting_asn", "vpn_asn", "proxy_asn"]);

/**
 * What a request says about the verdict score's network, client, prompt and account-age evidence,
 * from what the account object has at admission: the request's keys and edge signals, and the
 * account's creation time. Unknown stays undefined, never false or 0: with no ASN categories in the
 * policy nothing is known about hosting, and an account created at 0 (not recorded) has no age.
 */
export function requestEvidence(
  request: { keys: readonly string[]; signals: readonly RiskSignal[] },
  createdAt: number | undefined,
  policy: Policy,
  tier?: string,
): Pick<ReportedRequest, "hosting" | "client" | "system" | "created" | "payment" | "tier"> {
  const lists = policy.regions.asnCategories;
  let hosting: boolean | undefined;
  if (lists.hosting.length > 0 || lists.vpn.length > 0 || lists.residentialProxy.length > 0) {
    // The edge's signals, or the ASN itself: asnAction "allow" and region-exempt accounts raise no signal.
    const asnKey = request.keys.find((k) => k.startsWith("asn:"));
    const asn = asnKey === undefined ? null : Number(asnKey.slice(4));
    hosting =
      request.signals.some((s) => ASN_SIGNALS.has(s)) ||
      (asn !== null && Number.isSafeInteger(asn) && asnCategoriesOf(asn, policy).length > 0);
  }
  const find = (prefix: string) => request.keys.find((k) => k.startsWith(prefix)) ?? null;
  return {
    hosting,
    client: find("tls+sdk:") ?? find("tls:") ?? find("sdk:"),
    // Keys arrive with allow-listed prompts already removed, so an allowed tool's prompt is never counted.
    system: find("system:"),
    created: createdAt !== undefined && createdAt > 0 ? creationBucket(createdAt) : null,
    // The account object puts the profile's payment key among the request's keys (allow-listed ones left out).
    payment: find("payment:"),
    // Resolved here as the quota resolves it, so a tier the policy does not define counts as the one it is limited as.
    tier: tier !== undefined && Object.hasOwn(policy.tiers, tier) ? tier : policy.defaultTier,
  };
}

// Bounds per report so one account can never make a collector call large: keys beyond this are dropped
// (an account presenting hundreds of fingerprints in 10 s is itself a signal the account object scores).
export const MAX_KEYS_PER_REPORT = 64;
const MAX_BANDS_PER_KEY = 16;
const MAX_MODELS_PER_KEY = 8;
const MAX_PROFILES_PER_KEY = 8;
// A request carries at most two wrapper keys; an account's own campaign wrapper arrives with its first request.
const MAX_WRAPPERS_PER_KEY = 16;
/**
 * Distinct cards one delta carries per key. An account has one card, so this is accounts per key per
 * collector per interval: 256 × 16 collectors covers a campaign of ~4,000 active accounts; past it the
 * delta may have dropped cards and the root stops reading payment evidence for the key (unknown).
 */
export const MAX_PAYMENTS_PER_DELTA = 256;

/**
 * A count by name, read and written as an own property: names are client-chosen, and a model called
 * `constructor` or `__proto__` must count like any other, not reach Object.prototype.
 */
export function countOf(record: Record<string, number>, name: string): number | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

export function setCount(record: Record<string, number>, name: string, value: number): void {
  Object.defineProperty(record, name, { value, writable: true, enumerable: true, configurable: true });
}

function bump(record: Record<string, number>, name: string, limit: number): void {
  const held = countOf(record, name);
  if (held !== undefined) setCount(record, name, held + 1);
  else if (Object.keys(record).length < limit) setCount(record, name, 1);
}

/**
 * When an account's next report is due, given its first request since the last report (`sampleAt`) and
 * when it last reported (null: never, or not since the object started). An account that reported within
 * the last interval waits for the interval to end, so it still reports at most once per interval. One
 * that has been quiet for a whole interval reports `quietDelayMs` after that request instead of a whole
 * interval later: most of a quiet fleet's accounts send once or twice a minute, and every one of their
 * requests waited an interval before any collector saw it, which delayed the verdict by as much.
 */
export function reportDueAt(sampleAt: number, lastReportAt: number | null, intervalMs: number, quietDelayMs: number): number {
  const earliest = lastReportAt === null ? Number.NEGATIVE_INFINITY : lastReportAt + intervalMs;
  return Math.max(earliest, sampleAt + Math.min(quietDelayMs, intervalMs));
}

// Reports (with traffic) over which an account's requests count against a key it carried before: at the default
// 10 s interval, about a window of activity. Bounds what the buffer remembers to the keys of as many reports.
const MEMBER_GAP = 6;

/**
 * Accumulates requests between two reports; kept in memory by the account object. Across reports it keeps
 * only the running request count and, per key carried in the last MEMBER_GAP reports, where the count stood;
 * an object that was evicted starts them again (every key then counts as new, its share errs larger).
 */
export class ReportBuffer {
  private keys = new Map<string, KeyCounts>();
  private starts = new Map<number, number>();
  private from = Infinity;
  private to = -Infinity;
  private requests = 0;
  /** Requests counted (`this.requests` is per report) before this report: the account's running total. */
  private total = 0;
  private drains = 0;
  /** Per key the running total and drain of the last report that carried it. */
  private lastCarried = new Map<string, { total: number; drain: number }>();

  get isEmpty(): boolean {
    return this.keys.size === 0;
  }

  add(request: ReportedRequest): void {
    this.from = Math.min(this.from, request.at);
    this.to = Math.max(this.to, request.at);
    recordStart(this.starts, request.at);
    this.requests++;
    // Wrapper keys are among the request's own keys, so the account object passes nothing more for them.
    const wrappers = request.keys.filter((key) => key.startsWith("wrap:"));
    for (const key of request.keys) {
      let counts = this.keys.get(key);
      if (!counts) {
        if (this.keys.size >= MAX_KEYS_PER_REPORT) continue;
        counts = { requests: 0, inputTokens: 0, outputTokens: 0, elicited: 0, bands: {}, models: {}, wrappers: {} };
        this.keys.set(key, counts);
      }
      counts.requests++;
      counts.inputTokens += request.inputTokens;
      counts.outputTokens += request.outputTokens;
      if (request.elicited) counts.elicited++;
      for (const band of request.bands) bump(counts.bands, band, MAX_BANDS_PER_KEY);
      bump(counts.models, request.model, MAX_MODELS_PER_KEY);
      if (request.hosting !== undefined) counts.hosting = (counts.hosting ?? 0) + (request.hosting ? 1 : 0);
      if (request.client) bump((counts.clients ??= {}), request.client, MAX_PROFILES_PER_KEY);
      if (request.system) bump((counts.systems ??= {}), request.system, MAX_PROFILES_PER_KEY);
      if (request.created) bump((counts.created ??= {}), request.created, MAX_PROFILES_PER_KEY);
      if (request.payment) {
        counts.paid = (counts.paid ?? 0) + 1;
        bump((counts.payments ??= {}), request.payment, MAX_PROFILES_PER_KEY);
      }
      if (request.tier) bump((counts.tiers ??= {}), request.tier, MAX_PROFILES_PER_KEY);
      if (wrappers.length > 0) {
        counts.wrappers ??= {};
        for (const wrapper of wrappers) bump(counts.wrappers, wrapper, MAX_WRAPPERS_PER_KEY);
      }
    }
  }

  /** The report, and an empty buffer behind it. */
  drain(accountId: string): AccountReport | null {
    if (this.isEmpty) return null;
    this.drains++;
    const total = this.total + this.requests;
    for (const [key, counts] of this.keys) {
      // The account's requests since it last carried the key: a pooled prompt sent once in a few reports is
      // measured against everything the account sent in between, not only the report it shares with the key.
      // A key new to this buffer, or last carried over MEMBER_GAP reports ago, is not measured: the object's
      // older traffic says nothing of the key's, and counting its first report alone would read a prompt sent
      // once a minute as most of its account's traffic. So a tool's new prompt version, new to all its users
      // at once, is measured from its second appearance, as all of their traffic it then is.
      const last = this.lastCarried.get(key);
      if (last !== undefined && this.drains - last.drain <= MEMBER_GAP) {
        counts.members = total - last.total;
        counts.membersKeyed = counts.requests;
      }
      this.lastCarried.set(key, { total, drain: this.drains });
    }
    for (const [key, last] of this.lastCarried) if (this.drains - last.drain > MEMBER_GAP) this.lastCarried.delete(key);
    this.total = total;
    const report: AccountReport = {
      accountId,
      from: this.from,
      to: this.to,
      keys: Object.fromEntries(this.keys),
      starts: [...this.starts.entries()],
    };
    this.keys = new Map();
    this.starts = new Map();
    this.from = Infinity;
    this.to = -Infinity;
    this.requests = 0;
    return report;
  }
}
