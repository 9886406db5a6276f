/**
 * Scenario files: what the schema accepts, the defaults it fills in, and the
 * path and message of every problem in a file it refuses.
 */
import { describe, expect, it } from "vitest";
import smokeFile from "../../scenarios/smoke.json";
import { parseScenario } from "../../sim/scenario.ts";

/** The problems a refused scenario lists, one "path: message" each. */
function problems(input: unknown): string[] {
  try {
    parseScenario(input);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.split("\n").slice(1).map((line) => line.trim());
  }
  throw new Error("the scenario was accepted");
}

const hydra = { kind: "hydra", name: "hydra", accounts: 10, requests: 100 };

describe("scenario files", () => {
  it("Should accept the smoke scenario and fill what it leaves out with the defaults", () => {
    const scenario = parseScenario(smokeFile);
    const [customers, fleet] = scenario.populations;
    expect(customers?.kind).toBe("legit");
    expect(customers?.active).toEqual({ from: 0, to: 1 });
    if (customers?.kind === "legit") {
      expect(customers.officeNat).toEqual({ share: 0.25, offices: 2 });
      expect(customers.maxTokens).toEqual({ min: 256, max: 2_048 });
      expect(customers.popularTool).toEqual({ share: 0.2, allowlisted: true });
    }
    expect(fleet?.kind).toBe("hydra");
    if (fleet?.kind === "hydra") {
      expect(fleet.timing).toEqual({ mode: "rounds", everySeconds: 30, burst: 3, burstSpacingSeconds: 2, jitterMs: 150, spread: 0.8, startHour: 8.75 });
      expect(fleet.templates).toEqual(["code-cot", "math-cot"]);
      expect(fleet.prompt).toBeUndefined();
    }
    expect(scenario.pivot).toEqual({ at: 0.5, model: "demo-model-2", share: 0.5, legitShare: 0.1 });
  });

  it("Should give a minimal scenario every default, a service Poisson timing and a campaign rounds", () => {
    const scenario = parseScenario({
      name: "minimal",
      populations: [
        hydra,
        { kind: "service", name: "app", accounts: 2, requests: 10, prompt: { instructions: ["Grade this."], content: "document", variedShare: { min: 0.5, max: 0.6 } } },
      ],
    });
    expect(scenario).toMatchObject({ seed: 1, durationSeconds: 3_600, timeCompression: 1, overhead: { sequential: 300, concurrent: 3_000, clients: 16 }, policy: {} });
    expect(scenario.targets).toEqual({ honestTouchedMax: 0.001, leakageMax: 0.5, detectWithinSeconds: null, accountRecallMin: null });
    expect(scenario.populations.map((p) => ("timing" in p ? p.timing.mode : null))).toEqual(["rounds", "poisson"]);
    const service = scenario.populations[1];
    expect(service?.kind === "service" ? service.prompt : null).toEqual({
      system: null,
      systemAccounts: 1,
      instructions: ["Grade this."],
      placement: "suffix",
      content: "document",
      variedShare: { min: 0.5, max: 0.6 },
      tools: false,
      bareShare: 0,
    });
  });

  it("Should refuse a bad scenario listing every problem with its path", () => {
    expect(
      problems({
        name: "Bad Name",
        seed: -1,
        surprise: true,
        overhead: { sequential: 5 },
        populations: [
          { ...hydra, accounts: 1.5, active: { from: 0.8, to: 0.2 }, timing: { burst: 0 }, billingCountries: ["usa"] },
          { kind: "legit", name: "people", accounts: 3, requests: 9, sdkMix: { lynx: 1 }, accountAgeDays: { min: 9, max: 1 } },
          { kind: "robot", name: "r" },
        ],
      }),
    ).toEqual([
      "name: lower-case letters, digits and '-', starting with a letter, at most 32",
      "seed: Too small: expected number to be >=0",
      "overhead.sequential: Too small: expected number to be >=10",
      "populations.0.accounts: Invalid input: expected int, received number",
      "populations.0.active: active.from must be below active.to",
      "populations.0.billingCountries.0: Invalid string: must match pattern /^[A-Z]{2}$/",
      "populations.0.timing.burst: Too small: expected number to be >=1",
      "populations.1.accountAgeDays: accountAgeDays.min must not exceed accountAgeDays.max",
      'populations.1.sdkMix: Unrecognized key: "lynx"',
      "populations.2.kind: Invalid discriminator value. Expected 'legit' | 'hydra' | 'reseller' | 'regionEvasion' | 'service'",
      '(root): Unrecognized key: "surprise"',
    ]);
  });

  it("Should refuse two populations of one name and a pivot naming a population that is not there", () => {
    expect(
      problems({
        name: "twins",
        pivot: { populations: ["hydra", "ghost"] },
        populations: [hydra, { ...hydra, accounts: 20 }],
      }),
    ).toEqual(['populations: duplicate population name "hydra"', 'pivot.populations: no population named "ghost"']);
  });

  it("Should refuse a scenario without a population", () => {
    expect(problems({ name: "empty", populations: [] })).toEqual(["populations: Too small: expected array to have >=1 items"]);
    expect(problems({ name: "none" })).toEqual(["populations: Invalid input: expected array, received undefined"]);
  });
});
