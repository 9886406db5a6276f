import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { AccountState } from "../../../lib/decision.ts";
import { tlsFeatures, tlsKeyHash } from "../../../lib/fingerprint/tls.ts";
import { admin, createAccount, gateway, messageBody, postMessage, unique } from "../../helpers.ts";
import { expectError, json, seedComponent, seedEdge } from "./helpers.ts";

type Indicator = { type: string; value: string };
type Export = { format: string; version: number; indicators: Indicator[]; omitted: Record<string, number> };
type Import = {
  id: string;
  source: string;
  indicators: number;
  rejected: number;
  createdAt: string;
  expiresAt: string;
  active: boolean;
  matches: number;
  lastMatchedAt: string | null;
};
type Echo = { headers: Record<string, string> };

const inADay = () => new Date(Date.now() + 86_400_000).toISOString();
const created: string[] = [];

afterEach(async () => {
  for (const id of created.splice(0)) await admin("DELETE", `/indicators/imports/${id}`);
});

/** A campaign's client: its own ASN, a /24 of its own, one TLS stack. */
function campaign() {
  const octet = Math.floor(Math.random() * 250);
  const asn = 4_200_000_000 + Math.floor(Math.random() * 90_000_000);
  const cf = { asn, country: "US", tlsVersion: "TLSv1.3", tlsCipher: "AEAD-AES128-GCM-SHA256", tlsClientCiphersSha1: `${unique("ciphers")}=`, tlsClientExtensionsSha1: `${unique("ext")}=` };
  const tls = `tls:${tlsKeyHash(tlsFeatures(cf)) ?? ""}`;
  return { cf, ip: (host: number) => `198.18.${octet}.${host}`, keys: { asn: `asn:${asn}`, prefix: `prefix:198.18.${octet}.0/24`, tls } };
}

async function importDocument(document: unknown, source = "peer-gateway"): Promise<Import> {
  const res = await admin("POST", "/indicators/imports", { source, expiresAt: inADay(), document });
  expect(res.status).toBe(201);
  const body = await json<{ import: Import }>(res);
  created.push(body.import.id);
  return body.import;
}

async function exportNow(): Promise<Export> {
  const res = await admin("GET", "/indicators");
  expect(res.status).toBe(200);
  return json<Export>(res);
}

async function stateOf(accountId: string): Promise<AccountState> {
  return (await json<{ state: AccountState }>(await admin("GET", `/accounts/${accountId}`))).state;
}

describe("indicator import round trip", () => {
  it("should give a campaign's first requests at the importing gateway the shared_indicator signal", async () => {
    // Gateway A: a confirmed campaign on one ASN, /24 and TLS stack, exported.
    const c = campaign();
    const members = [unique("hydra"), unique("hydra")];
    const keys = [c.keys.asn, c.keys.prefix, c.keys.tls];
    for (const m of members) for (const key of keys) await seedEdge(m, key);
    const component = await seedComponent({ members, keys, verdict: "confirmed" });
    const exported = await exportNow();
    for (const value of [c.keys.asn.slice(4), c.keys.prefix.slice(7), c.keys.tls.slice(4)]) {
      expect(exported.indicators.some((i) => i.value === value)).toBe(true);
    }
    // Gateway B has never seen the campaign: forget A's local knowledge before importing.
    await env.DB.prepare("DELETE FROM account_fingerprints WHERE account_id IN (?, ?)").bind(members[0], members[1]).run();
    await env.DB.prepare("DELETE FROM clusters WHERE id = ?").bind(component).run();

    const imported = await importDocument(exported);
    expect(imported).toMatchObject({ source: "peer-gateway", active: true });
    expect(imported.id).toMatch(/^imp_[0-9a-f]{32}$/);
    expect(imported.indicators).toBeGreaterThanOrEqual(3);

    // The campaign's first request at B, from a fresh account.
    const fresh = await createAccount();
    const res = await postMessage(fresh.key, messageBody(), { cf: c.cf, headers: { "cf-connecting-ip": c.ip(9), "x-demo-echo": "1" } });
    expect(res.status).toBe(200);
    const reasons = (await json<Echo>(res)).headers["x-distillguard-reasons"] ?? "";
    for (const code of ["indicator.asn", "indicator.prefix", "indicator.tls"]) expect(reasons).toContain(code);

    const state = await stateOf(fresh.id);
    expect(state.risk.reasons.map((r) => r.signal)).toContain("shared_indicator");
    expect(state.recentDecisions[0]?.reasons).toEqual(expect.arrayContaining(["indicator.asn", "indicator.prefix", "indicator.tls"]));
    // Never a block by itself: the default weight only reaches the tag threshold.
    expect(state.recentDecisions[0]?.action).toBe("tag");
  });

  it("should count the requests that matched each import, and only those", async () => {
    const c = campaign();
    const hit = await importDocument({ format: "distillguard-indicators", version: 1, indicators: [{ type: "prefix", value: c.keys.prefix.slice(7) }] });
    const missed = await importDocument({ format: "distillguard-indicators", version: 1, indicators: [{ type: "asn", value: String(c.cf.asn + 1) }] });
    expect(hit).toMatchObject({ matches: 0, lastMatchedAt: null });
    // Enough quota for a request every 250 ms while a batch is pending.
    const account = await createAccount({ tier: "scale" });
    const listed = async () => new Map((await json<{ imports: Import[] }>(await admin("GET", "/indicators/imports"))).imports.map((i) => [i.id, i]));
    // The edge adds its counts to D1 in batches (at most every few seconds per isolate): send matching
    // requests until one batch has landed.
    let counted: Import | undefined;
    for (let i = 0; i < 60 && !(counted && counted.matches > 0); i++) {
      const res = await postMessage(account.key, messageBody(), { headers: { "cf-connecting-ip": c.ip(7) } });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 250));
      counted = (await listed()).get(hit.id);
    }
    expect(counted?.matches).toBeGreaterThan(0);
    expect(Date.parse(counted?.lastMatchedAt ?? "")).toBeGreaterThan(Date.parse(hit.createdAt) - 1);
    expect((await listed()).get(missed.id)).toMatchObject({ matches: 0, lastMatchedAt: null });
  });

  it("should leave honest requests alone and stop matching once the import is deleted", async () => {
    const c = campaign();
    const imp = await importDocument({ format: "distillguard-indicators", version: 1, indicators: [{ type: "prefix", value: c.keys.prefix.slice(7) }] });
    const honest = await createAccount();
    const elsewhere = await postMessage(honest.key, messageBody(), { headers: { "cf-connecting-ip": "192.0.2.10", "x-demo-echo": "1" } });
    expect((await json<Echo>(elsewhere)).headers["x-distillguard-reasons"] ?? "").not.toContain("indicator.");

    const matched = await createAccount();
    const before = await postMessage(matched.key, messageBody(), { headers: { "cf-connecting-ip": c.ip(3), "x-demo-echo": "1" } });
    expect((await json<Echo>(before)).headers["x-distillguard-reasons"]).toContain("indicator.prefix");

    const del = await admin("DELETE", `/indicators/imports/${imp.id}`);
    expect(del.status).toBe(200);
    expect((await json<{ deleted: Import }>(del)).deleted.id).toBe(imp.id);
    const after = await postMessage((await createAccount()).key, messageBody(), { headers: { "cf-connecting-ip": c.ip(4), "x-demo-echo": "1" } });
    expect((await json<Echo>(after)).headers["x-distillguard-reasons"] ?? "").not.toContain("indicator.");
    expect((await admin("DELETE", `/indicators/imports/${imp.id}`)).status).toBe(404);
  });

  it("should not re-export an imported indicator unless local accounts carried it too", async () => {
    const c = campaign();
    await importDocument({
      format: "distillguard-indicators",
      version: 1,
      indicators: [{ type: "tls", value: c.keys.tls.slice(4) }, { type: "asn", value: c.keys.asn.slice(4) }],
    });
    // A local confirmed component that took the imported keys in (say, an operator linked it by hand).
    const local = unique("local");
    await seedEdge(local, c.keys.asn);
    await seedComponent({ members: [local], keys: [c.keys.tls, c.keys.asn], verdict: "confirmed" });
    const doc = await exportNow();
    expect(doc.indicators.find((i) => i.value === c.keys.tls.slice(4))).toBeUndefined();
    expect(doc.indicators.find((i) => i.value === c.keys.asn.slice(4))).toMatchObject({ type: "asn" });
    expect(doc.omitted.imported).toBeGreaterThanOrEqual(1);
  });
});

