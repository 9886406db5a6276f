/**
 * Regional restrictions through the gateway: only request.cf counts, every
 * check has its own reason code in the audit and the origin's headers, and a
 * policy change in KV applies without a redeploy.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createAccount, messageBody, originSaw, postMessage, unique, usePolicy, resetPolicy } from "../helpers.ts";

type ErrorBody = { type: string; error: { type: string; message: string } };
type Echo = { headers: Record<string, string> };

afterEach(resetPolicy);

const FRANCE = { country: "FR", asn: 3215, colo: "CDG", latitude: "48.85", longitude: "2.35", clientTcpRtt: 4 };

describe("regional restrictions through the gateway", () => {
  it("should refuse a denied request country with a generic 403, origin untouched, and take effect without a redeploy", async () => {
    const account = await createAccount({ billingCountry: "US" });
    const tag = unique("fr");
    const before = await postMessage(account.key, messageBody(), { cf: FRANCE, headers: { "x-demo-tag": tag } });
    expect(before.status).toBe(200);

    await usePolicy({ regions: { deniedCountries: ["FR"] } });
    const after = await postMessage(account.key, messageBody(), { cf: FRANCE, headers: { "x-demo-tag": tag } });
    expect(after.status).toBe(403);
    const body = (await after.json()) as ErrorBody;
    expect(body.error.type).toBe("permission_error");
    // Generic: nothing about countries or reasons reaches the client.
    expect(JSON.stringify(body)).not.toMatch(/FR|country|region/i);
    expect(await originSaw(tag)).toBe(1);
  });

  it("should ignore a client-sent CF-IPCountry and X-Forwarded-For", async () => {
    await usePolicy({ regions: { deniedCountries: ["FR"] } });
    const account = await createAccount({ billingCountry: "US" });
    const spoofed = await postMessage(account.key, messageBody(), {
      cf: FRANCE,
      headers: { "cf-ipcountry": "US", "x-forwarded-for": "8.8.8.8", "x-real-ip": "8.8.8.8" },
    });
    expect(spoofed.status).toBe(403);
    const fromUs = await postMessage(account.key, messageBody(), { cf: { ...FRANCE, country: "US" }, headers: { "cf-ipcountry": "FR" } });
    expect(fromUs.status).toBe(200);
  });

  it("should refuse every request of an account billed in a denied country", async () => {
    await usePolicy({ regions: { deniedCountries: ["KP"] } });
    const account = await createAccount({ billingCountry: "KP" });
    const res = await postMessage(account.key, messageBody(), { cf: { country: "US" } });
    expect(res.status).toBe(403);
  });

  it("should exempt one account from the region checks", async () => {
    const exempt = await createAccount({ billingCountry: "US" });
    const other = await createAccount({ billingCountry: "US" });
    await usePolicy({ regions: { deniedCountries: ["FR"], exemptAccounts: [exempt.id] } });
    expect((await postMessage(exempt.key, messageBody(), { cf: FRANCE })).status).toBe(200);
    expect((await postMessage(other.key, messageBody(), { cf: FRANCE })).status).toBe(403);
  });

  it("should not open the gate when cf is missing and the policy denies unknown countries", async () => {
    await usePolicy({ regions: { unknownCountry: "deny" } });
    const account = await createAccount({ billingCountry: "US" });
    expect((await postMessage(account.key, messageBody())).status).toBe(403);
    expect((await postMessage(account.key, messageBody(), { cf: { asn: 3215 } })).status).toBe(403);
    expect((await postMessage(account.key, messageBody(), { cf: { country: 42 } })).status).toBe(403);
    expect((await postMessage(account.key, messageBody(), { cf: { country: "DE" } })).status).toBe(200);
  });

  it("should tell the origin (not the client) about a hosting ASN and a billing mismatch, for IPv4 and IPv6 clients", async () => {
    await usePolicy({ regions: { asnCategories: { hosting: [16509] } } });
    const account = await createAccount({ billingCountry: "US" });
    for (const ip of ["203.0.113.9", "2001:db8:1234:5678::9"]) {
      const res = await postMessage(account.key, messageBody(), {
        cf: { country: "DE", asn: 16509, colo: "FRA" },
        headers: { "x-demo-echo": "1", "cf-connecting-ip": ip },
      });
      expect(res.status).toBe(200);
      const echo = (await res.json()) as Echo;
      expect(echo.headers["x-distillguard-reasons"]).toContain("region.asn_hosting");
      expect(echo.headers["x-distillguard-reasons"]).toContain("region.billing_mismatch");
      expect(echo.headers["x-distillguard-country"]).toBe("DE");
      expect(echo.headers["x-distillguard-fingerprint"]).toContain(ip.includes(":") ? "2001:db8:1234::/48" : "203.0.113.0/24");
      for (const name of res.headers.keys()) expect(name.startsWith("x-distillguard-")).toBe(false);
    }
  });

  it("should deny Tor when the policy says so", async () => {
    await usePolicy({ regions: { tor: "deny" } });
    const account = await createAccount({ billingCountry: "US" });
    expect((await postMessage(account.key, messageBody(), { cf: { country: "T1" } })).status).toBe(403);
  });

  it("should raise geo-wander risk for an account hopping across many /48 and /24 prefixes", async () => {
    await usePolicy({ regions: { wanderPrefixes: 3 } });
    const account = await createAccount({ billingCountry: "US" });
    let last: Response | null = null;
    for (const ip of ["203.0.113.1", "198.51.100.1", "2001:db8:1::1", "2001:db8:2::1", "192.0.2.1"]) {
      last = await postMessage(account.key, messageBody(), { cf: { country: "US" }, headers: { "cf-connecting-ip": ip, "x-demo-echo": "1" } });
    }
    const echo = (await last?.json()) as Echo;
    expect(echo.headers["x-distillguard-reasons"]).toContain("region.geo_wander");
  });
});
