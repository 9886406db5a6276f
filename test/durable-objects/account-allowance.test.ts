/**
 * Allowance leases against a real account object. Each "isolate" here is the edge's own logic
 * (lib/quota/allowance.ts, as worker/allowance.ts uses it), so two of them can hold allowances on one
 * account at once, as two isolates would, each renewing in the background as the edge does.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../durable-objects/account/index.ts";
import type { AdmitRequest, AdmitResult, AllowanceReport } from "../../lib/decision.ts";
import type { Policy } from "../../lib/policy/index.ts";
import { admitWithin, holdAllowance, isReturnable, localFit, returnOf, settleWithin, wantsRenewal, type HeldAllowance } from "../../lib/quota/index.ts";
import { admitRequest, newAccount, testPolicy } from "./account-helpers.ts";

type Stub = ReturnType<typeof newAccount>["stub"];

/** A policy whose allowances come quickly: one request of history, a 10 s window, a 5 s ttl. */
function leasePolicy(tier: Parameters<typeof testPolicy>[1] = {}): Policy {
  return testPolicy({ limits: { windowSeconds: 10 }, quota: { allowance: { minHistoryRequests: 1 } } }, tier);
}

/**
 * One isolate's view of one account, as worker/allowance.ts keeps it: the allowance it admits within,
 * the next one it asked for in the background once half of that was spent, and a report to send.
 */
class Isolate {
  held: HeldAllowance | null = null;
  next: HeldAllowance | null = null;
  draining: HeldAllowance[] = [];
  report: AllowanceReport = { admitted: [], returned: [] };
  renewal: Promise<unknown> | null = null;
  local = 0;
  synchronous = 0;
  renewed = 0;
  /** Renewals answered with "no longer qualifies". */
  refused = 0;
  /** Requests the object admitted with a lease of its own (never settled here). */
  leased = 0;
  private readonly holder = `isolate-${crypto.randomUUID()}`;

  constructor(
    private readonly stub: Stub,
    private readonly id: string,
    private readonly policy: Policy,
  ) {}

  /** One request: true when it was admitted (here or by the object). */
  async request(over: Partial<AdmitRequest> = {}): Promise<boolean> {
    const req = admitRequest(this.id, this.policy, over);
    if (this.tryLocal(req)) return true;
    if (this.renewal) {
      await this.renewal;
      if (this.tryLocal(req)) return true;
    }
    const result = await this.callObject(req);
    return result.leaseId !== null;
  }

  /** Gives back every allowance once none of its requests is in flight, and sends the report. */
  async flush(): Promise<void> {
    if (this.renewal) await this.renewal;
    this.end();
    this.end();
    this.sweep();
    const report = this.report;
    this.report = { admitted: [], returned: [] };
    await this.stub.reconcile(report);
  }

  private tryLocal(req: AdmitRequest): boolean {
    if (!this.held) return false;
    let fit = localFit(this.held, req, false, Date.now());
    if (fit === "spent" && this.next) {
      this.end();
      fit = this.held ? localFit(this.held, req, false, Date.now()) : "spent";
    }
    const held = this.held;
    if (fit !== "fits" || !held) {
      if (fit === "changed") {
        this.end();
        this.end();
      } else if (fit === "spent") this.end();
      return false;
    }
    const { leaseId, admission } = admitWithin(held, req, Date.now());
    this.report.admitted.push(admission);
    this.local++;
    // The answer comes back at once, with the origin's usage.
    settleWithin(held, { leaseId, usage: { inputTokens: 10, outputTokens: 20 }, status: 200 });
    if (this.next === null && this.renewal === null && wantsRenewal(held, Date.now())) {
      this.renewal = this.renew(req).finally(() => (this.renewal = null));
    }
    return true;
  }

