/**
 * Entitlements: what an account may ask of the model by tier, verification and
 * organisation type (how long an answer, how much thinking, streaming, batches,
 * tools, which models). A published rule, not a detection: a refusal names the
 * entitlement and how to get it, so a legitimate developer knows what to do.
 *
 * Rules are tried in order and the first whose `when` matches the account
 * applies; an account no rule matches has no entitlement limits. Pure: no
 * bindings, no policy import (lib/policy/index.ts embeds the schema).
 */
import * as z from "./zod.ts";

/** The part of an account profile (lib/decision.ts AccountProfile) a rule looks at. */
export type EntitledAccount = { tier: string; verified: boolean; orgType: string | null };

const names = z.array(z.string().check(z.minLength(1), z.maxLength(128)));
const count = z.number().check(z.int(), z.nonnegative());

export const entitlementSchema = z.strictObject({
  /** Which accounts the rule is for; every field given must match, an absent `when` matches all. */
  when: z.optional(
    z.strictObject({
      tiers: z.optional(names),
      verified: z.optional(z.boolean()),
      orgTypes: z.optional(names),
    }),
  ),
  /** Largest max_tokens. */
  maxTokens: z.optional(count),
  /** Largest thinking.budget_tokens; 0 means no extended thinking at all. */
  thinkingBudgetTokens: z.optional(count),
  /** Whether `stream: true` is allowed. */
  streaming: z.optional(z.boolean()),
  /** Whether message batches may be created. */
  batches: z.optional(z.boolean()),
  /** Most tool definitions in one request. */
  maxTools: z.optional(count),
  /** Model ids allowed, as globs (`*` any run of characters, `?` one). */
  models: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(128)))),
  /**
   * A request beyond the entitlement: `clamp` lowers max_tokens and the thinking budget to it
   * (streaming, batches, tools and models cannot be lowered, so they are refused either way);
   * `refuse` answers 403 naming the entitlement.
   */
  beyond: z._default(z.enum(["clamp", "refuse"]), "refuse"),
});
export type Entitlement = z.infer<typeof entitlementSchema>;

/** What the request asks for, as the entitlement check sees it. */
export type EntitledRoute = "messages" | "batches";

export type EntitlementOutcome =
  | { kind: "within" }
  /** The request was lowered: `body` is what goes to the origin; `changes` name what was lowered. */
  | { kind: "clamped"; body: Record<string, unknown>; changes: string[] }
  /** `message` is the client-facing explanation; `entitlements` the codes for logs. */
  | { kind: "refused"; message: string; entitlements: string[] };

// The Messages API refuses a thinking budget below this: a clamp that would go lower drops thinking instead.
const MIN_THINKING_BUDGET = 1_024;

/** The first rule whose `when` matches the account, or null. */
export function entitlementFor(rules: readonly Entitlement[], account: EntitledAccount): Entitlement | null {
  for (const rule of rules) if (matches(rule, account)) return rule;
  return null;
}

function matches(rule: Entitlement, account: EntitledAccount): boolean {
  const when = rule.when;
  if (!when) return true;
  if (when.tiers !== undefined && !when.tiers.includes(account.tier)) return false;
  if (when.verified !== undefined && when.verified !== account.verified) return false;
  if (when.orgTypes !== undefined && (account.orgType === null || !when.orgTypes.includes(account.orgType))) return false;
  return true;
}

const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters, `?` one; everything else is literal. */
export function globMatches(glob: string, value: string): boolean {
  let re = globCache.get(glob);
  if (re === undefined) {
    const source = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
    re = new RegExp(`^${source}$`);
    // Globs come from one policy document: a handful, but bounded anyway.
    if (globCache.size > 1_000) globCache.clear();
    globCache.set(glob, re);
  }
  return re.test(value);
}

type Finding = { code: string; text: string; clampable: boolean };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** What one Messages API body asks beyond the rule, and (when every finding can be lowered) the lowered body. */
function checkMessage(rule: Entitlement, body: Record<string, unknown>): { findings: Finding[]; lowered: Record<string, unknown>; changes: string[] } {
  const findings: Finding[] = [];
  const lowered = { ...body };
  const changes: string[] = [];
  if (rule.streaming === false && body.stream === true) {
    findings.push({ code: "streaming", text: "streaming", clampable: false });
  }
  if (rule.maxTools !== undefined && Array.isArray(body.tools) && body.tools.length > rule.maxTools) {
    findings.push({
      code: "max_tools",
      text: rule.maxTools === 0 ? "tool use" : `more than ${rule.maxTools} tools per request`,
      clampable: false,
    });
  }
  if (rule.models !== undefined) {
    const model = typeof body.model === "string" ? body.model : "";
    if (!rule.models.some((glob) => globMatches(glob, model))) {
      // The name is the client's own input, shortened and printable, so the message cannot carry anything else.
      const shown = model.slice(0, 64).replace(/[^\x20-\x7e]/g, "?");
      findings.push({ code: "models", text: `the model "${shown}"`, clampable: false });
    }
  }
  if (rule.maxTokens !== undefined && typeof body.max_tokens === "number" && body.max_tokens > rule.maxTokens) {
    findings.push({ code: "max_tokens", text: `max_tokens above ${rule.maxTokens}`, clampable: true });
    lowered.max_tokens = rule.maxTokens;
    changes.push("max_tokens");
  }
  const thinking = isRecord(body.thinking) ? body.thinking : null;
  const thinkingOn = thinking !== null && thinking.type !== "disabled";
  if (thinkingOn && rule.thinkingBudgetTokens !== undefined) {
    const budget = typeof thinking.budget_tokens === "number" ? thinking.budget_tokens : null;
    if (rule.thinkingBudgetTokens === 0) {
      findings.push({ code: "thinking", text: "extended thinking", clampable: true });
      delete lowered.thinking;
      changes.push("thinking");
    } else if (budget !== null && budget > rule.thinkingBudgetTokens) {
      findings.push({ code: "thinking_budget", text: `a thinking budget above ${rule.thinkingBudgetTokens} tokens`, clampable: true });
      lowered.thinking = { ...thinking, budget_tokens: rule.thinkingBudgetTokens };
      changes.push("thinking.budget_tokens");
    }
  }
  // The API wants budget_tokens below max_tokens: a lowered max_tokens may have to take the budget down with it.
  if (changes.length > 0 && isRecord(lowered.thinking) && typeof lowered.thinking.budget_tokens === "number" && typeof lowered.max_tokens === "number") {
    if (lowered.thinking.budget_tokens >= lowered.max_tokens) {
      const budget = lowered.max_tokens - 1;
      if (budget < MIN_THINKING_BUDGET) {
        delete lowered.thinking;
        if (!changes.includes("thinking")) changes.push("thinking");
      } else {
        lowered.thinking = { ...lowered.thinking, budget_tokens: budget };
        if (!changes.includes("thinking.budget_tokens")) changes.push("thinking.budget_tokens");
      }
    }
  }
  return { findings, lowered, changes };
}

