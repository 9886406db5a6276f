/**
 * Rows the account object writes (each one billed), counted from its SQL cursors' `rowsWritten`: what an
 * honest account's steady traffic changes is written in batches, never a row per request where one per
 * call or per interval holds the same.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../durable-objects/account/index.ts";
import { WRITE_BEHIND_DELAY_MS } from "../../lib/account-alarm.ts";
import type { AllowanceGrant } from "../../lib/decision.ts";
import type { Policy } from "../../lib/policy/index.ts";
import { admitRequest, advanceClock, newAccount, testPolicy } from "./account-helpers.ts";

type Stub = ReturnType<typeof newAccount>["stub"];

/** Allowances after one request of history, in a 10 s window (a 5 s ttl). */
function leasePolicy(): Policy {
  return testPolicy({ limits: { windowSeconds: 10 }, quota: { allowance: { minHistoryRequests: 1 } } }, { requests: 1_000 });
}

/**
 * Counts, from now on, the rows each table gets written by the object's statements (read after the
 * calls of interest: a cursor's `rowsWritten` is final once its statement has run).
 */
async function countRows(stub: Stub): Promise<{ byTable: () => Record<string, number>; reset: () => void }> {
  let cursors: { table: string; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }[] = [];
  await runInDurableObject<AccountDO, void>(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    sql.exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
      const cursor = exec<T>(query, ...bindings);
      const table = /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)/i.exec(query)?.[1] ?? "other";
      cursors.push({ table, cursor });
      return cursor;
    };
  });
  return {
    byTable: () => {
      const out: Record<string, number> = {};
      for (const { table, cursor } of cursors) if (cursor.rowsWritten > 0) out[table] = (out[table] ?? 0) + cursor.rowsWritten;
      return out;
    },
    reset: () => {
      cursors = [];
    },
  };
}

function storedAllowances(stub: Stub): Promise<string[]> {
  return runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ id: string }>(`SELECT id FROM allowances ORDER BY id`).toArray().map((r) => r.id));
}

/** An account past its history with one allowance granted on an admit (its first request, in flight). */
async function withAllowance(): Promise<{ id: string; stub: Stub; policy: Policy; grant: AllowanceGrant }> {
  const { id, stub } = newAccount();
  const policy = leasePolicy();
  for (let i = 0; i < 3; i++) await stub.admit(admitRequest(id, policy));
  const first = await stub.admit({ ...admitRequest(id, policy), wantsAllowance: true, holder: "isolate-a" });
  if (!first.allowance) throw new Error("no allowance granted");
  return { id, stub, policy, grant: first.allowance };
}

/** The allowance given back having used all of it, as the edge reports it (its first request included). */
function usedUp(grant: AllowanceGrant) {
  const { estimate } = admitRequest("x", testPolicy());
  return { id: grant.id, requests: grant.requests + 1, inputTokens: grant.inputTokens + estimate.inputTokens, outputTokens: grant.outputTokens + estimate.outputTokens };
}

describe("rows the account object writes", () => {
  it("Should write one allowance row for a renewal that gives one back and takes the next, and keep only the new one stored", async () => {
    const { id, stub, policy, grant } = await withAllowance();
    const rows = await countRows(stub);
    const { account, policyJson, estimate, fingerprint } = admitRequest(id, policy);
    const renewal = await stub.renew({ account, policyJson, estimate, fingerprint, holder: "isolate-a", report: { admitted: [], returned: [usedUp(grant)] } });
    expect(renewal.allowance).toBeDefined();
    expect(rows.byTable().allowances).toBe(1);
    expect(await storedAllowances(stub)).toEqual([renewal.allowance?.id]);
    // And a restart finds what is held: the new allowance only.
    await evictDurableObject(stub);
    expect((await stub.inspect()).allowances.map((a) => a.id)).toEqual([renewal.allowance?.id]);
  });

  it("Should free a given-back allowance's slots at once and delete its row with the other writes behind when no grant takes it over", async () => {
    const { stub, grant } = await withAllowance();
    const held = (await stub.inspect()).usage.inFlight;
    await stub.reconcile({ admitted: [], returned: [usedUp(grant)] });
    expect((await stub.inspect()).allowances).toEqual([]);
    expect((await stub.inspect()).usage.inFlight).toBe(held - grant.slots);
    // Still stored until what is written behind is due, then deleted by the alarm set for it.
    expect(await storedAllowances(stub)).toEqual([grant.id]);
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now() + WRITE_BEHIND_DELAY_MS);
    await runDurableObjectAlarm(stub);
    expect(await storedAllowances(stub)).toEqual([grant.id]);
    await advanceClock(stub, WRITE_BEHIND_DELAY_MS);
    await runDurableObjectAlarm(stub);
    expect(await storedAllowances(stub)).toEqual([]);
  });

  it("Should count a given-back allowance whose row a restart found as held until its deadline, never as more room", async () => {
    const { id, stub, policy, grant } = await withAllowance();
    const before = (await stub.inspect()).usage.requests;
    await stub.reconcile({ admitted: [], returned: [usedUp(grant)] });
    await evictDurableObject(stub);
    const state = await stub.inspect();
    // Its slots stay taken, as for an isolate that went away; what it used stays counted once.
    expect(state.allowances.map((a) => a.id)).toEqual([grant.id]);
    expect(state.usage.requests).toBe(before);
    // A grant after the restart takes a row of its own.
    const next = await stub.admit({ ...admitRequest(id, policy), wantsAllowance: true, holder: "isolate-b" });
    expect(next.allowance).toBeDefined();
    expect((await storedAllowances(stub)).sort()).toEqual([grant.id, next.allowance?.id].sort());
  });

  it("Should write no counter row for an allowance given back having used all it was given", async () => {
    const { stub, grant } = await withAllowance();
    const before = await stub.inspect();
    const rows = await countRows(stub);
    await stub.reconcile({ admitted: [], returned: [usedUp(grant)] });
    expect(rows.byTable().counter_buckets).toBeUndefined();
    const after = await stub.inspect();
    expect(after.usage.requests).toBe(before.usage.requests);
    expect(after.usage.exchangesToday).toBe(before.usage.exchangesToday);
  });

  it("Should write nothing at a report interval's alarm for traffic on known keys, and each key's count and the recent decisions once, when due", async () => {
    const { id, stub } = newAccount();
    const policy = testPolicy({}, { requests: 1_000 });
    const keys = ["asn:64500", "hdr:rows-test"];
    const send = async () => {
      const req = admitRequest(id, policy);
      await stub.admit({ ...req, fingerprint: { ...req.fingerprint, keys } });
    };
    await send();
    const rows = await countRows(stub);
    for (let i = 0; i < 5; i++) await send();
    // The requests themselves: their counters (the window's bucket and the day's), once per request.
    expect(rows.byTable().fingerprints).toBeUndefined();
    expect(rows.byTable().recent_list).toBeUndefined();
    rows.reset();
    await advanceClock(stub, policy.clusters.reportIntervalSeconds * 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(rows.byTable()).toEqual({});
    await advanceClock(stub, WRITE_BEHIND_DELAY_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(rows.byTable()).toEqual({ fingerprints: keys.length, recent_list: 1 });
    await evictDurableObject(stub);
    const state = await stub.inspect();
    expect(state.recentDecisions).toHaveLength(6);
    expect(state.fingerprints.map((f) => f.count)).toEqual([6, 6]);
  });
});
