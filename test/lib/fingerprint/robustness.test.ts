import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fingerprintRequest, summary } from "../../../lib/fingerprint/index.ts";
import { input, messagesBody, policyWith } from "./helpers.ts";

async function expectFingerprint(overrides: Parameters<typeof input>[0]) {
  const fp = await fingerprintRequest(input(overrides));
  expect(fp.simhash).toMatch(/^[0-9a-f]{16}$/);
  expect(summary(fp)).toMatch(/^[\x21-\x7e]{1,512}$/);
  return fp;
}

describe("hostile and odd input", () => {
  it("should fingerprint a request with no cf, no IP and no body", async () => {
    const fp = await expectFingerprint({ cf: undefined, ip: null, body: undefined, headers: new Headers() });
    expect(fp.keys.asn).toBeNull();
    expect(fp.keys.tls).toBeNull();
    expect(fp.keys.template).toEqual([]);
    expect(fp.client.uaFamily).toBe("none");
  });

  it.each([
    ["an empty object", {}],
    ["a string", "just text, not JSON"],
    ["a number", 42],
    ["null", null],
    ["an array", [{ role: "user", content: "hi" }]],
    ["wrong field types", { system: { nested: true }, messages: [null, 1, { role: "user", content: 5 }], tools: "x", thinking: "on" }],
    ["an empty system prompt", messagesBody("", "")],
  ])("should fingerprint a body that is %s", async (_name, body) => {
    const fp = await expectFingerprint({ body });
    expect(fp.keys.system).toBeNull();
  });

  it("should fingerprint a 2 MB body with bounded content work", async () => {
    const body = messagesBody("Z".repeat(1024 * 1024), [{ type: "text", text: "word ".repeat(200_000) }]);
    const fp = await expectFingerprint({ body });
    expect(fp.content.truncated).toBe(true);
    expect(fp.content.systemTruncated).toBe(true);
    expect(fp.content.textBytes).toBeLessThanOrEqual(16 * 1024);
  });

  it("should fingerprint text that was not valid UTF-8 (lone surrogates, replacement characters, NULs)", async () => {
    const broken = `\ud800abc\udfff\ufffd\u0000${"\udbff".repeat(100)} tail`;
    const fp = await expectFingerprint({ body: messagesBody(broken, broken) });
    expect(fp.content.systemSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("should honour a tiny maxContentBytes", async () => {
    const fp = await expectFingerprint({ policy: policyWith({ maxContentBytes: 256 }), body: messagesBody("s ".repeat(1000), "u ".repeat(1000)) });
    expect(fp.content.textBytes).toBeLessThanOrEqual(256);
  });

  it("should fingerprint a cf of the wrong shape", async () => {
    for (const cf of [{ asn: {}, botManagement: "yes", tlsClientHelloLength: -5 }, { botManagement: { ja4: 7 } }, Object.create(null) as Record<string, unknown>]) {
      await expectFingerprint({ cf });
    }
  });

  it("should bound the cost of a header-stuffing client", async () => {
    const stuffed = new Headers();
    for (let i = 0; i < 500; i++) stuffed.set(`x-junk-${i}`, "v".repeat(100));
    const fp = await expectFingerprint({ headers: stuffed });
    expect(fp.client.headerNames.length).toBeLessThanOrEqual(64);
  });

  it("should never throw on arbitrary JSON bodies, cf objects and IP strings (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue()), fc.option(fc.string()), async (body, cf, ip) => {
        const fp = await fingerprintRequest(input({ body, cf, ip }));
        expect(summary(fp).length).toBeLessThanOrEqual(512);
      }),
      { numRuns: 200 },
    );
  });

  it("should never throw on arbitrary Messages-shaped bodies with unicode text (property)", async () => {
    const text = fc.string({ unit: "binary", maxLength: 400 });
    await fc.assert(
      fc.asyncProperty(text, text, async (system, user) => {
        await fingerprintRequest(input({ body: messagesBody(system, [{ type: "text", text: user }]) }));
      }),
      { numRuns: 200 },
    );
  });
});
