import { describe, expect, it } from "vitest";
import { CREATION_BUCKET_MS, creationBucket, ReportBuffer, type ReportedRequest } from "../../../lib/cluster/report.ts";

const request: ReportedRequest = { at: 1_000, keys: ["asn:1", "tls+sdk:c"], bands: [], model: "m", inputTokens: 10, outputTokens: 20, elicited: false };

describe("account reports of verdict evidence", () => {
  it("should count hosting, client, system prompt and creation bucket per key", () => {
    const buffer = new ReportBuffer();
    const created = creationBucket(5 * CREATION_BUCKET_MS + 1);
    buffer.add({ ...request, hosting: true, client: "tls+sdk:c", system: "system:s", created });
    buffer.add({ ...request, hosting: false, client: "tls+sdk:c", system: null, created });
    const report = buffer.drain("acct");
    expect(report?.keys["asn:1"]).toMatchObject({ requests: 2, hosting: 1, clients: { "tls+sdk:c": 2 }, systems: { "system:s": 1 }, created: { "5": 2 } });
  });

  it("should report no evidence field for facts the account did not know", () => {
    const buffer = new ReportBuffer();
    buffer.add(request);
    const counts = buffer.drain("acct")?.keys["asn:1"];
    expect(counts).toBeDefined();
    for (const field of ["hosting", "clients", "systems", "created"]) expect(counts).not.toHaveProperty(field);
  });

  it("should put accounts created hours apart in one creation bucket and days apart in different ones", () => {
    const t = 100 * CREATION_BUCKET_MS;
    expect(creationBucket(t + 1)).toBe(creationBucket(t + CREATION_BUCKET_MS - 1));
    expect(creationBucket(t)).not.toBe(creationBucket(t + 4 * CREATION_BUCKET_MS));
  });
});
