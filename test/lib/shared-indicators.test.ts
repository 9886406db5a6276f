import { describe, expect, it } from "vitest";
import { canonicalPrefix, indicatorKey, IndicatorMatcher } from "../../lib/shared-indicators.ts";

const NOW = Date.UTC(2026, 11, 1);
const matcher = (imports: Array<{ keys?: string[]; prefixes?: string[]; expiresAt?: number }>) =>
  new IndicatorMatcher({
    updatedAt: NOW,
    imports: imports.map((i, n) => ({ id: `imp_${n}`, expiresAt: i.expiresAt ?? NOW + 60_000, keys: i.keys ?? [], prefixes: i.prefixes ?? [] })),
  });

describe("indicatorKey", () => {
  it("should turn each exported type into the key the local fingerprint produces", () => {
    expect(indicatorKey("asn", "64500")).toBe("asn:64500");
    expect(indicatorKey("tls", "ab12")).toBe("tls:ab12");
    expect(indicatorKey("system_prompt", "ab12")).toBe("system:ab12");
    expect(indicatorKey("template", "2:ab12")).toBe("tpl:2:ab12");
    expect(indicatorKey("combination", "tls+sdk:ab12")).toBe("tls+sdk:ab12");
    expect(indicatorKey("payment", "x")).toBeNull();
  });
});

describe("canonicalPrefix", () => {
  it("should give the network of a CIDR and refuse what is not one", () => {
    expect(canonicalPrefix("203.0.113.77/24")).toBe("203.0.113.0/24");
    expect(canonicalPrefix("2001:db8:1:2::/48")).toBe("2001:db8:1::/48");
    expect(canonicalPrefix("203.0.113.0")).toBeNull();
    expect(canonicalPrefix("not/a/prefix")).toBeNull();
  });
});

describe("IndicatorMatcher", () => {
  it("should name each kind of indicator a request carries, once, sorted", () => {
    const m = matcher([{ keys: ["tls:aa", "asn:64500", "tpl:1:beef", "tls+sdk:cc"] }, { keys: ["tls:aa"] }]);
    expect(m.match(["asn:64500", "tls:aa", "tpl:1:beef", "tpl:2:dead", "tls+sdk:cc", "sdk:zz"], null, NOW)).toEqual(["asn", "combination", "tls", "tpl"]);
    expect(m.match(["sdk:zz"], null, NOW)).toEqual([]);
  });

  it("should match an address inside an imported prefix of any length, IPv4, IPv6 and IPv4-mapped", () => {
    const m = matcher([{ prefixes: ["198.18.0.0/16", "2001:db8:aa::/48"] }]);
    expect(m.match([], "198.18.200.7", NOW)).toEqual(["prefix"]);
    expect(m.match([], "::ffff:198.18.1.1", NOW)).toEqual(["prefix"]);
    expect(m.match([], "2001:db8:aa:1::5", NOW)).toEqual(["prefix"]);
    expect(m.match([], "198.19.0.1", NOW)).toEqual([]);
    expect(m.match([], "2001:db8:ab::1", NOW)).toEqual([]);
    expect(m.match([], "garbage", NOW)).toEqual([]);
  });

  it("should ignore an import once it has expired, unless another import holds the same value longer", () => {
    const m = matcher([{ keys: ["tls:aa", "tls:bb"], prefixes: ["198.18.0.0/24"], expiresAt: NOW - 1 }, { keys: ["tls:bb"] }]);
    expect(m.match(["tls:aa"], "198.18.0.9", NOW)).toEqual([]);
    expect(m.match(["tls:bb"], null, NOW)).toEqual(["tls"]);
  });

  it("should count its entries and skip prefixes it cannot read", () => {
    expect(matcher([{ keys: ["a:1", "b:2"], prefixes: ["198.18.0.0/24", "nope"] }]).size).toBe(3);
  });
});
