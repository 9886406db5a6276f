import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountState, Override } from "../../../lib/decision.ts";
import { accountObjectName, clusterCollectorName, collectorIndex } from "../../../lib/names.ts";
import { DEFAULT_POLICY } from "../../../lib/policy/index.ts";
import { admin, createAccount, postMessage, unique } from "../../helpers.ts";
import { expectError, json } from "./helpers.ts";

type AuditRow = { kind: string; action: string; detail: string };

async function auditOf(accountId: string): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare("SELECT kind, action, detail FROM audit_log WHERE account_id = ? AND kind = 'override' ORDER BY id")
    .bind(accountId)
    .all<AuditRow>();
  return results;
}

async function stateOf(accountId: string): Promise<AccountState> {
  return (await json<{ state: AccountState }>(await admin("GET", `/accounts/${accountId}`))).state;
}

describe("POST /admin/accounts/{id}/overrides", () => {
  it("should block the account at once and audit who, why and until when", async () => {
    const account = await createAccount();
    expect((await postMessage(account.key)).status).toBe(200);
    const res = await admin("POST", `/accounts/${account.id}/overrides`, { kind: "block", reason: "ticket T-1: confirmed reseller", expiresInSeconds: 3600 });
    expect(res.status).toBe(201);
    const { override } = await json<{ override: Override }>(res);
    expect(override).toMatchObject({ kind: "block", multiplier: null, reason: "ticket T-1: confirmed reseller" });
    expect(override.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);

    const blocked = await postMessage(account.key);
    expect(blocked.status).toBe(403);
    expect(await json<{ error: { type: string } }>(blocked)).toMatchObject({ error: { type: "permission_error" } });
    expect((await stateOf(account.id)).overrides).toEqual([override]);

    const [entry] = await auditOf(account.id);
    expect(entry?.action).toBe("block");
    expect(JSON.parse(entry?.detail ?? "null")).toMatchObject({ op: "set", reason: "ticket T-1: confirmed reseller", multiplier: null });
  });

  it("should find the blocked request in GET /admin/audit once the account object flushes its decisions", async () => {
    const account = await createAccount();
    await admin("POST", `/accounts/${account.id}/overrides`, { kind: "block", reason: "abuse report AR-9" });
    const res = await postMessage(account.key);
    expect(res.status).toBe(403);
    await runDurableObjectAlarm(env.ACCOUNTS.getByName(accountObjectName(account.id)));
    // The account object hands its decisions to its cluster collector, which writes them to D1.
    await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(collectorIndex(account.id, DEFAULT_POLICY.clusters.shards))).flushNow();
    const page = await json<{ entries: Array<{ kind: string; action: string; enforced: boolean; requestId: string; reasons: string[]; detail: unknown }> }>(
      await admin("GET", `/audit?account=${account.id}`),
    );
    const decision = page.entries.find((e) => e.kind === "decision");
    expect(decision).toMatchObject({ action: "block", enforced: true, requestId: res.headers.get("request-id") });
    expect(decision?.reasons).toContain("override.block");
    expect(page.entries.find((e) => e.kind === "override")).toMatchObject({ action: "block", detail: { reason: "abuse report AR-9" } });
  });

  it("should store a quota multiplier and an absolute expiry", async () => {
    const account = await createAccount();
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await admin("POST", `/accounts/${account.id}/overrides`, { kind: "quota", multiplier: 3, reason: "launch week", expiresAt });
    expect(res.status).toBe(201);
    const { override } = await json<{ override: Override }>(res);
    expect(override).toMatchObject({ kind: "quota", multiplier: 3, expiresAt: Date.parse(expiresAt) });
    expect((await stateOf(account.id)).overrides).toContainEqual(override);
  });

  it("should name each invalid field", async () => {
    const account = await createAccount();
    const cases: Array<[unknown, string]> = [
      [{ kind: "block" }, "body.reason"],
      [{ kind: "ban", reason: "x" }, "body.kind"],
      [{ kind: "block", reason: "" }, "body.reason"],
      [{ kind: "block", reason: "x".repeat(501) }, "body.reason"],
      [{ kind: "quota", reason: "x" }, "body.multiplier"],
      [{ kind: "quota", multiplier: 0, reason: "x" }, "body.multiplier"],
      [{ kind: "quota", multiplier: 101, reason: "x" }, "body.multiplier"],
      [{ kind: "block", multiplier: 2, reason: "x" }, "body.multiplier"],
      [{ kind: "block", reason: "x", expiresInSeconds: 1.5 }, "body.expiresInSeconds"],
      [{ kind: "block", reason: "x", expiresAt: "tomorrow" }, "body.expiresAt"],
      [{ kind: "block", reason: "x", expiresAt: "2001-01-01T00:00:00Z" }, "body.expiresAt"],
      [{ kind: "block", reason: "x", expiresAt: new Date(Date.now() + 60_000).toISOString(), expiresInSeconds: 60 }, "body.expiresAt"],
      [{ kind: "block", reason: "x", extra: true }, "body"],
      [undefined, "body"],
    ];
    for (const [body, field] of cases) {
      const error = await expectError(await admin("POST", `/accounts/${account.id}/overrides`, body), 400, "invalid_request_error");
      expect(error.error.message, JSON.stringify(body)).toContain(field);
    }
    expect(await auditOf(account.id)).toEqual([]);
  });

  it("should answer an unknown account with 404 and create nothing", async () => {
    const id = unique("nobody");
    await expectError(await admin("POST", `/accounts/${id}/overrides`, { kind: "block", reason: "x" }), 404, "not_found_error");
    expect(await auditOf(id)).toEqual([]);
  });
});

describe("DELETE /admin/accounts/{id}/overrides/{kind}", () => {
  it("should lift a block and audit the clearing", async () => {
    const account = await createAccount();
    await admin("POST", `/accounts/${account.id}/overrides`, { kind: "block", reason: "suspected hydra" });
    expect((await postMessage(account.key)).status).toBe(403);
    const res = await admin("DELETE", `/accounts/${account.id}/overrides/block?reason=false%20positive`);
    expect(res.status).toBe(200);
    expect(await json<{ cleared: Override }>(res)).toMatchObject({ cleared: { kind: "block", reason: "suspected hydra" } });
    expect((await postMessage(account.key)).status).toBe(200);
    expect((await stateOf(account.id)).overrides).toEqual([]);
    const entries = await auditOf(account.id);
    expect(entries.map((e) => e.action)).toEqual(["block", "clear_block"]);
    expect(JSON.parse(entries[1]?.detail ?? "null")).toEqual({ op: "clear", reason: "false positive", overrideReason: "suspected hydra" });
  });

  it("should answer 404 when there is no such override, 400 for an unknown kind", async () => {
    const account = await createAccount();
    await expectError(await admin("DELETE", `/accounts/${account.id}/overrides/allow`), 404, "not_found_error");
    const bad = await expectError(await admin("DELETE", `/accounts/${account.id}/overrides/ban`), 400, "invalid_request_error");
    expect(bad.error.message).toContain("path");
    await expectError(await admin("DELETE", `/accounts/${unique("nobody")}/overrides/block`), 404, "not_found_error");
  });
});
