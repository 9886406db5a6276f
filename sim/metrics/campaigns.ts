/**
 * Each campaign population against the gateway: when it was first acted on, first denied and first
 * confirmed, what it got before and after, how its share answered changed over its activity, and the
 * accounts it burned.
 */
import type { Generated } from "../generate.ts";
import { isAttack } from "../scenario.ts";
import type { SentRequest } from "./request.ts";

/**
 * What the gateway first did to a campaign's traffic. A degrade counts: a policy that answers a
 * campaign with clamped answers, or refuses it by region with 403, has found it as surely as a 429.
 */
export type Enforcement = "429 refusal" | "403 refusal" | "degrade";

export type Detection = {
  population: string;
  kind: string;
  accounts: number;
  /** Campaign seconds since the run started. */
  firstRequestS: number | null;
  firstDenialS: number | null;
  /** First denial minus first request. */
  timeToFirstDenialS: number | null;
  /** Its first attack request refused (429 or 403) or degraded; campaign seconds since the run started. */
  firstEnforcementS: number | null;
  /** First enforcement minus first request. */
  timeToFirstEnforcementS: number | null;
  firstEnforcement: Enforcement | null;
  firstConfirmedS: number | null;
  timeToConfirmedS: number | null;
  confirmedKeys: string[];
  leakedBeforeDenial: { exchanges: number; tokens: number };
  leakedAfterDenial: { exchanges: number; tokens: number };
  /** Share of the population's attack requests answered 200, in the first and last third of its activity. */
  okShareFirstThird: number | null;
  okShareLastThird: number | null;
  accountsUsed: number;
  accountsBlocked: number;
  accountsBurned: number;
  exchangesObtained: number;
  burnedPerMillionExchanges: number | null;
};

/** One GET /admin/clusters poll: which keys were confirmed when. */
export type VerdictPoll = { atWallMs: number; confirmed: string[] };

export type KeyOwners = Map<string, { population: number; share: number; accounts: number }>;

type Track = { first: number; firstDenial: number; firstEnforcement: number; enforcement: Enforcement | null; times: number[]; oks: number[] };

/**
 * A refusal, or a 200 that was degraded: answered shorter than unclamped, or (with the decision log)
 * under an enforced degrade decision even where the clamp did not shorten this answer. A shadow
 * decision enforces nothing.
 */
function enforcementOf(r: SentRequest): Enforcement | null {
  if (r.status === 429) return "429 refusal";
  if (r.status === 403) return "403 refusal";
  if (r.status !== 200) return null;
  if (r.degraded || (r.decision?.enforced === true && r.decision.action === "degrade")) return "degrade";
  return null;
}

/** The campaigns' attack requests, one at a time, and per campaign population what detection looked like. */
export class CampaignTally {
  private readonly tracks = new Map<number, Track>();
  // Sent in schedule order, so the last write is the account's last request.
  private readonly lastStatus = new Map<number, number>();
  private readonly blocked = new Map<number, Set<number>>();
  private readonly answered = new Map<number, number>();

  add(r: SentRequest): void {
    if (!r.attack) return;
    const { status, at } = r;
    this.lastStatus.set(r.account, status);
    let track = this.tracks.get(r.population);
    if (!track) this.tracks.set(r.population, (track = { first: Infinity, firstDenial: Infinity, firstEnforcement: Infinity, enforcement: null, times: [], oks: [] }));
    track.first = Math.min(track.first, at);
    if (status === 429 || status === 403) track.firstDenial = Math.min(track.firstDenial, at);
    const enforcement = enforcementOf(r);
    if (enforcement !== null && at < track.firstEnforcement) {
      track.firstEnforcement = at;
      track.enforcement = enforcement;
    }
    track.times.push(at);
    track.oks.push(status === 200 ? r.tokens : -1);
    if (status === 403) {
      let set = this.blocked.get(r.population);
      if (!set) this.blocked.set(r.population, (set = new Set()));
      set.add(r.account);
    }
    if (status === 200) this.answered.set(r.population, (this.answered.get(r.population) ?? 0) + 1);
  }