describe("POST /admin/indicators/imports", () => {
  it("should count indicators it cannot match or whose value has the wrong shape as rejected", async () => {
    const imp = await importDocument({
      format: "distillguard-indicators",
      version: 1,
      generatedAt: "2026-11-30T00:00:00.000Z",
      indicators: [
        { type: "tls", value: "abcdef0123456789", clusters: ["c1"], accounts: 40 },
        { type: "tls", value: "abcdef0123456789" },
        { type: "prefix", value: "198.18.7.0/24" },
        { type: "prefix", value: "198.18.7.7/32" },
        { type: "tls", value: "Think step by step SECRET" },
        { type: "payment", value: "pm_123" },
        { type: "combination", value: "payment+tls:abcdef0123" },
      ],
    });
    expect(imp).toMatchObject({ indicators: 2, rejected: 4 });
  });

  it("should refuse a document that is not an indicator export, and an expiry in the past or too far away", async () => {
    const doc = { format: "distillguard-indicators", version: 1, indicators: [{ type: "asn", value: "64500" }] };
    const cases = [
      { source: "x", expiresAt: inADay(), document: { ...doc, format: "stix" } },
      { source: "x", expiresAt: inADay(), document: { ...doc, version: 2 } },
      { source: "x", expiresAt: "2020-01-01T00:00:00Z", document: doc },
      { source: "x", expiresAt: new Date(Date.now() + 400 * 86_400_000).toISOString(), document: doc },
      { source: "", expiresAt: inADay(), document: doc },
      { source: "x", expiresAt: inADay(), document: doc, extra: true },
      { source: "x", expiresAt: inADay(), document: { ...doc, indicators: [{ type: "payment", value: "pm_1" }] } },
    ];
    for (const body of cases) await expectError(await admin("POST", "/indicators/imports", body), 400, "invalid_request_error");
  });

  it("should list imports newest first and require the admin token", async () => {
    const a = await importDocument({ format: "distillguard-indicators", version: 1, indicators: [{ type: "asn", value: "64501" }] }, "first");
    const b = await importDocument({ format: "distillguard-indicators", version: 1, indicators: [{ type: "asn", value: "64502" }] }, "second");
    const list = await json<{ imports: Import[] }>(await admin("GET", "/indicators/imports"));
    const ids = list.imports.map((i) => i.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    expect(list.imports.find((i) => i.id === a.id)).toMatchObject({ source: "first", indicators: 1, rejected: 0, active: true });
    expect((await gateway("/admin/indicators/imports")).status).toBe(401);
    const unauthorised = await gateway("/admin/indicators/imports", { method: "POST", body: "{}", headers: { authorization: "Bearer nope" } });
    expect(unauthorised.status).toBe(401);
    await expectError(await admin("DELETE", "/indicators/imports/not-an-id"), 400, "invalid_request_error");
  });
});
