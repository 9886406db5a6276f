import { describe, expect, it } from "vitest";
import { checkEntitlement, describeScope, entitlementFor, entitlementSchema, globMatches, type EntitledAccount, type Entitlement } from "../../lib/entitlements.ts";
import { validatePolicy } from "../../lib/policy/index.ts";

const rule = (input: unknown): Entitlement => entitlementSchema.parse(input);
const account = (fields: Partial<EntitledAccount> = {}): EntitledAccount => ({ tier: "free", verified: false, orgType: null, ...fields });
const body = (fields: Record<string, unknown> = {}) => ({
  model: "demo-model-1",
  max_tokens: 1_000,
  messages: [{ role: "user", content: "hi" }],
  ...fields,
});
const check = (rules: Entitlement[], requestBody: unknown, who = account(), route: "messages" | "batches" = "messages") =>
  checkEntitlement({ rules, account: who, route, body: requestBody, help: "see https://example.test/verify" });

describe("entitlementFor", () => {
  it("should pick the first rule whose every condition matches", () => {
    const rules = [
      rule({ when: { tiers: ["build"] }, maxTokens: 1 }),
      rule({ when: { verified: false, orgTypes: ["education"] }, maxTokens: 2 }),
      rule({ when: { verified: false }, maxTokens: 3 }),
      rule({ maxTokens: 4 }),
    ];
    expect(entitlementFor(rules, account({ tier: "build" }))?.maxTokens).toBe(1);
    expect(entitlementFor(rules, account({ orgType: "education" }))?.maxTokens).toBe(2);
    expect(entitlementFor(rules, account({ orgType: "startup" }))?.maxTokens).toBe(3);
    expect(entitlementFor(rules, account({ verified: true, orgType: "education" }))?.maxTokens).toBe(4);
  });

  it("should match no orgTypes rule for an account without an organisation type", () => {
    expect(entitlementFor([rule({ when: { orgTypes: ["research"] } })], account())).toBeNull();
  });

  it("should leave a request alone when no rule matches", () => {
    expect(check([rule({ when: { tiers: ["scale"] }, maxTokens: 1 })], body({ max_tokens: 64_000 }))).toEqual({ kind: "within" });
  });
});

describe("globMatches", () => {
  it("should treat * and ? as wildcards and everything else literally", () => {
    expect(globMatches("demo-*", "demo-model-1")).toBe(true);
    expect(globMatches("demo-model-?", "demo-model-2")).toBe(true);
    expect(globMatches("demo-model-?", "demo-model-10")).toBe(false);
    expect(globMatches("demo.model", "demoXmodel")).toBe(false);
    expect(globMatches("claude-*-haiku", "claude-3-5-haiku")).toBe(true);
    expect(globMatches("claude-*-haiku", "claude-3-5-sonnet")).toBe(false);
  });
});

describe("checkEntitlement: clamp", () => {
  const clampRule = rule({ maxTokens: 4_096, thinkingBudgetTokens: 2_048, beyond: "clamp" });

  it("should lower max_tokens to the entitlement and say so", () => {
    const outcome = check([clampRule], body({ max_tokens: 64_000 }));
    expect(outcome).toMatchObject({ kind: "clamped", changes: ["max_tokens"] });
    expect(outcome.kind === "clamped" && outcome.body.max_tokens).toBe(4_096);
  });

  it("should lower the thinking budget and keep the rest of the thinking block", () => {
    const outcome = check([clampRule], body({ max_tokens: 4_000, thinking: { type: "enabled", budget_tokens: 10_000 } }));
    expect(outcome.kind === "clamped" && outcome.body.thinking).toEqual({ type: "enabled", budget_tokens: 2_048 });
  });

  it("should keep the thinking budget below a lowered max_tokens, and drop thinking when that leaves too little", () => {
    const lowered = check([rule({ maxTokens: 2_000, beyond: "clamp" })], body({ max_tokens: 8_000, thinking: { type: "enabled", budget_tokens: 4_000 } }));
    expect(lowered.kind === "clamped" && lowered.body).toMatchObject({ max_tokens: 2_000, thinking: { budget_tokens: 1_999 } });
    const dropped = check([rule({ maxTokens: 900, beyond: "clamp" })], body({ max_tokens: 8_000, thinking: { type: "enabled", budget_tokens: 4_000 } }));
    expect(dropped.kind === "clamped" && dropped.body).not.toHaveProperty("thinking");
  });

  it("should drop thinking when the entitlement allows none", () => {
    const outcome = check([rule({ thinkingBudgetTokens: 0, beyond: "clamp" })], body({ thinking: { type: "enabled", budget_tokens: 2_000 } }));
    expect(outcome).toMatchObject({ kind: "clamped", changes: ["thinking"] });
    expect(outcome.kind === "clamped" && outcome.body).not.toHaveProperty("thinking");
  });

  it("should leave a request within the entitlement untouched", () => {
    expect(check([clampRule], body({ max_tokens: 4_096, thinking: { type: "enabled", budget_tokens: 2_048 } }))).toEqual({ kind: "within" });
    expect(check([rule({ thinkingBudgetTokens: 0 })], body({ thinking: { type: "disabled" } }))).toEqual({ kind: "within" });
  });

  it("should refuse what cannot be lowered even under clamp: streaming, tools, models", () => {
    const strict = rule({ streaming: false, maxTools: 2, models: ["demo-model-1"], maxTokens: 100, beyond: "clamp" });
    const outcome = check([strict], body({ stream: true, tools: [{}, {}, {}], model: "big-model", max_tokens: 9_999 }));
    expect(outcome).toMatchObject({ kind: "refused", entitlements: ["streaming", "max_tools", "models"] });
  });
});

