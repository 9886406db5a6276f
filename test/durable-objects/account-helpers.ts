/** Builders for direct AccountDO RPC tests: the policy travels with each request, so no KV is involved. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AccountDO } from "../../durable-objects/account/index.ts";
import type { AdmitRequest } from "../../lib/decision.ts";
import { accountObjectName } from "../../lib/names.ts";
import { policySchema, policyText, type Policy, type PolicyInput, type TierLimits } from "../../lib/policy/index.ts";
import { unique } from "../helpers.ts";

export const SMALL: TierLimits = { requests: 10, inputTokens: 100_000, outputTokens: 50_000, exchangesPerDay: 10_000, concurrency: 1_000 };

/** A policy with one tier, "small", merged under `input`; risk actions off unless `input` sets them. */
export function testPolicy(input: PolicyInput = {}, tier: Partial<TierLimits> = {}): Policy {
  return policySchema.parse({
    tiers: { small: { ...SMALL, ...tier } },
    defaultTier: "small",
    actions: { tag: 100, degrade: 100, throttle: 100, block: 100 },
    ...input,
  });
}

export function newAccount() {
  const id = unique("acct");
  return { id, stub: env.ACCOUNTS.getByName(accountObjectName(id)) };
}

export function admitRequest(id: string, policy: Policy, over: Partial<AdmitRequest> = {}): AdmitRequest {
  return {
    account: { id, tier: "small", orgType: null, verified: false, billingCountry: null, paymentFingerprint: null },
    policyJson: policyText(policy),
    estimate: { inputTokens: 10, outputTokens: 100 },
    signals: [],
    reasons: [],
    fingerprint: { keys: [], country: "US", prefix: "203.0.113.0/24", model: "demo-model-1", elicitation: 0, thinking: false },
    deny: null,
    requestId: unique("req"),
    ...over,
  };
}

type AccountStub = DurableObjectStub<AccountDO>;

/** Moves the object's clock forward by `ms` (until the object is evicted); returns its new now. */
export function advanceClock(stub: AccountStub, ms: number): Promise<number> {
  return runInDurableObject<AccountDO, number>(stub, (instance) => {
    const previous = instance.clock;
    instance.clock = () => previous() + ms;
    return instance.clock();
  });
}

/**
 * Stops the object's clock where it is (until the object is evicted): a test that steps to just before a
 * boundary must not be pushed over it by the real time its own calls take on a loaded machine.
 */
export function freezeClock(stub: AccountStub): Promise<number> {
  return runInDurableObject<AccountDO, number>(stub, (instance) => {
    const frozen = instance.clock();
    instance.clock = () => frozen;
    return frozen;
  });
}

/** Makes the object's next `count` admits throw, as an unreachable or broken object would. */
export function failNextAdmits(stub: AccountStub, count: number): Promise<void> {
  return runInDurableObject<AccountDO, void>(stub, (instance) => {
    let left = count;
    instance.beforeAdmit = () => {
      if (left <= 0) return;
      left--;
      throw new Error("account object failure injected by a test");
    };
  });
}
