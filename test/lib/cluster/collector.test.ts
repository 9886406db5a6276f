import { describe, expect, it } from "vitest";
import { CollectorBuffer, CONFIRMED_FORWARD_INTERVALS, EDGE_REFRESH_MS, holdsBack } from "../../../lib/cluster/collector.ts";
import { ReportBuffer } from "../../../lib/cluster/report.ts";

function report(accountId: string, keys: string[], at = 1_000) {
  const buffer = new ReportBuffer();
  buffer.add({ at, keys, bands: [], model: "m", inputTokens: 10, outputTokens: 20, elicited: false });
  const r = buffer.drain(accountId);
  if (!r) throw new Error("empty report");
  return r;
}

describe("cluster collector buffer", () => {
  it("should forward keys two accounts share, and singletons only when a root already tracks them", () => {
    const c = new CollectorBuffer();
    c.add(report("a", ["asn:1", "tls:shared"]), 0);
    c.add(report("b", ["asn:2", "tls:shared"]), 0);
    const deltas = c.drainDeltas(0, (key) => key === "asn:2");
    expect(deltas.map((d) => d.key).sort()).toEqual(["asn:2", "tls:shared"]);
    expect(deltas.find((d) => d.key === "tls:shared")).toMatchObject({ accounts: ["a", "b"], counts: { requests: 2, outputTokens: 40 } });
    expect(c.hasKeys).toBe(false);
    expect(c.drainDeltas(0, () => true)).toEqual([]);
  });

  it("should keep a held key's counts and accounts and forward them summed with the next drain", () => {
    const c = new CollectorBuffer();
    c.add(report("a", ["tls:held", "asn:1"]), 0);
    c.add(report("b", ["tls:held", "asn:1"]), 0);
    const first = c.drainDeltas(0, () => false, (key) => key === "tls:held");
    expect(first.map((d) => d.key)).toEqual(["asn:1"]);
    expect(c.hasKeys).toBe(true);
    c.add(report("c", ["tls:held"]), 1_000);
    const second = c.drainDeltas(1_000, () => true);
    expect(second).toHaveLength(1);
    expect(second[0]).toMatchObject({ key: "tls:held", accounts: ["a", "b", "c"], counts: { requests: 3, outputTokens: 60 } });
    expect(c.hasKeys).toBe(false);
  });

  it("should write an edge once, then again only after the refresh interval", () => {
    const c = new CollectorBuffer();
    c.add(report("a", ["asn:1", "tls:x"]), 0);
    const first = c.takeEdges(100);
    expect(first.map((e) => e.key).sort()).toEqual(["asn:1", "tls:x"]);
    c.markWritten(first, 0);
    c.add(report("a", ["asn:1", "tls:x", "tls:y"]), 60_000);
    expect(c.takeEdges(100).map((e) => e.key)).toEqual(["tls:y"]);
    c.add(report("a", ["asn:1"]), EDGE_REFRESH_MS + 1);
    expect(c.takeEdges(100).map((e) => e.key)).toEqual(["asn:1"]);
  });

  it("should queue edges D1 refused again, and take them in bounded batches", () => {
    const c = new CollectorBuffer();
    c.add(report("a", ["k:1", "k:2", "k:3"]), 0);
    const batch = c.takeEdges(2);
    expect(batch).toHaveLength(2);
    expect(c.pendingEdges).toBe(1);
    c.failed(batch);
    expect(c.pendingEdges).toBe(3);
  });
});

describe("holding a confirmed key between forwards", () => {
  const intervalMs = 10_000;
  const holdMs = CONFIRMED_FORWARD_INTERVALS * intervalMs;

  it("Should hold a confirmed key until CONFIRMED_FORWARD_INTERVALS intervals have passed since its last forward", () => {
    expect(holdsBack(true, 0, holdMs - 1, intervalMs)).toBe(true);
    expect(holdsBack(true, 0, holdMs, intervalMs)).toBe(false);
  });

  it("Should never hold a key that is not confirmed or was never forwarded", () => {
    expect(holdsBack(false, 0, 1, intervalMs)).toBe(false);
    expect(holdsBack(true, undefined, 1, intervalMs)).toBe(false);
  });
});
