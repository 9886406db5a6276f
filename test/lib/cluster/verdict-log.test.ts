import { describe, expect, it } from "vitest";
import { FEED_CHANGES_PER_ANSWER, feedChange, VerdictLog } from "../../../lib/cluster/collector.ts";

const HOUR = 3_600_000;
const confirmed = { verdict: "confirmed", decidedAt: 100, signature: '{"bands":["tpl:0:a"]}' };

describe("what the verdict feed announces", () => {
  it("Should announce a key becoming confirmed and a confirmed key's end, and nothing about keys that never were", () => {
    expect(feedChange(undefined, confirmed, 1_000, HOUR)).toBe(true);
    expect(feedChange({ ...confirmed, changedAt: 1_000 }, { ...confirmed, verdict: "none", decidedAt: 2_000 }, 2_000, HOUR)).toBe(true);
    expect(feedChange({ ...confirmed, changedAt: 1_000 }, { ...confirmed, verdict: "suspect", decidedAt: 2_000 }, 2_000, HOUR)).toBe(true);
    expect(feedChange(undefined, { ...confirmed, verdict: "suspect" }, 1_000, HOUR)).toBe(false);
    expect(feedChange({ ...confirmed, verdict: "suspect", changedAt: null }, { ...confirmed, verdict: "none" }, 1_000, HOUR)).toBe(false);
  });

  it("Should announce a confirmed verdict's new signature or decision, but not a mere restatement until the re-announcement is due", () => {
    const before = { ...confirmed, changedAt: 1_000 };
    expect(feedChange(before, confirmed, 1_000 + HOUR - 1, HOUR)).toBe(false);
    expect(feedChange(before, confirmed, 1_000 + HOUR, HOUR)).toBe(true);
    expect(feedChange(before, { ...confirmed, signature: '{"bands":["tpl:0:b"]}' }, 2_000, HOUR)).toBe(true);
    expect(feedChange(before, { ...confirmed, decidedAt: 200 }, 2_000, HOUR)).toBe(true);
  });
});

describe("the verdict feed's versions", () => {
  it("Should give a reporter the changes after its version only, each key once at its latest version", () => {
    const log = new VerdictLog();
    const a1 = log.record("a", 1_000);
    log.record("b", 1_000);
    const b2 = log.record("b", 1_000);
    expect(a1).toBe(1_000);
    // Versions only grow, even within one millisecond.
    expect(b2).toBe(1_002);
    expect(log.since(a1)).toEqual({ version: b2, keys: ["b"] });
    expect(log.since(b2)).toEqual({ version: b2, keys: [] });
    expect(log.since(0)).toEqual({ version: b2, keys: ["a", "b"] });
  });

  it("Should page a reporter that is behind, oldest first, and bring it to the newest version over its next answers", () => {
    const log = new VerdictLog();
    const first = log.record("k0", 10);
    for (let i = 1; i < 3 * FEED_CHANGES_PER_ANSWER; i++) log.record(`k${i}`, 10);
    let since = first;
    const seen: string[] = [];
    for (let answers = 0; answers < 10 && since < log.version; answers++) {
      const page = log.since(since);
      expect(page.keys.length).toBeLessThanOrEqual(FEED_CHANGES_PER_ANSWER);
      seen.push(...page.keys);
      since = page.version;
    }
    expect(since).toBe(log.version);
    expect(seen).toEqual(Array.from({ length: 3 * FEED_CHANGES_PER_ANSWER - 1 }, (_, i) => `k${i + 1}`));
  });

  it("Should give a reporter that has seen nothing the latest changes first and the newest version", () => {
    const log = new VerdictLog();
    for (let i = 0; i < FEED_CHANGES_PER_ANSWER + 5; i++) log.record(`k${i}`, 10);
    const fresh = log.since(0);
    expect(fresh.version).toBe(log.version);
    expect(fresh.keys).toHaveLength(FEED_CHANGES_PER_ANSWER);
    expect(fresh.keys.at(-1)).toBe(`k${FEED_CHANGES_PER_ANSWER + 4}`);
    expect(fresh.keys).not.toContain("k0");
  });

  it("Should keep announcing after a restart above every stored version, and forget a key whose row is gone", () => {
    const log = new VerdictLog();
    log.restore([{ key: "b", version: 5_000 }, { key: "a", version: 4_000 }]);
    expect(log.since(4_000)).toEqual({ version: 5_000, keys: ["b"] });
    // The clock may read earlier than a stored version after a restart: the next one is still above it.
    expect(log.record("c", 1_000)).toBe(5_001);
    log.forget("b");
    expect(log.since(4_000).keys).toEqual(["c"]);
  });

  it("Should bring a reporter further behind than the kept log up to date after endless changes", () => {
    const log = new VerdictLog();
    const early = log.record("early", 1);
    for (let i = 0; i < 5_000; i++) log.record(`churn${i % 3_000}`, 1);
    const behind = log.since(early);
    expect(behind.version).toBe(log.version);
    expect(behind.keys).toHaveLength(FEED_CHANGES_PER_ANSWER);
  });
});