  /**
   * `keyOwners`: which population holds each fingerprint key (a key counts as the campaign's when it
   * holds ≥ 80 % of at least two accounts); `campaignS` turns wall milliseconds into campaign seconds.
   */
  finish(gen: Generated, keyOwners: KeyOwners, polls: readonly VerdictPoll[], campaignS: (wallMs: number) => number): Detection[] {
    const { scenario, accounts } = gen;
    const detection: Detection[] = [];
    scenario.populations.forEach((pop, p) => {
      if (!isAttack(pop)) return;
      const track = this.tracks.get(p);
      const firstRequestS = track && Number.isFinite(track.first) ? campaignS(track.first) : null;
      const firstDenialS = track && Number.isFinite(track.firstDenial) ? campaignS(track.firstDenial) : null;
      const firstEnforcementS = track && Number.isFinite(track.firstEnforcement) ? campaignS(track.firstEnforcement) : null;
      const owned = new Set([...keyOwners].filter(([, o]) => o.population === p && o.share >= 0.8 && o.accounts >= 2).map(([k]) => k));
      let firstConfirmedS: number | null = null;
      let confirmedKeys: string[] = [];
      for (const poll of polls) {
        const mine = poll.confirmed.filter((k) => owned.has(k));
        if (mine.length > 0) {
          firstConfirmedS ??= campaignS(poll.atWallMs);
          confirmedKeys = [...new Set([...confirmedKeys, ...mine])];
        }
      }
      const before = { exchanges: 0, tokens: 0 };
      const after = { exchanges: 0, tokens: 0 };
      // [requests, ok] in the first third of the population's activity, then in the last third.
      const thirds: [number, number, number, number] = [0, 0, 0, 0];
      if (track && track.times.length > 0) {
        const t0 = track.first;
        // A loop, not Math.max(...): 100k arguments overflow the stack.
        let t1 = t0;
        for (const at of track.times) if (at > t1) t1 = at;
        const span = Math.max(1, t1 - t0);
        track.times.forEach((at, k) => {
          const tokens = track.oks[k] ?? -1;
          if (tokens >= 0) {
            const side = at < track.firstDenial ? before : after;
            side.exchanges++;
            side.tokens += tokens;
          }
          const third = (at - t0) / span;
          if (third < 1 / 3) {
            thirds[0]++;
            if (tokens >= 0) thirds[1]++;
          } else if (third >= 2 / 3) {
            thirds[2]++;
            if (tokens >= 0) thirds[3]++;
          }
        });
      }
      let used = 0;
      let burned = 0;
      const blocked = this.blocked.get(p) ?? new Set<number>();
      for (const [a, status] of this.lastStatus) {
        if (accounts[a]?.population !== p) continue;
        used++;
        if (status === 429 || status === 403 || blocked.has(a)) burned++;
      }
      const obtained = this.answered.get(p) ?? 0;
      detection.push({
        population: pop.name,
        kind: pop.kind,
        accounts: pop.accounts,
        firstRequestS,
        firstDenialS,
        timeToFirstDenialS: firstRequestS !== null && firstDenialS !== null ? firstDenialS - firstRequestS : null,
        firstEnforcementS,
        timeToFirstEnforcementS: firstRequestS !== null && firstEnforcementS !== null ? firstEnforcementS - firstRequestS : null,
        firstEnforcement: track?.enforcement ?? null,
        firstConfirmedS,
        timeToConfirmedS: firstRequestS !== null && firstConfirmedS !== null ? Math.max(0, firstConfirmedS - firstRequestS) : null,
        confirmedKeys,
        leakedBeforeDenial: before,
        leakedAfterDenial: after,
        okShareFirstThird: thirds[0] > 0 ? thirds[1] / thirds[0] : null,
        okShareLastThird: thirds[2] > 0 ? thirds[3] / thirds[2] : null,
        accountsUsed: used,
        accountsBlocked: blocked.size,
        accountsBurned: burned,
        exchangesObtained: obtained,
        burnedPerMillionExchanges: obtained > 0 ? (burned / obtained) * 1_000_000 : null,
      });
    });
    return detection;
  }
}
