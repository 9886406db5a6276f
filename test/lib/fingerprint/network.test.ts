import { describe, expect, it } from "vitest";
import { ipPrefix, networkFeatures } from "../../../lib/fingerprint/network.ts";
import { AWS_NODE_CF } from "./helpers.ts";

describe("IP prefix", () => {
  it("should cut IPv4 to its /24", () => {
    expect(ipPrefix("203.0.113.77")).toEqual({ version: 4, prefix: "203.0.113.0/24" });
  });

  it("should cut IPv6 to its /48 in compact form", () => {
    expect(ipPrefix("2001:db8:1234:5678:9abc::1")).toEqual({ version: 6, prefix: "2001:db8:1234::/48" });
    expect(ipPrefix("2001:0DB8:0000:0001::")).toEqual({ version: 6, prefix: "2001:db8::/48" });
  });

  it("should treat IPv4-mapped IPv6 as the IPv4 address", () => {
    expect(ipPrefix("::ffff:198.51.100.9")).toEqual(ipPrefix("198.51.100.9"));
  });

  it("should return null for garbage, classful shorthand and overlong input", () => {
    for (const bad of [null, "", "not-an-ip", "127.1", "0x7f.0.0.1", "1.2.3.4.5", "999.1.1.1", "1.2.3.4, 5.6.7.8", "a".repeat(1000)]) {
      expect(ipPrefix(bad)).toBeNull();
    }
  });

  it("should give an address seen before the same block, and garbage seen before null again", () => {
    const inputs = ["2001:db8:aaaa:5678::1", "198.51.100.200", "::ffff:198.51.100.201", "0x7f.0.0.1", "not-an-ip"];
    const first = inputs.map((ip) => ipPrefix(ip));
    const second = inputs.map((ip) => ipPrefix(ip));
    expect(second).toEqual(first);
    expect(first).toEqual([
      { version: 6, prefix: "2001:db8:aaaa::/48" },
      { version: 4, prefix: "198.51.100.0/24" },
      { version: 4, prefix: "198.51.100.0/24" },
      null,
      null,
    ]);
  });

  it("should not let a caller change the block a later request of the address gets", () => {
    const block = ipPrefix("203.0.113.99");
    expect(() => Object.assign(block ?? {}, { prefix: "10.0.0.0/24" })).toThrow(TypeError);
    expect(ipPrefix("203.0.113.99")).toEqual({ version: 4, prefix: "203.0.113.0/24" });
  });

  it("should tolerate surrounding whitespace", () => {
    expect(ipPrefix(" 203.0.113.7 ")?.prefix).toBe("203.0.113.0/24");
  });
});

describe("network features", () => {
  it("should read every cf field it knows", () => {
    expect(networkFeatures(AWS_NODE_CF, "203.0.113.7")).toEqual({
      asn: 16509,
      asOrganization: "Amazon.com, Inc.",
      country: "US",
      colo: "IAD",
      region: "Virginia",
      city: "Ashburn",
      latitude: 39.04,
      longitude: -77.49,
      ipVersion: 4,
      prefix: "203.0.113.0/24",
      rttMs: 3,
    });
  });

  it("should read a missing cf as all unknown", () => {
    const features = networkFeatures(undefined, null);
    expect(Object.values(features).every((value) => value === null)).toBe(true);
  });

  it("should read wrongly typed fields as unknown instead of trusting them", () => {
    const features = networkFeatures(
      { asn: "AS13335x", country: 42, colo: ["IAD"], latitude: "north", longitude: 500, clientTcpRtt: Number.NaN },
      "garbage",
    );
    expect(features.asn).toBeNull();
    expect(features.country).toBeNull();
    expect(features.colo).toBeNull();
    expect(features.latitude).toBeNull();
    expect(features.longitude).toBeNull();
    expect(features.rttMs).toBeNull();
    expect(features.prefix).toBeNull();
  });

  it("should keep the Tor and unknown pseudo-countries", () => {
    expect(networkFeatures({ country: "T1" }, null).country).toBe("T1");
    expect(networkFeatures({ country: "XX" }, null).country).toBe("XX");
  });

  it("should survive a cf object whose getters throw", () => {
    const hostile = Object.defineProperty({}, "asn", {
      get() {
        throw new Error("boom");
      },
    });
    expect(networkFeatures(hostile, "203.0.113.7").asn).toBeNull();
  });
});
