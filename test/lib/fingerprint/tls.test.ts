import { describe, expect, it } from "vitest";
import { parseJa4, tlsFeatures, tlsKeyHash } from "../../../lib/fingerprint/tls.ts";
import { AWS_NODE_CF } from "./helpers.ts";

describe("TLS features", () => {
  it("should read the free cf TLS fields and bucket the hello length by 64 bytes", () => {
    const tls = tlsFeatures(AWS_NODE_CF);
    expect(tls.tlsVersion).toBe("TLSv1.3");
    expect(tls.ciphersSha1).toBe("kXYYv6Kh1I3ht0iM+uLo0W7ME4o=");
    expect(tls.helloLength).toBe(517);
    expect(tls.helloLengthBucket).toBe(512);
    expect(tls.httpProtocol).toBe("HTTP/1.1");
    expect(tls.ja4).toBeNull();
  });

  it("should use Bot Management's JA4 and JA3 when present", () => {
    const tls = tlsFeatures({ ...AWS_NODE_CF, botManagement: { ja4: "t13d1516h2_8daaf6152771_b186095e22b6", ja3Hash: "cd08e31494f9531f560d64c695473da9" } });
    expect(tls.ja4).toBe("t13d1516h2_8daaf6152771_b186095e22b6");
    expect(tls.ja3Hash).toBe("cd08e31494f9531f560d64c695473da9");
    expect(tls.ja4Parts).toEqual({ transport: "tcp", version: "13", sni: true, cipherCount: 15, extensionCount: 16, alpn: "h2" });
  });

  it("should reject a malformed JA4 instead of half-parsing it", () => {
    expect(parseJa4("t13d1516h2")).toBeNull();
    expect(parseJa4("x13d1516h2_8daaf6152771_b186095e22b6")).toBeNull();
  });

  it("should give no TLS key when the edge reported no TLS at all", () => {
    expect(tlsKeyHash(tlsFeatures(undefined))).toBeNull();
    expect(tlsKeyHash(tlsFeatures({ httpProtocol: "HTTP/1.1" }))).toBeNull();
  });

  it("should give the same 16-hex key for the same stack and a different one for a different stack", () => {
    const key = tlsKeyHash(tlsFeatures(AWS_NODE_CF));
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(tlsKeyHash(tlsFeatures({ ...AWS_NODE_CF }))).toBe(key);
    expect(tlsKeyHash(tlsFeatures({ ...AWS_NODE_CF, tlsClientCiphersSha1: "other=" }))).not.toBe(key);
  });

  it("should keep one key across session resumption, which changes only the hello length", () => {
    expect(tlsKeyHash(tlsFeatures({ ...AWS_NODE_CF, tlsClientHelloLength: 781 }))).toBe(tlsKeyHash(tlsFeatures(AWS_NODE_CF)));
  });
});
