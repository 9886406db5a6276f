import { describe, expect, it } from "vitest";
import { wanderSignals } from "../../../lib/region/index.ts";
import { policyWith } from "./helpers.ts";

describe("geo wander", () => {
  const policy = policyWith({ wanderCountries: 4, wanderPrefixes: 32 });

  it("should stay quiet at or below both thresholds", () => {
    expect(wanderSignals({ countries: 0, prefixes: 0 }, policy)).toEqual({ signals: [], reasons: [] });
    expect(wanderSignals({ countries: 4, prefixes: 32 }, policy)).toEqual({ signals: [], reasons: [] });
  });

  it("should flag more distinct countries than allowed", () => {
    expect(wanderSignals({ countries: 5, prefixes: 1 }, policy)).toEqual({
      signals: ["geo_wander"],
      reasons: ["region.geo_wander"],
    });
  });

  it("should flag more distinct prefixes than allowed", () => {
    expect(wanderSignals({ countries: 1, prefixes: 33 }, policy).signals).toEqual(["geo_wander"]);
  });

  it("should raise the signal once when both trip", () => {
    expect(wanderSignals({ countries: 50, prefixes: 500 }, policy)).toEqual({
      signals: ["geo_wander"],
      reasons: ["region.geo_wander"],
    });
  });

  it("should use the policy defaults", () => {
    const defaults = policyWith();
    expect(wanderSignals({ countries: 4, prefixes: 32 }, defaults).signals).toEqual([]);
    expect(wanderSignals({ countries: 5, prefixes: 0 }, defaults).signals).toEqual(["geo_wander"]);
  });

  it("should read corrupt counts as not wandering", () => {
    expect(wanderSignals({ countries: NaN, prefixes: -1 }, policy).signals).toEqual([]);
  });
});
