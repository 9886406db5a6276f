/**
 * Allowance leases through the gateway: which requests reach the account object, and that the object
 * still hears of every one. The object counts its admit calls through its test seam.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { AccountDO } from "../../durable-objects/account/index.ts";
import { isExactContentKind, keyKind } from "../../lib/cluster/verdict.ts";
import { accountObjectName } from "../../lib/names.ts";
import { admin, createAccount, messageBody, postMessage, resetPolicy, usePolicy } from "../helpers.ts";

afterEach(resetPolicy);

const ROOMY = { requests: 1_000, inputTokens: 10_000_000, outputTokens: 10_000_000, exchangesPerDay: 100_000, concurrency: 100 };
// 8 requests an allowance (ttl 5 s): allowances come after 20 requests, and run out by use long before
// their time, however slow the machine; the 60 s window holds every request a test sends.
const LEASES = { tiers: { free: ROOMY }, quota: { allowance: { maxRequests: 8, ttlMs: 5_000 } } };
// Allowances that end by time within a second: what was admitted within them goes back alone (reconcile).
const SHORT_LEASES = { tiers: { free: ROOMY }, quota: { allowance: { maxRequests: 100, ttlMs: 1_000 } } };

/** Makes the object's reconcile calls fail until the returned function is called; it says how many failed. */
async function failReconciles(accountId: string): Promise<() => Promise<number>> {
  const stub = objectOf(accountId);
  await runInDurableObject(stub, (instance: AccountDO) => {
    const counted = instance as AccountDO & { failedReconciles?: number };
    counted.failedReconciles = 0;
    instance.beforeReconcile = () => {
      counted.failedReconciles = (counted.failedReconciles ?? 0) + 1;
      throw new Error("reconcile refused (test)");
    };
  });
  return () =>
    runInDurableObject(stub, (instance: AccountDO) => {
      instance.beforeReconcile = () => {};
      return (instance as AccountDO & { failedReconciles?: number }).failedReconciles ?? 0;
    });
}

function objectOf(accountId: string) {
  return env.ACCOUNTS.getByName(accountObjectName(accountId));
}

/** Counts the object's admit calls from now on. */
async function countAdmits(accountId: string): Promise<() => Promise<number>> {
  const stub = objectOf(accountId);
  await runInDurableObject(stub, (instance: AccountDO) => {
    const counted = instance as AccountDO & { admitCalls?: number };
    counted.admitCalls = 0;
    instance.beforeAdmit = () => {
      counted.admitCalls = (counted.admitCalls ?? 0) + 1;
    };
  });
  return () => runInDurableObject(stub, (instance: AccountDO) => (instance as AccountDO & { admitCalls?: number }).admitCalls ?? 0);
}

/** Counts the object's renew calls from now on. */
async function countRenewals(accountId: string): Promise<() => Promise<number>> {
  const stub = objectOf(accountId);
  await runInDurableObject(stub, (instance: AccountDO) => {
    const counted = instance as AccountDO & { renewCalls?: number };
    counted.renewCalls = 0;
    instance.beforeRenew = () => {
      counted.renewCalls = (counted.renewCalls ?? 0) + 1;
    };
  });
  return () => runInDurableObject(stub, (instance: AccountDO) => (instance as AccountDO & { renewCalls?: number }).renewCalls ?? 0);
}

async function send(key: string, n: number, options: Parameters<typeof postMessage>[2] = {}): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await postMessage(key, messageBody(), options);
    statuses.push(res.status);
    await res.arrayBuffer();
  }
  return statuses;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let tries = 0; tries < 500 && !done(value); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