/** Who a rule is for, in words: "unverified education accounts on the free tier". */
export function describeScope(rule: Entitlement): string {
  const when = rule.when ?? {};
  const words: string[] = [];
  if (when.verified === undefined && !when.orgTypes?.length && !when.tiers?.length) return "any account";
  if (when.verified === false) words.push("unverified");
  if (when.verified === true) words.push("verified");
  if (when.orgTypes !== undefined && when.orgTypes.length > 0) words.push(when.orgTypes.join(" or "));
  words.push("accounts");
  if (when.tiers !== undefined && when.tiers.length > 0) {
    words.push(`on the ${when.tiers.join(" or ")} tier${when.tiers.length > 1 ? "s" : ""}`);
  }
  return words.join(" ");
}

/**
 * How a refusal is worded: the policy's help text, when the rule holds if not always, and, for a rule
 * applied for something its `when` cannot say (an account's age), who it is for and how to get more.
 */
type Wording = { help: string; during?: string; scope?: string; how?: string };

function refusal(rule: Entitlement, findings: Finding[], { help, during, scope, how: howGiven }: Wording): EntitlementOutcome {
  const what = [...new Set(findings.map((f) => f.text))];
  const how =
    howGiven ??
    (rule.when?.verified === false
      ? "A verified account is entitled to more"
      : "A different plan may be entitled to more");
  const message = `${what.join(", ")} ${what.length > 1 ? "are" : "is"} not included for ${scope ?? describeScope(rule)}${during ? ` ${during}` : ""}. ${how}${help ? `: ${help}` : "."}`;
  return { kind: "refused", message, entitlements: [...new Set(findings.map((f) => f.code))] };
}

/**
 * Checks a request body against the account's entitlement. `help` (the policy's
 * entitlementHelp) ends every refusal message: where to verify or upgrade.
 */
export function checkEntitlement(options: {
  rules: readonly Entitlement[];
  account: EntitledAccount;
  route: EntitledRoute;
  body: unknown;
  help: string;
  /** When the rules hold, for the message ("in the first 72 hours after demo-model-2's release"). */
  during?: string;
  /** Who the rule is for and how to get more, when its `when` does not say it (Wording). */
  scope?: string;
  how?: string;
}): EntitlementOutcome {
  const words: Wording = { help: options.help, during: options.during, scope: options.scope, how: options.how };
  const rule = entitlementFor(options.rules, options.account);
  if (rule === null || !isRecord(options.body)) return { kind: "within" };
  if (options.route === "batches") return checkBatch(rule, options.body, words);
  const { findings, lowered, changes } = checkMessage(rule, options.body);
  return decide(rule, findings, words, () => ({ kind: "clamped", body: lowered, changes }));
}

function decide(rule: Entitlement, findings: Finding[], words: Wording, clamped: () => EntitlementOutcome): EntitlementOutcome {
  if (findings.length === 0) return { kind: "within" };
  const refused = rule.beyond === "refuse" ? findings : findings.filter((f) => !f.clampable);
  if (refused.length > 0) return refusal(rule, refused, words);
  return clamped();
}

/** A batch is checked request by request; one refused request refuses the batch (the API takes it whole or not). */
function checkBatch(rule: Entitlement, body: Record<string, unknown>, words: Wording): EntitlementOutcome {
  if (rule.batches === false) return refusal(rule, [{ code: "batches", text: "message batches", clampable: false }], words);
  if (!Array.isArray(body.requests)) return { kind: "within" };
  const findings: Finding[] = [];
  const changes = new Set<string>();
  const requests = body.requests.map((entry: unknown) => {
    if (!isRecord(entry) || !isRecord(entry.params)) return entry;
    const checked = checkMessage(rule, entry.params);
    findings.push(...checked.findings);
    for (const change of checked.changes) changes.add(change);
    return checked.changes.length > 0 ? { ...entry, params: checked.lowered } : entry;
  });
  return decide(rule, findings, words, () => ({ kind: "clamped", body: { ...body, requests }, changes: [...changes] }));
}