describe("checkEntitlement: refuse", () => {
  it("should name the entitlement, the accounts it is for and the help text", () => {
    const outcome = check([rule({ when: { tiers: ["free"], verified: false }, maxTokens: 4_096 })], body({ max_tokens: 64_000 }));
    expect(outcome).toEqual({
      kind: "refused",
      entitlements: ["max_tokens"],
      message:
        "max_tokens above 4096 is not included for unverified accounts on the free tier. A verified account is entitled to more: see https://example.test/verify",
    });
  });

  it("should refuse every field beyond the entitlement, one message naming each", () => {
    const strict = rule({ maxTokens: 10, thinkingBudgetTokens: 0, streaming: false, maxTools: 0, models: ["demo-*"] });
    const outcome = check([strict], body({ stream: true, tools: [{}], model: "other", max_tokens: 11, thinking: { type: "enabled", budget_tokens: 1_024 } }));
    expect(outcome.kind).toBe("refused");
    if (outcome.kind !== "refused") return;
    expect(outcome.entitlements).toEqual(["streaming", "max_tools", "models", "max_tokens", "thinking"]);
    for (const text of ["streaming", "tool use", 'the model "other"', "max_tokens above 10", "extended thinking"]) expect(outcome.message).toContain(text);
  });

  it("should refuse a thinking budget over the entitlement", () => {
    const outcome = check([rule({ thinkingBudgetTokens: 2_000 })], body({ max_tokens: 8_000, thinking: { type: "enabled", budget_tokens: 4_000 } }));
    expect(outcome).toMatchObject({ kind: "refused", entitlements: ["thinking_budget"] });
  });

  it("should keep a hostile model name out of the message beyond 64 printable characters", () => {
    const outcome = check([rule({ models: ["demo-*"] })], body({ model: `x\n\u0000${"y".repeat(200)}` }));
    expect(outcome.kind === "refused" && outcome.message).toContain(`"x??${"y".repeat(61)}"`);
  });
});

describe("checkEntitlement: batches", () => {
  const batch = (params: Record<string, unknown>[]) => ({ requests: params.map((p, i) => ({ custom_id: `r${i}`, params: body(p) })) });

  it("should refuse batches when the entitlement has none", () => {
    expect(check([rule({ batches: false, beyond: "clamp" })], batch([{}]), account(), "batches")).toMatchObject({ kind: "refused", entitlements: ["batches"] });
  });

  it("should clamp each contained request and refuse the batch when one cannot be lowered", () => {
    const clamp = rule({ maxTokens: 500, models: ["demo-*"], beyond: "clamp" });
    const lowered = check([clamp], batch([{ max_tokens: 100 }, { max_tokens: 9_000 }]), account(), "batches");
    expect(lowered.kind === "clamped" && lowered.body).toMatchObject({ requests: [{ params: { max_tokens: 100 } }, { custom_id: "r1", params: { max_tokens: 500 } }] });
    expect(check([clamp], batch([{}, { model: "other" }]), account(), "batches")).toMatchObject({ kind: "refused", entitlements: ["models"] });
  });
});

describe("policy", () => {
  it("should accept entitlement rules with every field optional and refuse unknown ones", () => {
    expect(validatePolicy({ entitlements: [{}, { when: {} }, { maxTokens: 1, beyond: "clamp" }], entitlementHelp: "x" }).ok).toBe(true);
    const bad = validatePolicy({ entitlements: [{ maxTokenz: 1 }, { beyond: "ignore" }] });
    expect(bad.ok).toBe(false);
  });

  it("should describe a rule's accounts in words", () => {
    expect(describeScope(rule({ when: { verified: false, orgTypes: ["education", "research"], tiers: ["free", "build"] } }))).toBe(
      "unverified education or research accounts on the free or build tiers",
    );
    expect(describeScope(rule({}))).toBe("any account");
  });
});