  private async renew(req: AdmitRequest): Promise<void> {
    this.sweep();
    const report = this.report;
    this.report = { admitted: [], returned: [] };
    const sentAt = Date.now();
    const { account, policyJson, estimate, fingerprint } = req;
    const result = await this.stub.renew({ account, policyJson, estimate, fingerprint, holder: this.holder, report });
    this.renewed++;
    if (!result.qualifies) {
      this.refused++;
      this.end();
      this.end();
      return;
    }
    if (!result.allowance) return;
    const held = holdAllowance(result.allowance, req, sentAt, result.risk, result.limits, false);
    if (!this.held) this.held = held;
    else if (!this.next) this.next = held;
    else this.drain(held);
  }

  private async callObject(req: AdmitRequest): Promise<AdmitResult> {
    this.sweep();
    const wants = this.held === null && this.renewal === null;
    const report = this.report;
    this.report = { admitted: [], returned: [] };
    const sentAt = Date.now();
    const call = this.stub.admit({ ...req, wantsAllowance: wants, holder: this.holder, report });
    if (wants) this.renewal = call.finally(() => (this.renewal = null));
    const result = await call;
    this.synchronous++;
    if (result.leaseId !== null && !result.allowance) this.leased++;
    if (result.allowance) {
      const held = holdAllowance(result.allowance, req, sentAt, result.risk, result.limits);
      // The granting request is the allowance's first; its answer comes back at once too.
      settleWithin(held, { leaseId: result.leaseId ?? "", usage: { inputTokens: 10, outputTokens: 20 }, status: 200 });
      if (this.held) this.drain(held);
      else this.held = held;
    }
    return result;
  }

  private drain(held: HeldAllowance): void {
    held.ended = true;
    this.draining.push(held);
  }

  /** Ends the allowance admitted within; the next takes its place. */
  private end(): void {
    if (!this.held) return;
    this.drain(this.held);
    this.held = this.next;
    this.next = null;
  }

  private sweep(): void {
    const still: HeldAllowance[] = [];
    for (const held of this.draining) {
      if (isReturnable(held, Date.now())) this.report.returned.push(returnOf(held));
      else still.push(held);
    }
    this.draining = still;
  }
}

async function warm(stub: Stub, id: string, policy: Policy, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await stub.admit(admitRequest(id, policy, { settles: [] }));
}

