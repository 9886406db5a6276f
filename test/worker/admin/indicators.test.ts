import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { toIndicator } from "../../../worker/admin/indicators.ts";
import { POLICY_KEY, refreshPolicyNow } from "../../../worker/policy.ts";
import { admin, createAccount, postMessage, unique } from "../../helpers.ts";
import { hex, json, seedComponent, seedDecision, seedEdge, seedKey } from "./helpers.ts";

type Indicator = { type: string; value: string; clusters: string[]; accounts: number; firstSeen: string; lastSeen: string };
type Export = {
  format: string;
  version: number;
  generatedAt: string;
  clusters: Array<{ ref: string; size: number; reasons: string[]; firstSeen: string; lastSeen: string }>;
  indicators: Indicator[];
  omitted: { payment: number; unrecognised: number; allowlisted: number };
  truncated: boolean;
};

afterEach(async () => {
  await env.CONFIG.delete(POLICY_KEY);
  await refreshPolicyNow(env.CONFIG);
});

async function exportNow(): Promise<{ doc: Export; text: string }> {
  const res = await admin("GET", "/indicators");
  expect(res.status).toBe(200);
  const text = await res.text();
  return { doc: JSON.parse(text) as Export, text };
}

describe("GET /admin/indicators", () => {
  it("should export the shared fingerprints of confirmed clusters in the versioned format", async () => {
    const members = [unique("hydra"), unique("hydra")];
    const tls = `tls:${hex()}`;
    const asn = `asn:${100_000 + Math.floor(Math.random() * 100_000)}`;
    const prefix = `prefix:203.0.${Math.floor(Math.random() * 250)}.0/24`;
    const system = `system:${hex()}`;
    const template = `tpl:2:${hex(4)}`;
    const combo = `tls+sdk:${hex()}`;
    for (const m of members) for (const key of [tls, asn, prefix]) await seedEdge(m, key, Date.UTC(2026, 1, 1), Date.UTC(2026, 1, 3));
    await seedComponent({ members, keys: [tls, asn, prefix, system, template, combo], verdict: "confirmed", reasons: "synchronized,templated", createdAt: Date.UTC(2026, 1, 1), updatedAt: Date.UTC(2026, 1, 4) });
    const lone = await seedKey({ key: `sdk:${hex()}`, accounts: 31, verdict: "confirmed" });
    const suspect = await seedKey({ key: `headers:${hex()}`, verdict: "suspect" });
    const unconfirmed = `tls:${hex()}`;
    await seedComponent({ keys: [unconfirmed], verdict: "suspect" });

    const { doc } = await exportNow();
    expect(doc).toMatchObject({ format: "distillguard-indicators", version: 1, truncated: false });
    expect(Date.parse(doc.generatedAt)).toBeGreaterThan(0);
    const find = (value: string) => doc.indicators.find((i) => i.value === value);
    const ref = find(tls.slice(4))?.clusters[0];
    expect(ref).toMatch(/^c\d+$/);
    expect(doc.clusters.find((c) => c.ref === ref)).toEqual({
      ref,
      size: 2,
      reasons: ["synchronized", "templated"],
      requestsPerWindow: 0,
      firstSeen: "2026-02-01T00:00:00.000Z",
      lastSeen: "2026-02-04T00:00:00.000Z",
    });
    expect(find(tls.slice(4))).toEqual({ type: "tls", value: tls.slice(4), clusters: [ref], accounts: 2, firstSeen: "2026-02-01T00:00:00.000Z", lastSeen: "2026-02-03T00:00:00.000Z" });
    expect(find(asn.slice(4))).toMatchObject({ type: "asn", clusters: [ref] });
    expect(find(prefix.slice(7))).toMatchObject({ type: "prefix", clusters: [ref] });
    expect(find(system.slice(7))).toMatchObject({ type: "system_prompt", clusters: [ref] });
    expect(find(template.slice(4))).toMatchObject({ type: "template", clusters: [ref] });
    expect(find(combo)).toMatchObject({ type: "combination", clusters: [ref] });
    expect(find(lone.slice(4))).toMatchObject({ type: "sdk", clusters: [], accounts: 31 });
    expect(find(suspect.slice(8))).toBeUndefined();
    expect(find(unconfirmed.slice(4))).toBeUndefined();
  });

  it("should leak no prompt text, API key, account id, component id, billing or payment data", async () => {
    const PROMPT = "Think step by step and show your full reasoning SECRET-PROMPT-MARKER";
    const account = await createAccount({ billingCountry: "NZ", paymentFingerprint: "pm_SECRET_PAYMENT_MARKER" });
    await postMessage(account.key, { model: "demo-model-1", max_tokens: 16, messages: [{ role: "user", content: PROMPT }] });
    const memberId = `acct-SECRET-ACCOUNT-MARKER-${unique("x")}`;
    const componentId = `cc:SECRET-COMPONENT-MARKER-${unique("x")}`;
    const keys = [
      `tls:${hex()}`,
      `payment:pm_SECRET_PAYMENT_MARKER`,
      `payment:${hex()}`,
      `payment+tls:${hex()}`,
      `system:${PROMPT}`,
      `tpl:0:${PROMPT}`,
      `sdk:${account.key}`,
      `prefix:198.51.100.7/32`,
      `ip:198.51.100.7`,
      `asn:not-a-number`,
    ];
    for (const key of keys) await seedEdge(memberId, key);
    await seedEdge(account.id, keys[0] ?? "");
    await seedComponent({ id: componentId, members: [memberId, account.id], keys, verdict: "confirmed", reasons: `synchronized,${PROMPT}` });
    await seedKey({ key: `headers:${account.key}`, verdict: "confirmed" });
    await seedDecision(memberId, { detail: JSON.stringify({ prompt: PROMPT, key: account.key }) });

    const { doc, text } = await exportNow();
    for (const secret of ["SECRET-PROMPT-MARKER", account.key, account.id, "SECRET-ACCOUNT-MARKER", "SECRET-COMPONENT-MARKER", "SECRET_PAYMENT_MARKER", "198.51.100.7", "NZ"]) {
      expect(text).not.toContain(secret);
    }
    expect(doc.indicators.some((i) => i.type === "payment")).toBe(false);
    expect(doc.indicators.find((i) => i.value === keys[0]?.slice(4))).toMatchObject({ type: "tls", accounts: 2 });
    expect(doc.omitted.payment).toBeGreaterThanOrEqual(3);
    expect(doc.omitted.unrecognised).toBeGreaterThanOrEqual(6);
  });

  it("should never export allow-listed keys", async () => {
    const listed = await seedKey({ key: `asn:${200_000 + Math.floor(Math.random() * 100_000)}`, verdict: "confirmed", allowlisted: true });
    const byPolicy = `tls:${hex()}`;
    await seedComponent({ keys: [listed, byPolicy], verdict: "confirmed" });
    await admin("PUT", "/policy", { clusters: { allowlist: [byPolicy] } });
    const { doc } = await exportNow();
    expect(doc.indicators.find((i) => i.value === listed.slice(4))).toBeUndefined();
    expect(doc.indicators.find((i) => i.value === byPolicy.slice(4))).toBeUndefined();
    expect(doc.omitted.allowlisted).toBeGreaterThanOrEqual(2);
  });

  it("should refuse query parameters it does not know", async () => {
    expect((await admin("GET", "/indicators?format=csv")).status).toBe(400);
  });
});

describe("toIndicator", () => {
  it("should keep only values of the shape their type allows", () => {
    expect(toIndicator("asn:13335")).toEqual({ type: "asn", value: "13335" });
    expect(toIndicator("prefix:2001:db8:1::/48")).toEqual({ type: "prefix", value: "2001:db8:1::/48" });
    expect(toIndicator("prefix:2001:db8:1::1/128")).toEqual({ omit: "unrecognised" });
    expect(toIndicator("tpl:3:abcd")).toEqual({ type: "template", value: "3:abcd" });
    expect(toIndicator("system:Hello world")).toEqual({ omit: "unrecognised" });
    expect(toIndicator("payment:abcdef0123")).toEqual({ omit: "payment" });
    expect(toIndicator("asn+payment:abcdef0123")).toEqual({ omit: "payment" });
    expect(toIndicator("nokind")).toEqual({ omit: "unrecognised" });
  });
});
