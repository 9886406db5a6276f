import { describe, expect, it } from "vitest";
import { gateway } from "../helpers.ts";

describe("GET /favicon.ico", () => {
  it("should answer 200 with a cacheable SVG icon and no admin token", async () => {
    const res = await gateway("/favicon.ico");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.headers.get("cache-control")).toMatch(/public, max-age=\d+/);
    const body = await res.text();
    expect(body).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(body).not.toMatch(/<script|on\w+=/i);
  });

  it("should still 404 other root paths in the gateway's error shape", async () => {
    const res = await gateway("/favicon.png");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { type: string }).type).toBe("error");
  });
});
