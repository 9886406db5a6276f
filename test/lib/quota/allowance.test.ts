import { describe, expect, it } from "vitest";
import type { AdmitRequest, AllowanceGrant, RateLimitSnapshot } from "../../../lib/decision.ts";
import { policyText, validatePolicy, type Policy } from "../../../lib/policy/index.ts";
import {
  admitWithin,
  allowanceTtlMs,
  firstLeaseId,
  holdAllowance,
  isReturnable,
  localFit,
  returnOf,
  settleWithin,
  sizeAllowance,
  wantsRenewal,
  withoutPreDebits,
  type AllowanceSizing,
  type CounterSeries,
} from "../../../lib/quota/index.ts";

const NOW = 10_000_000;
const LIMITS = { requests: 1_000, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 100_000, concurrency: 100 };

function policy(input: Record<string, unknown> = {}): Policy {
  const result = validatePolicy(input);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

/** A series with `requests` in a bucket as old as the window (or `sinceMs`), in both the window and the day. */
function used(requests: number, tokens = 0, sinceMs = 60_000): CounterSeries {
  const bucket = (value: number) => [{ start: NOW - sinceMs, end: NOW + 4_000, value }];
  return { requests: bucket(requests), inputTokens: bucket(tokens), outputTokens: bucket(tokens), exchanges: bucket(requests) };
}

function sizing(over: Partial<AllowanceSizing> = {}): AllowanceSizing {
  return { now: NOW, policy: policy(), limits: LIMITS, series: used(600), inFlight: 1, risk: 0, estimate: { inputTokens: 10, outputTokens: 100 }, ...over };
}

const LIMITS_SNAPSHOT: RateLimitSnapshot = {
  windowSeconds: 60,
  resetSeconds: 60,
  requests: { limit: 1_000, remaining: 900 },
  inputTokens: { limit: 1_000_000, remaining: 900_000 },
  outputTokens: { limit: 1_000_000, remaining: 900_000 },
};

function request(over: Partial<AdmitRequest> = {}): AdmitRequest {
  return {
    account: { id: "a", tier: "t", orgType: null, verified: false, billingCountry: null, paymentFingerprint: null },
    policyJson: policyText(policy()),
    estimate: { inputTokens: 10, outputTokens: 100 },
    signals: [],
    reasons: [],
    fingerprint: { keys: ["asn:1", "tls:x"], country: "US", prefix: "203.0.113.0/24", model: "m", elicitation: 0, thinking: false },
    deny: null,
    requestId: "r",
    ...over,
  };
}

const GRANT: AllowanceGrant = { id: "g", requests: 3, inputTokens: 100, outputTokens: 1_000, slots: 2, ttlMs: 5_000, keys: ["asn:1", "tls:x", "tpl:0:known"] };

describe("sizeAllowance", () => {
  it("Should grant nothing before the account has made minHistoryRequests requests in the day", () => {
    expect(sizeAllowance(sizing({ series: used(19) }))).toBeNull();
    expect(sizeAllowance(sizing({ series: used(20) }))).not.toBeNull();
  });

  it("Should grant nothing at or above the lower of the tag threshold and the risk floor", () => {
    expect(sizeAllowance(sizing({ risk: 10 }))).toBeNull();
    expect(sizeAllowance(sizing({ risk: 5, policy: policy({ quota: { riskFloor: 4 } }) }))).toBeNull();
  });

  it("Should size by rate: twice what the account sent per ttl, capped at maxRequests", () => {
    // 600 requests per 60 s window, ttl 10 s: 100 per ttl, 200 with headroom, capped at 64.
    expect(sizeAllowance(sizing())?.requests).toBe(64);
    // 60 per window: 10 per ttl, 20 with headroom.
    expect(sizeAllowance(sizing({ series: used(60) }))?.requests).toBe(20);
  });

  it("Should size a burst by the time it has lasted, not by the whole window", () => {
    // 20 requests over the last second: at least a ttl (10 s) of span, so 20 per ttl, 40 with headroom.
    expect(sizeAllowance(sizing({ series: used(20, 0, 1_000) }))?.requests).toBe(40);
  });

  it("Should keep a slow account on the synchronous path (a size below 2 is no grant)", () => {
    expect(sizeAllowance(sizing({ series: used(20), policy: policy({ quota: { allowance: { ttlMs: 1_000 } } }) }))).toBeNull();
  });

  it("Should shrink the size as risk rises toward the ceiling", () => {
    const calm = sizeAllowance(sizing({ series: used(60) }))?.requests ?? 0;
    const warm = sizeAllowance(sizing({ series: used(60), risk: 5 }))?.requests ?? 0;
    expect(warm).toBeLessThan(calm);
    expect(warm).toBeGreaterThan(0);
  });

  it("Should never grant more than half of what remains of any limit", () => {
    const near = sizeAllowance(sizing({ limits: { ...LIMITS, requests: 620 } }));
    expect(near?.requests).toBe(10);
    expect(sizeAllowance(sizing({ limits: { ...LIMITS, requests: 602 } }))).toBeNull();
    const slots = sizeAllowance(sizing({ limits: { ...LIMITS, concurrency: 9 }, inFlight: 1 }));
    expect(slots?.slots).toBe(4);
    const tokens = sizeAllowance(sizing({ limits: { ...LIMITS, outputTokens: 1_000 } }));
    expect(tokens?.outputTokens).toBe(500);
  });

  it("Should grant nothing when disabled, when no slot is free or when the budget holds no request like this one", () => {
    expect(sizeAllowance(sizing({ policy: policy({ quota: { allowance: { enabled: false } } }) }))).toBeNull();
    expect(sizeAllowance(sizing({ inFlight: 100 }))).toBeNull();
    expect(sizeAllowance(sizing({ limits: { ...LIMITS, outputTokens: 150 } }))).toBeNull();
  });

  it("Should keep the ttl within half the window", () => {
    expect(allowanceTtlMs(policy({ limits: { windowSeconds: 4 }, quota: { allowance: { ttlMs: 10_000 } } }))).toBe(2_000);
  });
});

describe("withoutPreDebits", () => {
  it("Should leave an allowance's pre-debit out of what the client is shown", () => {
    const series = used(100, 5_000);
    const shown = withoutPreDebits(series, [{ start: NOW - 60_000, end: NOW + 4_000, requests: 64, inputTokens: 1_000, outputTokens: 2_000 }]);
    expect(shown.requests[0]?.value).toBe(36);
    expect(shown.inputTokens[0]?.value).toBe(4_000);
    expect(shown.outputTokens[0]?.value).toBe(3_000);
    expect(shown.exchanges[0]?.value).toBe(100);
  });
});

describe("local admission within a held allowance", () => {
  it("Should admit requests like the granting one until the requests run out", () => {
    const held = holdAllowance(GRANT, request(), NOW, 0, LIMITS_SNAPSHOT);
    const fits: string[] = [];
    for (let i = 0; i < 4; i++) {
      const fit = localFit(held, request(), false, NOW + 1);
      fits.push(fit);
      if (fit === "fits") settleWithin(held, { leaseId: admitWithin(held, request(), NOW + 1).leaseId, usage: { inputTokens: 10, outputTokens: 100 }, status: 200 });
    }
    expect(fits).toEqual(["fits", "fits", "fits", "spent"]);
  });

  it("Should send a request with a signal, a reason, a verdict, a new key, another place, policy or profile to the object", () => {
    const held = holdAllowance(GRANT, request(), NOW, 0, LIMITS_SNAPSHOT);
    const fp = request().fingerprint;
    expect(localFit(held, request({ signals: ["cot_elicitation"] }), false, NOW)).toBe("changed");
    expect(localFit(held, request({ reasons: ["content.elicitation"] }), false, NOW)).toBe("changed");
    expect(localFit(held, request(), true, NOW)).toBe("changed");
    expect(localFit(held, request({ fingerprint: { ...fp, keys: [...fp.keys, "tpl:0:new"] } }), false, NOW)).toBe("changed");
    expect(localFit(held, request({ fingerprint: { ...fp, country: "DE" } }), false, NOW)).toBe("changed");
    expect(localFit(held, request({ fingerprint: { ...fp, prefix: "198.51.100.0/24" } }), false, NOW)).toBe("changed");
    expect(localFit(held, request({ policyJson: policyText(policy({ version: 2 })) }), false, NOW)).toBe("changed");
    expect(localFit(held, request({ account: { ...request().account, tier: "other" } }), false, NOW)).toBe("changed");
    expect(localFit(held, request({ units: 5 }), false, NOW)).toBe("changed");
    expect(localFit(held, request({ deny: { reason: "region", status: 403 } }), false, NOW)).toBe("changed");
    // A key the object had already seen on the account is no news.
    expect(localFit(held, request({ fingerprint: { ...fp, keys: [...fp.keys, "tpl:0:known"] } }), false, NOW)).toBe("fits");
  });

  it("Should stop before the object's own end and when the token budget cannot hold the request", () => {
    const held = holdAllowance(GRANT, request(), NOW, 0, LIMITS_SNAPSHOT);
    expect(localFit(held, request(), false, NOW + GRANT.ttlMs - 1)).toBe("spent");
    expect(localFit(held, request({ estimate: { inputTokens: 10, outputTokens: 1_001 } }), false, NOW)).toBe("spent");
  });

  it("Should hold no more requests in flight than its slots, the granting one counted", () => {
    const held = holdAllowance(GRANT, request(), NOW, 0, LIMITS_SNAPSHOT);
    expect(localFit(held, request(), false, NOW)).toBe("fits");
    admitWithin(held, request(), NOW);
    expect(localFit(held, request(), false, NOW)).toBe("busy");
    settleWithin(held, { leaseId: firstLeaseId(GRANT), usage: null, status: 200 });
    expect(localFit(held, request(), false, NOW)).toBe("fits");
  });

  it("Should give back what its requests really cost, the granting one included, once none is in flight", () => {
    const held = holdAllowance(GRANT, request(), NOW, 0, LIMITS_SNAPSHOT);
    const a = admitWithin(held, request(), NOW).leaseId;
    settleWithin(held, { leaseId: firstLeaseId(GRANT), usage: { inputTokens: 10, outputTokens: 16 }, status: 200 });
    const b = admitWithin(held, request(), NOW).leaseId;
    held.ended = true;
    settleWithin(held, { leaseId: a, usage: { inputTokens: 12, outputTokens: 16 }, status: 200 });
    expect(isReturnable(held, NOW)).toBe(false);
    // No usage on a 2xx: the reservation stands.
    settleWithin(held, { leaseId: b, usage: null, status: 200 });
    expect(isReturnable(held, NOW)).toBe(true);
    expect(returnOf(held)).toEqual({ id: "g", requests: 3, inputTokens: 32, outputTokens: 132 });
  });
});

describe("renewal: the next allowance, asked for while the current one runs", () => {
  const BIG: AllowanceGrant = { ...GRANT, requests: 8, slots: 8, inputTokens: 1_000, outputTokens: 10_000, ttlMs: 10_000 };

  it("Should ask once half of the requests are spent, and not before", () => {
    const held = holdAllowance(BIG, request(), NOW, 0, LIMITS_SNAPSHOT);
    const asks: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      admitWithin(held, request(), NOW + 1);
      asks.push(wantsRenewal(held, NOW + 1));
    }
    expect(asks).toEqual([false, false, false, true, true]);
  });

  it("Should ask once three quarters of its time have passed, however little was spent", () => {
    const held = holdAllowance(BIG, request(), NOW, 0, LIMITS_SNAPSHOT);
    const life = held.expiresAt - NOW;
    expect(wantsRenewal(held, NOW + Math.floor(life / 2))).toBe(false);
    expect(wantsRenewal(held, NOW + Math.floor(life * 0.74))).toBe(false);
    expect(wantsRenewal(held, NOW + Math.ceil(life * 0.75))).toBe(true);
  });

  it("Should never ask for an allowance that has ended", () => {
    const held = holdAllowance(BIG, request(), NOW, 0, LIMITS_SNAPSHOT);
    for (let i = 0; i < 6; i++) admitWithin(held, request(), NOW);
    held.ended = true;
    expect(wantsRenewal(held, NOW)).toBe(false);
  });

  it("Should hold a renewed allowance empty: every request and slot the isolate's, and give back only what it admitted", () => {
    const held = holdAllowance(GRANT, request(), NOW, 0, LIMITS_SNAPSHOT, false);
    expect(held.inFlight.size).toBe(0);
    // Both slots are free: no granting request holds one.
    const a = admitWithin(held, request(), NOW).leaseId;
    expect(localFit(held, request(), false, NOW)).toBe("fits");
    const b = admitWithin(held, request(), NOW).leaseId;
    expect(a).not.toBe(firstLeaseId(GRANT));
    expect(localFit(held, request(), false, NOW)).toBe("busy");
    settleWithin(held, { leaseId: a, usage: { inputTokens: 10, outputTokens: 16 }, status: 200 });
    settleWithin(held, { leaseId: b, usage: { inputTokens: 10, outputTokens: 16 }, status: 200 });
    admitWithin(held, request(), NOW);
    expect(localFit(held, request(), false, NOW)).toBe("spent");
    held.ended = true;
    for (const leaseId of [...held.inFlight.keys()]) settleWithin(held, { leaseId, usage: { inputTokens: 10, outputTokens: 16 }, status: 200 });
    expect(returnOf(held)).toEqual({ id: "g", requests: 3, inputTokens: 30, outputTokens: 48 });
  });
});
