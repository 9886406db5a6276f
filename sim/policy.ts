/**
 * The policy a simulation runs under: the scenario's partial policy (written
 * in campaign time), with every campaign-clock field divided by the time
 * compression so an hour of campaign fits in minutes. A field the schema
 * would not allow that short is clamped to its minimum and reported, because
 * a clamped field no longer means what the scenario said.
 */
import { DEFAULT_POLICY, validatePolicy, type Policy } from "../lib/policy/index.ts";
import type { Generated } from "./generate.ts";

type Path = readonly [section: "limits" | "clusters" | "risk", field: string];

/** Policy fields measured on the campaign clock, with the schema's minimum (lib/policy/). */
export const TIME_FIELDS: readonly { path: Path; min: number }[] = [
  { path: ["limits", "windowSeconds"], min: 1 },
  { path: ["limits", "dayWindowSeconds"], min: 60 },
  { path: ["limits", "leaseSeconds"], min: 5 },
  { path: ["clusters", "reportIntervalSeconds"], min: 1 },
  { path: ["risk", "halfLifeSeconds"], min: 1 },
  { path: ["risk", "signalCooldownSeconds"], min: 0 },
  { path: ["risk", "verdictTtlSeconds"], min: 10 },
];

export type ScaledField = {
  field: string;
  /** Campaign seconds the scenario asked for. */
  campaignSeconds: number;
  /** Wall seconds written to the policy. */
  wallSeconds: number;
  /** Campaign seconds the written value really stands for (differs when rounded or clamped). */
  effectiveCampaignSeconds: number;
  clamped: boolean;
};

export type SimulationPolicy = { document: Record<string, unknown>; policy: Policy; scaled: ScaledField[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function section(doc: Record<string, unknown>, name: string): Record<string, unknown> {
  const existing = doc[name];
  if (isRecord(existing)) return existing;
  const created: Record<string, unknown> = {};
  doc[name] = created;
  return created;
}

function defaultOf([s, f]: Path): number {
  const value: unknown = (DEFAULT_POLICY[s] as Record<string, unknown>)[f];
  if (typeof value !== "number") throw new Error(`policy field ${s}.${f} has no numeric default`);
  return value;
}

export function simulationPolicy(gen: Generated): SimulationPolicy {
  const { scenario } = gen;
  // A deep copy: the scenario object is shared with the report.
  const doc = JSON.parse(JSON.stringify(scenario.policy)) as Record<string, unknown>;
  const factor = scenario.timeCompression;
  const scaled: ScaledField[] = [];
  for (const { path, min } of TIME_FIELDS) {
    const [s, f] = path;
    const part = section(doc, s);
    const asked = typeof part[f] === "number" ? (part[f] as number) : defaultOf(path);
    const exact = asked / factor;
    const wall = Math.max(min, Math.round(exact));
    part[f] = wall;
    scaled.push({
      field: `${s}.${f}`,
      campaignSeconds: asked,
      wallSeconds: wall,
      effectiveCampaignSeconds: wall * factor,
      clamped: exact < min,
    });
  }
  if (gen.allowlistedPromptSha256.length > 0) {
    // The operator has allow-listed the popular tools' prompts, as the README tells them to.
    const fingerprint = section(doc, "fingerprint");
    const hashes = Array.isArray(fingerprint.allowedSystemPromptHashes) ? fingerprint.allowedSystemPromptHashes : [];
    fingerprint.allowedSystemPromptHashes = [...new Set([...hashes, ...gen.allowlistedPromptSha256])];
  }
  const result = validatePolicy(doc);
  if (!result.ok) {
    throw new Error(`scenario policy is invalid after time scaling:\n  ${result.problems.map((p) => `${p.path}: ${p.message}`).join("\n  ")}`);
  }
  return { document: doc, policy: result.policy, scaled };
}
