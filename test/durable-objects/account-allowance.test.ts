/**
 * Allowance leases against a real account object. Each "isolate" here is the edge's own logic
 * (lib/quota/allowance.ts, as worker/allowance.ts uses it), so two of them can hold allowances on one
 * account at once, as two isolates would.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../durable-objects/account/index.ts";
import type { AdmitRequest, AdmitResult, AllowanceReport } from "../../lib/decision.ts";
import type { Policy } from "../../lib/policy/index.ts";
import { admitWithin, holdAllowance, isReturnable, localFit, returnOf, settleWithin, type HeldAllowance } from "../../lib/quota/index.ts";
import { admitRequest, newAccount, testPolicy } from "./account-helpers.ts";

type Stub = ReturnType<typeof newAccount>["stub"];

/** A policy whose allowances come quickly: one request of history, a 10 s window, a 5 s ttl. */
function leasePolicy(tier: Parameters<typeof testPolicy>[1] = {}): Policy {
  return testPolicy({ limits: { windowSeconds: 10 }, quota: { allowance: { minHistoryRequests: 1 } } }, tier);
}

/** One isolate's view of one account: at most one allowance it admits within, and a report to send. */
class Isolate {
  held: HeldAllowance | null = null;
  draining: HeldAllowance[] = [];
  report: AllowanceReport = { admitted: [], returned: [] };
  renewal: Promise<unknown> | null = null;
  local = 0;
  synchronous = 0;
  /** Requests the object admitted with a lease of its own (never settled here). */
  leased = 0;

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
    if (this.held) this.end();
    this.sweep();
    const report = this.report;
    this.report = { admitted: [], returned: [] };
    await this.stub.reconcile(report);
  }

  private tryLocal(req: AdmitRequest): boolean {
    if (!this.held) return false;
    const fit = localFit(this.held, req, false, Date.now());
    if (fit !== "fits") {
      if (fit !== "busy") this.end();
      return false;
    }
    const { leaseId, admission } = admitWithin(this.held, req, Date.now());
    this.report.admitted.push(admission);
    this.local++;
    // The answer comes back at once, with the origin's usage.
    settleWithin(this.held, { leaseId, usage: { inputTokens: 10, outputTokens: 20 }, status: 200 });
    return true;
  }

  private async callObject(req: AdmitRequest): Promise<AdmitResult> {
    this.sweep();
    const wants = this.held === null && this.renewal === null;
    const report = this.report;
    this.report = { admitted: [], returned: [] };
    const sentAt = Date.now();
    const call = this.stub.admit({ ...req, wantsAllowance: wants, report });
    if (wants) this.renewal = call.finally(() => (this.renewal = null));
    const result = await call;
    this.synchronous++;
    if (result.leaseId !== null && !result.allowance) this.leased++;
    if (result.allowance) {
      const held = holdAllowance(result.allowance, req, sentAt, result.risk, result.limits);
      // The granting request is the allowance's first; its answer comes back at once too.
      settleWithin(held, { leaseId: result.leaseId ?? "", usage: { inputTokens: 10, outputTokens: 20 }, status: 200 });
      if (this.held) {
        held.ended = true;
        this.draining.push(held);
      } else {
        this.held = held;
      }
    }
    return result;
  }

  private end(): void {
    if (!this.held) return;
    this.held.ended = true;
    this.draining.push(this.held);
    this.held = null;
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
});
