import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, gateway } from "../../helpers.ts";
import { expectError, json } from "./helpers.ts";

type Counts = { allow: number; tag: number; degrade: number; throttle: number; block: number };
type Stats = {
  since: string;
  until: string;
  bucket: string;
  bucketSeconds: number;
  actions: string[];
  series: Array<{ start: string; enforced: Counts; shadow: Counts }>;
  totals: { enforced: Counts; shadow: Counts };
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// A random hour in 2001, far from the minutes other tests' traffic lands in, so sums are exact.
function isolatedHour(): number {
  return Date.UTC(2001, 0, 1) + Math.floor(Math.random() * 8_000) * HOUR;
}

async function seedCount(minute: number, action: string, count: number, enforced = true): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO decision_counts (minute, action, enforced, count) VALUES (?, ?, ?, ?)
     ON CONFLICT (minute, action, enforced) DO UPDATE SET count = count + excluded.count`,
  )
    .bind(minute, action, enforced ? 1 : 0, count)
    .run();
}

const iso = (ms: number) => new Date(ms).toISOString();

async function stats(query: string): Promise<Stats> {
  const res = await admin("GET", `/stats/decisions?${query}`);
  expect(res.status, query).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return json<Stats>(res);
}

describe("GET /admin/stats/decisions", () => {
  it("should sum decisions per bucket and action, with every bucket present", async () => {
    const hour = isolatedHour();
    await seedCount(hour, "allow", 40);
    await seedCount(hour + 2 * MINUTE, "allow", 2);
    await seedCount(hour + 4 * MINUTE, "block", 3);
    await seedCount(hour + 12 * MINUTE, "throttle", 5);
    await seedCount(hour + 12 * MINUTE, "degrade", 1, false);

    const body = await stats(`since=${iso(hour)}&until=${iso(hour + 15 * MINUTE)}&bucket=5m`);
    expect(body).toMatchObject({ since: iso(hour), until: iso(hour + 15 * MINUTE), bucket: "5m", bucketSeconds: 300 });
    expect(body.actions).toEqual(["allow", "tag", "degrade", "throttle", "block"]);
    expect(body.series.map((p) => p.start)).toEqual([iso(hour), iso(hour + 5 * MINUTE), iso(hour + 10 * MINUTE)]);
    expect(body.series[0]?.enforced).toEqual({ allow: 42, tag: 0, degrade: 0, throttle: 0, block: 3 });
    expect(body.series[1]?.enforced).toEqual({ allow: 0, tag: 0, degrade: 0, throttle: 0, block: 0 });
    expect(body.series[2]?.enforced.throttle).toBe(5);
    // Shadow decisions were not enforced: counted apart, never as enforced degrades.
    expect(body.series[2]?.enforced.degrade).toBe(0);
    expect(body.series[2]?.shadow.degrade).toBe(1);
    expect(body.totals).toEqual({
      enforced: { allow: 42, tag: 0, degrade: 0, throttle: 5, block: 3 },
      shadow: { allow: 0, tag: 0, degrade: 1, throttle: 0, block: 0 },
    });
  });

  it("should align the range outward to bucket boundaries and exclude minutes past until", async () => {
    const hour = isolatedHour();
    await seedCount(hour + 59 * MINUTE, "block", 7);
    await seedCount(hour + HOUR, "block", 100);
    const body = await stats(`since=${iso(hour + 20 * MINUTE)}&until=${iso(hour + HOUR)}&bucket=1h`);
    expect(body.since).toBe(iso(hour));
    expect(body.series).toHaveLength(1);
    expect(body.totals.enforced.block).toBe(7);
  });

  it("should default to the last hour by the minute, and pick a coarser bucket for long ranges", async () => {
    const recent = await stats("");
    expect(recent.bucket).toBe("1m");
    expect(recent.series.length).toBeGreaterThanOrEqual(60);
    expect(recent.series.length).toBeLessThanOrEqual(61);

    const hour = isolatedHour();
    const week = await stats(`since=${iso(hour)}&until=${iso(hour + 7 * 24 * HOUR)}`);
    expect(week.bucket).toBe("15m");
    expect(week.series).toHaveLength(7 * 24 * 4);
  });

  it("should refuse bad queries with 400 naming the field", async () => {
    const hour = isolatedHour();
    const cases: Array<[string, string]> = [
      [`since=${iso(hour)}&until=${iso(hour)}`, "query.until: must be after since"],
      [`since=${iso(hour)}&until=${iso(hour + 2 * 24 * HOUR)}&bucket=1m`, "query.bucket: more than 1440 buckets"],
      ["bucket=7m", "query.bucket"],
      ["since=yesterday", "query.since"],
      ["until=2026-13-01T00:00:00Z", "query.until"],
      ["colour=red", "query"],
    ];
    for (const [query, message] of cases) {
      const body = await expectError(await admin("GET", `/stats/decisions?${query}`), 400, "invalid_request_error");
      expect(body.error.message, query).toContain(message);
    }
  });

  it("should refuse a missing or wrong admin token with 401 and no data", async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer not-the-admin-token" }];
    for (const headers of attempts) {
      const res = await gateway("/admin/stats/decisions", { headers });
      const body = await expectError(res, 401, "authentication_error");
      expect(JSON.stringify(body)).not.toContain("series");
    }
  });
});