describe("allowance leases on the account object", () => {
  it("Should never let two lease holders admit more than a limit of 10 under 100 concurrent requests", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy({ requests: 10 });
    await warm(stub, id, policy, 2);
    const a = new Isolate(stub, id, policy);
    const b = new Isolate(stub, id, policy);
    const admitted = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).request()));
    const total = 2 + admitted.filter(Boolean).length;
    expect(total).toBeLessThanOrEqual(10);
    // The allowance path was taken, or the bound would say nothing about it.
    expect(a.local + b.local).toBeGreaterThan(0);
    await a.flush();
    await b.flush();
    // Unused allowance is given back: the window holds exactly what was admitted, and only the
    // object's own leases (never settled here) still hold slots.
    const state = await stub.inspect();
    expect(state.usage.requests).toBe(total);
    expect(state.usage.inFlight).toBe(2 + a.leased + b.leased);
  });

  it("Should never let two holders that renew in the background admit more than a limit of 100 under 400 concurrent requests", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy({ requests: 100 });
    // History enough that grants are large (sized by rate): renewals then hold much of the limit.
    await warm(stub, id, policy, 20);
    const a = new Isolate(stub, id, policy);
    const b = new Isolate(stub, id, policy);
    const admitted = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? a : b).request()));
    const total = 20 + admitted.filter(Boolean).length;
    expect(total).toBeLessThanOrEqual(100);
    // Both held a next allowance beside the current one at some point, or the bound would say nothing about renewals.
    expect(a.renewed).toBeGreaterThan(0);
    expect(b.renewed).toBeGreaterThan(0);
    await a.flush();
    await b.flush();
    const state = await stub.inspect();
    expect(state.usage.requests).toBe(total);
    expect(state.usage.inFlight).toBe(20 + a.leased + b.leased);
    expect(state.allowances).toHaveLength(0);
  });

  it("Should keep a limit of 10 across two holders over many rounds of grants and returns", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy({ requests: 10 });
    await warm(stub, id, policy, 2);
    const a = new Isolate(stub, id, policy);
    const b = new Isolate(stub, id, policy);
    let total = 2;
    for (let round = 0; round < 5; round++) {
      const admitted = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).request()));
      total += admitted.filter(Boolean).length;
      await a.flush();
      await b.flush();
    }
    expect(total).toBeLessThanOrEqual(10);
    expect((await stub.inspect()).usage.requests).toBe(total);
  });

  it("Should send a brand-new account's first requests to the object and grant nothing before minHistoryRequests", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({ limits: { windowSeconds: 10 }, quota: { allowance: { minHistoryRequests: 5 } } }, { requests: 1_000 });
    const grants: boolean[] = [];
    for (let i = 0; i < 6; i++) grants.push((await stub.admit({ ...admitRequest(id, policy), wantsAllowance: true })).allowance !== undefined);
    expect(grants).toEqual([false, false, false, false, true, true]);
  });

  it("Should grant nothing to a request that carries a risk signal, and nothing after an override", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy();
    await warm(stub, id, policy, 3);
    const signalled = await stub.admit({ ...admitRequest(id, policy, { signals: ["client_mismatch"], reasons: ["client.tls_mismatch"] }), wantsAllowance: true });
    expect(signalled.leaseId).not.toBeNull();
    expect(signalled.allowance).toBeUndefined();

    const other = newAccount();
    await warm(other.stub, other.id, policy, 3);
    expect((await other.stub.admit({ ...admitRequest(other.id, policy), wantsAllowance: true })).allowance).toBeDefined();
    await other.stub.setOverride({ kind: "quota", multiplier: 2, reason: "test", expiresAt: null, createdAt: Date.now() });
    expect((await other.stub.admit({ ...admitRequest(other.id, policy), wantsAllowance: true })).allowance).toBeUndefined();
  });

  it("Should end local admission within one allowance after a block override", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy();
    await warm(stub, id, policy, 3);
    const isolate = new Isolate(stub, id, policy);
    expect(await isolate.request()).toBe(true);
    const granted = isolate.held?.grant.requests ?? 0;
    expect(granted).toBeGreaterThanOrEqual(2);
    await stub.setOverride({ kind: "block", multiplier: null, reason: "test", expiresAt: null, createdAt: Date.now() });
    const after: boolean[] = [];
    for (let i = 0; i < granted + 3; i++) after.push(await isolate.request());
    // What was already granted may still be used; the first call to the object is refused, and so is every one after.
    expect(after.filter(Boolean).length).toBeLessThanOrEqual(granted);
    expect(after.slice(granted)).toEqual([false, false, false]);
    expect(isolate.held).toBeNull();
  });

  it("Should end local admission at once for a request with a risk signal", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy();
    await warm(stub, id, policy, 3);
    const isolate = new Isolate(stub, id, policy);
    await isolate.request();
    expect(isolate.held).not.toBeNull();
    const before = isolate.synchronous;
    await isolate.request({ signals: ["cot_elicitation"], reasons: ["content.elicitation"] });
    expect(isolate.synchronous).toBe(before + 1);
    expect((await stub.inspect()).risk.reasons.map((r) => r.signal)).toContain("cot_elicitation");
  });

  it("Should record every locally admitted request: recent decisions, fingerprint counts and decision counts", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy();
    const fingerprint = { keys: ["asn:64500", "tls:abc"], country: "US", prefix: "203.0.113.0/24", model: "demo-model-1", elicitation: 0, thinking: false };
    for (let i = 0; i < 3; i++) await stub.admit(admitRequest(id, policy, { fingerprint }));
    const isolate = new Isolate(stub, id, policy);
    for (let i = 0; i < 4; i++) await isolate.request({ fingerprint });
    expect(isolate.local).toBeGreaterThan(0);
    await isolate.flush();
    const state = await stub.inspect();
    expect(state.recentDecisions).toHaveLength(7);
    expect(state.fingerprints.find((f) => f.key === "asn:64500")?.count).toBe(7);
    expect(state.usage.requests).toBe(7);
    const counts = await runInDurableObject(stub, (instance: AccountDO) => instance["outbox"].take(id)?.audit.counts ?? []);
    expect(counts.filter((c) => c.action === "allow").reduce((n, c) => n + c.count, 0)).toBe(7);
  });
  it("Should grant renewals beside the allowance still held, and never more than remains of a limit", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy({ requests: 40 });
    await warm(stub, id, policy, 3);
    const first = await stub.admit({ ...admitRequest(id, policy), wantsAllowance: true, holder: "isolate-a" });
    expect(first.allowance).toBeDefined();
    const { account, policyJson, estimate, fingerprint } = admitRequest(id, policy);
    // The warm-up, the granting request and its allowance.
    let counted = 3 + 1 + (first.allowance?.requests ?? 0);
    let renewals = 0;
    for (let i = 0; i < 20; i++) {
      const renewal = await stub.renew({ account, policyJson, estimate, fingerprint, holder: "isolate-a" });
      if (!renewal.allowance) break;
      renewals++;
      counted += renewal.allowance.requests;
    }
    expect(renewals).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(40);
    const state = await stub.inspect();
    // One holder, several allowances at once: each pre-debited, none given back yet.
    expect(state.allowances.filter((a) => a.holder === "isolate-a")).toHaveLength(1 + renewals);
    expect(state.usage.requests).toBe(counted);
  });

  it("Should refuse the next renewal after a block override, so an isolate admits no more than it already held", async () => {
    const { id, stub } = newAccount();
    const policy = leasePolicy({ requests: 1_000 });
    await warm(stub, id, policy, 3);
    const isolate = new Isolate(stub, id, policy);
    for (let i = 0; i < 12; i++) await isolate.request();
    await isolate.renewal;
    expect(isolate.renewed).toBeGreaterThan(0);
    const held = (isolate.held?.requestsLeft ?? 0) + (isolate.next?.requestsLeft ?? 0);
    await stub.setOverride({ kind: "block", multiplier: null, reason: "test", expiresAt: null, createdAt: Date.now() });
    const after: boolean[] = [];
    for (let i = 0; i < held + 10; i++) after.push(await isolate.request());
    expect(after.filter(Boolean).length).toBeLessThanOrEqual(held);
    // A renewal said so (not only the allowances running out), and every request after it is refused.
    expect(isolate.refused).toBeGreaterThan(0);
    expect(after.slice(held)).toEqual(Array.from({ length: 10 }, () => false));
    expect(isolate.held).toBeNull();
    expect(isolate.next).toBeNull();
  });

  it("Should end an isolate's local admission at its next renewal once a risk signal seen by another isolate raised the account's risk", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({ limits: { windowSeconds: 10 }, quota: { riskFloor: 5, allowance: { minHistoryRequests: 1 } } }, { requests: 1_000 });
    await warm(stub, id, policy, 3);
    const isolate = new Isolate(stub, id, policy);
    for (let i = 0; i < 12; i++) await isolate.request();
    await isolate.renewal;
    expect(isolate.local).toBeGreaterThan(0);
    const held = (isolate.held?.requestsLeft ?? 0) + (isolate.next?.requestsLeft ?? 0);
    // Another isolate's request with a signal: risk 8, above the allowance ceiling of 5.
    await stub.admit(admitRequest(id, policy, { signals: ["client_mismatch"], reasons: ["client.tls_mismatch"] }));
    const local = isolate.local;
    const synchronous = isolate.synchronous;
    for (let i = 0; i < held + 10; i++) expect(await isolate.request()).toBe(true);
    expect(isolate.local - local).toBeLessThanOrEqual(held);
    expect(isolate.refused).toBeGreaterThan(0);
    // Every request after that asks the object, which grants nothing more.
    expect(isolate.synchronous - synchronous).toBeGreaterThanOrEqual(10);
    expect(isolate.held).toBeNull();
  });
});
