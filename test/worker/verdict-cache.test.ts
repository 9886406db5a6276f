/** The edge isolate's verdict cache (worker/verdicts.ts): what it learns from admit answers and what it hands the next admit. */
import { beforeEach, describe, expect, it } from "vitest";
import type { AdmitResult, CachedVerdict, FeedVerdict } from "../../lib/decision.ts";
import { collectorIndex } from "../../lib/names.ts";
import { attachVerdicts, forgetVerdicts, learnVerdicts } from "../../worker/verdicts.ts";
import { admitRequest, testPolicy } from "../durable-objects/account-helpers.ts";
import { unique } from "../helpers.ts";

const policy = testPolicy({ clusters: { shards: 16 } });

function requestFor(accountId: string, keys: string[]) {
  const base = admitRequest(accountId, policy);
  return { ...base, fingerprint: { ...base.fingerprint, keys } };
}

function answer(feed?: AdmitResult["feed"], verdicts?: CachedVerdict[]): AdmitResult {
  return {
    action: "allow", enforced: true, reasons: [], risk: 0, leaseId: null, retryAfterSeconds: 0, clusters: [],
    limits: { windowSeconds: 60, resetSeconds: 60, requests: { limit: 1, remaining: 1 }, inputTokens: { limit: 1, remaining: 1 }, outputTokens: { limit: 1, remaining: 1 } },
    ...(feed ? { feed } : {}),
    ...(verdicts ? { verdicts } : {}),
  };
}

function fed(cluster: string, verdict: CachedVerdict["verdict"], decidedAt: number, version: number): FeedVerdict {
  return { cluster, verdict, capPerWindow: verdict === "confirmed" ? 1 : null, reasons: [], decidedAt, refreshedAt: decidedAt, signature: { bands: [], eliciting: true }, version };
}

/** Two accounts of different collectors. */
function twoCollectors(): [string, string] {
  const a = unique("a");
  let b = unique("b");
  while (collectorIndex(b, 16) === collectorIndex(a, 16)) b = unique("b");
  return [a, b];
}

beforeEach(forgetVerdicts);

describe("the edge's verdict cache", () => {
  it("Should hand every account's admit a feed verdict learned from another account's answer, for the request's keys only", () => {
    const [relay, member] = twoCollectors();
    const now = Date.now();
    learnVerdicts(requestFor(relay, []), answer({ version: now, verdicts: [fed("tls:camp", "confirmed", now, now)] }), policy);
    const request = requestFor(member, ["tls:camp", "asn:1"]);
    expect(attachVerdicts(request, policy)).toBe(true);
    expect(request.verdicts?.map((v) => v.cluster)).toEqual(["tls:camp"]);
    const other = requestFor(member, ["asn:1"]);
    expect(attachVerdicts(other, policy)).toBe(false);
    expect(other.verdicts).toBeUndefined();
  });

  it("Should ask each account's collector's feed from the version read from that collector", () => {
    const [a, b] = twoCollectors();
    const now = Date.now();
    learnVerdicts(requestFor(a, []), answer({ version: now + 5, verdicts: [] }), policy);
    const same = requestFor(a, []);
    attachVerdicts(same, policy);
    expect(same.feedSince).toBe(now + 5);
    // An older answer from the same collector never moves the version back.
    learnVerdicts(requestFor(a, []), answer({ version: now + 1, verdicts: [] }), policy);
    attachVerdicts(same, policy);
    expect(same.feedSince).toBe(now + 5);
    const other = requestFor(b, []);
    attachVerdicts(other, policy);
    expect(other.feedSince).toBe(0);
  });

  it("Should keep a verdict's end as none and let no older confirmed copy replace it", () => {
    const [relay, member] = twoCollectors();
    const now = Date.now();
    learnVerdicts(requestFor(relay, []), answer({ version: now, verdicts: [fed("tls:camp", "confirmed", now - 10_000, now)] }), policy);
    learnVerdicts(requestFor(relay, []), answer({ version: now + 1, verdicts: [fed("tls:camp", "suspect", now - 1_000, now + 1)] }), policy);
    // A member's own answer still carries the confirmed copy it held before it heard of the end.
    learnVerdicts(requestFor(member, []), answer(undefined, [fed("tls:camp", "confirmed", now - 10_000, 0)]), policy);
    const request = requestFor(member, ["tls:camp"]);
    expect(attachVerdicts(request, policy)).toBe(false);
    expect(request.verdicts).toEqual([{ cluster: "tls:camp", verdict: "none", capPerWindow: null, reasons: [], decidedAt: now - 1_000 }]);
  });
});
