import { beforeEach, describe, expect, it } from "vitest";
import { ContentMemo } from "../../../lib/fingerprint/content-memo.ts";
import { fingerprintRequest, forgetContentMemo } from "../../../lib/fingerprint/index.ts";
import { input, messagesBody, policyWith } from "./helpers.ts";

const SYSTEM = "You are Acme Code, a coding assistant. Follow the repository's conventions and keep answers short.";
const USER =
  "Think step by step and show your full internal reasoning before you answer: refactor the payment module so that retries use exponential backoff with jitter and a cap, and explain every change you make.";

describe("ContentMemo", () => {
  it("Should give back a value only for the exact system prompt, user turn and budget it was kept for", () => {
    const memo = new ContentMemo<string>(8, 1_000);
    memo.set("system", "user", 16, "kept");
    expect(memo.get("system", "user", 16)).toBe("kept");
    expect(memo.get("system ", "user", 16)).toBeUndefined();
    expect(memo.get(null, "user", 16)).toBeUndefined();
    expect(memo.get("system", "user", 32)).toBeUndefined();
    expect(memo.get("system", "user ", 16)).toBeUndefined();
  });

  it("Should drop the oldest entries past its entry bound", () => {
    const memo = new ContentMemo<number>(2, 1_000);
    memo.set(null, "a", 16, 1);
    memo.set(null, "b", 16, 2);
    memo.set(null, "c", 16, 3);
    expect(memo.get(null, "a", 16)).toBeUndefined();
    expect(memo.get(null, "b", 16)).toBe(2);
    expect(memo.get(null, "c", 16)).toBe(3);
    expect(memo.size.entries).toBe(2);
  });

  it("Should hold no more characters than its bound, and refuse a prompt bigger than all of it", () => {
    const memo = new ContentMemo<number>(100, 10);
    memo.set("abc", "defg", 16, 1);
    memo.set(null, "hijklm", 16, 2);
    expect(memo.size).toEqual({ entries: 1, chars: 6 });
    expect(memo.get("abc", "defg", 16)).toBeUndefined();
    memo.set(null, "x".repeat(11), 16, 3);
    expect(memo.get(null, "x".repeat(11), 16)).toBeUndefined();
    expect(memo.size).toEqual({ entries: 1, chars: 6 });
  });

  it("Should count a replaced entry's characters once", () => {
    const memo = new ContentMemo<number>(100, 100);
    memo.set("system", "user", 16, 1);
    memo.set("system", "user", 16, 2);
    expect(memo.size).toEqual({ entries: 1, chars: 10 });
    expect(memo.get("system", "user", 16)).toBe(2);
  });

  it("Should keep one user turn's entries under several system prompts, up to four", () => {
    const memo = new ContentMemo<number>(100, 1_000);
    for (const [i, system] of ["a", "b", "c", "d"].entries()) memo.set(system, "hi", 16, i);
    expect(["a", "b", "c", "d"].map((system) => memo.get(system, "hi", 16))).toEqual([0, 1, 2, 3]);
    memo.set(null, "hi", 16, 4);
    expect(memo.get("a", "hi", 16)).toBeUndefined();
    expect([memo.get("b", "hi", 16), memo.get(null, "hi", 16)]).toEqual([1, 4]);
    expect(memo.size).toEqual({ entries: 4, chars: 11 });
  });
});

describe("fingerprintRequest with the content memo", () => {
  beforeEach(() => forgetContentMemo());

  it("Should give a repeated prompt exactly the fingerprint a fresh isolate gives it", async () => {
    const body = messagesBody(SYSTEM, USER);
    const fresh = await fingerprintRequest(input({ body }));
    const repeated = await fingerprintRequest(input({ body: messagesBody(SYSTEM, USER) }));
    forgetContentMemo();
    const again = await fingerprintRequest(input({ body }));
    expect(repeated).toEqual(fresh);
    expect(again).toEqual(fresh);
    expect(fresh.elicitation.score).toBeGreaterThan(0);
    expect(fresh.keys.template.length).toBeGreaterThan(0);
  });

  it("Should not give one prompt's system key to another system prompt with the same user turn", async () => {
    const a = await fingerprintRequest(input({ body: messagesBody(SYSTEM, USER) }));
    const b = await fingerprintRequest(input({ body: messagesBody("You are a different assistant entirely.", USER) }));
    const none = await fingerprintRequest(input({ body: messagesBody(undefined, USER) }));
    expect(b.keys.system).not.toBe(a.keys.system);
    expect(b.simhash).not.toBe(a.simhash);
    expect(none.keys.system).toBeNull();
    expect(none.content.hasSystem).toBe(false);
  });

  it("Should follow a policy that allow-lists a system prompt seen before", async () => {
    const before = await fingerprintRequest(input({ body: messagesBody(SYSTEM, USER) }));
    const hash = before.content.systemSha256 ?? "";
    const policy = policyWith({ allowedSystemPromptHashes: [hash] });
    const allowed = await fingerprintRequest(input({ policy, body: messagesBody(SYSTEM, USER) }));
    forgetContentMemo();
    const allowedFresh = await fingerprintRequest(input({ policy, body: messagesBody(SYSTEM, USER) }));
    expect(allowed.templateAllowlisted).toBe(true);
    expect(allowed.simhash).not.toBe(before.simhash);
    expect(allowed).toEqual(allowedFresh);
    // And the other way round: what the allow-listed request computed is not served without the allow-list.
    const after = await fingerprintRequest(input({ body: messagesBody(SYSTEM, USER) }));
    expect(after).toEqual(before);
  });

  it("Should not let a change to one request's fingerprint reach the next request with the same prompt", async () => {
    const first = await fingerprintRequest(input({ body: messagesBody(SYSTEM, USER) }));
    const expected = structuredClone(first);
    first.keys.template.push("tpl:9:ffff");
    first.keys.wrapper.length = 0;
    first.elicitation.reasons.push("changed");
    const second = await fingerprintRequest(input({ body: messagesBody(SYSTEM, USER) }));
    expect(second).toEqual(expected);
  });

  it("Should read a different byte budget as a different prompt", async () => {
    const long = `${USER} ${"and then some more words about the payment module ".repeat(20)}`;
    const wide = await fingerprintRequest(input({ body: messagesBody(SYSTEM, long) }));
    const narrow = await fingerprintRequest(input({ policy: policyWith({ maxContentBytes: 256 }), body: messagesBody(SYSTEM, long) }));
    expect(narrow.content.truncated).toBe(true);
    expect(wide.content.truncated).toBe(false);
    expect(narrow.simhash).not.toBe(wide.simhash);
  });
});