describe("allowance leases through the gateway", () => {
  it("Should send every one of a brand-new account's first requests to the object", async () => {
    await usePolicy(LEASES);
    const account = await createAccount();
    await send(account.key, 1);
    const admits = await countAdmits(account.id);
    await send(account.key, 15);
    expect(await admits()).toBe(15);
  });

  it("Should admit most of a steady account's requests in the isolate, and the object still counts every one", async () => {
    await usePolicy(LEASES);
    const account = await createAccount();
    await send(account.key, 1);
    const admits = await countAdmits(account.id);
    const statuses = await send(account.key, 59);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const calls = await admits();
    // 19 requests of history go to the object; after that at most one in every few.
    expect(calls).toBeLessThan(35);
    // When the last allowance has been given back, the window holds exactly the 60 requests.
    const state = await eventually(() => objectOf(account.id).inspect(), (s) => s.usage.requests === 60 && s.usage.inFlight === 0);
    expect(state.usage.requests).toBe(60);
    expect(state.usage.inFlight).toBe(0);
    expect(state.recentDecisions).toHaveLength(50);
    // Every key of these identical requests was counted on each of them.
    expect(Math.max(...state.fingerprints.map((f) => f.count))).toBe(60);
  });

  it("Should renew a steady account's allowance in the background, so its requests wait for no admit call", async () => {
    await usePolicy(LEASES);
    const account = await createAccount();
    // Past the history an allowance needs: the isolate holds one, and renews it from here on.
    await send(account.key, 30);
    const admits = await countAdmits(account.id);
    const renewals = await countRenewals(account.id);
    const statuses = await send(account.key, 40);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // 40 requests are five allowances of 8: without renewals each would start with an admit call.
    expect(await admits()).toBeLessThanOrEqual(1);
    expect(await renewals()).toBeGreaterThanOrEqual(4);
    const state = await eventually(() => objectOf(account.id).inspect(), (s) => s.usage.requests === 70 && s.usage.inFlight === 0);
    expect(state.usage.requests).toBe(70);
    expect(state.usage.inFlight).toBe(0);
    expect(Math.max(...state.fingerprints.map((f) => f.count))).toBe(70);
  });

  it("Should go to the object at once for a request from another country", async () => {
    await usePolicy(LEASES);
    const account = await createAccount();
    await send(account.key, 30);
    const admits = await countAdmits(account.id);
    // Held: a request like the others stays in the isolate.
    let local = 0;
    for (let i = 0; i < 8 && local === 0; i++) {
      await send(account.key, 1);
      if ((await admits()) === 0) local++;
      else await countAdmits(account.id);
    }
    expect(local).toBe(1);
    const before = await admits();
    await send(account.key, 1, { cf: { country: "DE" } });
    expect((await admits()) - before).toBe(1);
  });

  it("Should end local admission within one allowance after a block override", async () => {
    await usePolicy(LEASES);
    const account = await createAccount();
    await send(account.key, 30);
    const res = await admin("POST", `/accounts/${account.id}/overrides`, { kind: "block", reason: "test" });
    expect(res.status).toBeLessThan(300);
    const statuses = await send(account.key, 12);
    // At most maxRequests (8) were already granted; every request after them is refused.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(8);
    expect(statuses.slice(8)).toEqual([403, 403, 403, 403]);
  });

  it("Should keep what a failed reconcile carried and deliver it with the account's next call", async () => {
    await usePolicy(SHORT_LEASES);
    const account = await createAccount();
    await send(account.key, 20);
    const restore = await failReconciles(account.id);
    // Sent faster than the ttl: the allowance granted among them ends by time, and its report goes alone.
    await send(account.key, 20);
    await eventually(
      () => runInDurableObject(objectOf(account.id), (instance: AccountDO) => (instance as AccountDO & { failedReconciles?: number }).failedReconciles ?? 0),
      (n) => n > 0,
    );
    const failed = await restore();
    expect(failed).toBeGreaterThan(0);
    // The next request goes to the object (its allowance is over) and carries the report the failure kept.
    await send(account.key, 1);
    const state = await eventually(() => objectOf(account.id).inspect(), (s) => s.usage.inFlight === 0 && Math.max(...s.fingerprints.map((f) => f.count)) === 41);
    // Every request's sample and decision reached the object, those of the failed reconcile included.
    expect(Math.max(...state.fingerprints.map((f) => f.count))).toBe(41);
    expect(state.recentDecisions).toHaveLength(41);
    expect(state.usage.requests).toBe(41);
  });

  it("Should list the allowances out on the account, with holder, remaining and expiry, in the admin API", async () => {
    await usePolicy(LEASES);
    const account = await createAccount();
    await send(account.key, 30);
    const res = await admin("GET", `/accounts/${account.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { state: { now: number; allowances: Array<{ id: string; holder: string; requests: number; remaining: number; slots: number; expiresAt: number; deadline: number }> } };
    expect(body.state.allowances.length).toBeGreaterThan(0);
    for (const a of body.state.allowances) {
      expect(a.holder).toMatch(/^isolate-[0-9a-f-]{36}$/);
      expect(a.requests).toBeGreaterThan(1);
      expect(a.remaining).toBeGreaterThanOrEqual(0);
      expect(a.remaining).toBeLessThan(a.requests);
      expect(a.slots).toBeGreaterThan(0);
      expect(a.expiresAt).toBeGreaterThan(body.state.now - 5_000);
      expect(a.deadline).toBeGreaterThan(a.expiresAt);
    }
  });

  it("Should end local admission within one allowance after a verdict only the object knows", async () => {
    await usePolicy(LEASES);
    const account = await createAccount();
    const body = messageBody({ system: "You are a careful assistant for a small shop." });
    for (let i = 0; i < 30; i++) await (await postMessage(account.key, body)).arrayBuffer();
    const state = await objectOf(account.id).inspect();
    const key = state.fingerprints.map((f) => f.key).find((k) => isExactContentKind(keyKind(k)));
    expect(key).toBeDefined();
    const now = Date.now();
    // Told to the object as a collector would, never to the isolate: a cap of 0 leaves the account nothing.
    await objectOf(account.id).applyClusterVerdicts([
      { cluster: key ?? "", verdict: "confirmed", capPerWindow: 0, reasons: ["test"], decidedAt: now, refreshedAt: now, signature: { bands: [], eliciting: false } },
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await postMessage(account.key, body);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // At most maxRequests (8) were already granted; every request after them meets the verdict.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(8);
    expect(statuses.slice(8).every((s) => s !== 200)).toBe(true);
  });
});
