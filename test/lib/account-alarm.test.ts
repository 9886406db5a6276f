import { describe, expect, it } from "vitest";
import { AUDIT_FLUSH_DELAY_MS, FLUSH_RETRY_MS, nextAlarmAt, PRUNE_SLACK_MS, type AlarmState } from "../../lib/account-alarm.ts";

const NOW = 1_000_000;
const idle: AlarmState = {
  now: NOW,
  writesPending: false,
  flushDueAt: null,
  lastFlush: null,
  nextLeaseExpiry: Number.POSITIVE_INFINITY,
  reportDueAt: null,
  writeBehindDueAt: null,
  lastExpiry: Number.NEGATIVE_INFINITY,
};

describe("nextAlarmAt", () => {
  it("should set no alarm when nothing is pending", () => {
    expect(nextAlarmAt(idle)).toBeNull();
  });

  it("should hand pending writes over at the outbox's deadline, or within the audit delay when it has none", () => {
    expect(nextAlarmAt({ ...idle, writesPending: true, flushDueAt: NOW + 30_000 })).toBe(NOW + 30_000);
    expect(nextAlarmAt({ ...idle, writesPending: true })).toBe(NOW + AUDIT_FLUSH_DELAY_MS);
  });

  it("should continue at once after a partial hand-off and back off after a failed one", () => {
    expect(nextAlarmAt({ ...idle, writesPending: true, flushDueAt: NOW + 5_000, lastFlush: "more" })).toBe(NOW);
    expect(nextAlarmAt({ ...idle, writesPending: true, flushDueAt: NOW + 5_000, lastFlush: "failed" })).toBe(NOW + FLUSH_RETRY_MS);
  });

  it("should ignore the outbox's deadline once nothing is pending", () => {
    expect(nextAlarmAt({ ...idle, flushDueAt: NOW + 5_000 })).toBeNull();
  });

  it("should wake for the earliest of a lease expiry and the cluster report", () => {
    expect(nextAlarmAt({ ...idle, nextLeaseExpiry: NOW + 120_000, reportDueAt: NOW + 10_000 })).toBe(NOW + 10_000);
    expect(nextAlarmAt({ ...idle, writesPending: true, nextLeaseExpiry: NOW + 1_000 })).toBe(NOW + 1_000);
  });

  it("should wake when counts written behind are due, even with nothing else pending", () => {
    expect(nextAlarmAt({ ...idle, writeBehindDueAt: NOW + 30_000 })).toBe(NOW + 30_000);
    expect(nextAlarmAt({ ...idle, writeBehindDueAt: NOW + 30_000, writesPending: true })).toBe(NOW + AUDIT_FLUSH_DELAY_MS);
  });

  it("should prune once, a minute after the last counter leaves its window, never in the past", () => {
    expect(nextAlarmAt({ ...idle, lastExpiry: NOW + 86_400_000 })).toBe(NOW + 86_400_000 + PRUNE_SLACK_MS);
    expect(nextAlarmAt({ ...idle, lastExpiry: NOW - 5_000 })).toBe(NOW + PRUNE_SLACK_MS);
    expect(nextAlarmAt({ ...idle, reportDueAt: NOW + 1_000, lastExpiry: NOW + 86_400_000 })).toBe(NOW + 1_000);
  });
});
