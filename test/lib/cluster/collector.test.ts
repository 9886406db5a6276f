import { describe, expect, it } from "vitest";
import { campaignKeysOf, CollectorBuffer, CONFIRMED_FORWARD_INTERVALS, EDGE_REFRESH_MS, holdsBack, MAX_MEMBERS_PER_KEY, MemberIndex, ToldMembers } from "../../../lib/cluster/collector.ts";
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

  it("should forward a key two accounts reported in different intervals, the first one's counts included, within the pairing time", () => {
    const c = new CollectorBuffer();
    const notShared = () => false;
    const noHold = () => false;
    c.add(report("a", ["wrap:p:quiet", "asn:a"]), 0);
    expect(c.drainDeltas(0, notShared, noHold, 60_000)).toEqual([]);
    // The same account again is still one account: it waits, its counts kept.
    c.add(report("a", ["wrap:p:quiet"]), 10_000);
    expect(c.drainDeltas(10_000, notShared, noHold, 60_000)).toEqual([]);
    c.add(report("b", ["wrap:p:quiet"]), 40_000);
    const deltas = c.drainDeltas(40_000, notShared, noHold, 60_000);
    expect(deltas.map((d) => d.key)).toEqual(["wrap:p:quiet"]);
    expect(deltas[0]?.accounts.slice().sort()).toEqual(["a", "b"]);
    expect(deltas[0]?.counts.requests).toBe(3);
    // Paired once: the wait starts again (the collector's root answer then tracks the key).
    c.add(report("c", ["wrap:p:quiet"]), 50_000);
    expect(c.drainDeltas(50_000, notShared, noHold, 60_000)).toEqual([]);
  });

  it("should forget a single account's key after the pairing time, and pair nothing with a pairing time of 0", () => {
    const c = new CollectorBuffer();
    c.add(report("a", ["system:own"]), 0);
    c.drainDeltas(0, () => false, () => false, 60_000);
    c.add(report("b", ["system:own"]), 61_000);
    expect(c.drainDeltas(61_000, () => false, () => false, 60_000)).toEqual([]);
    // The former rule: a key one account reports alone in an interval is dropped.
    const former = new CollectorBuffer();
    former.add(report("a", ["system:own"]), 0);
    former.drainDeltas(0, () => false);
    former.add(report("b", ["system:own"]), 1_000);
    expect(former.drainDeltas(1_000, () => false)).toEqual([]);
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

describe("a collector's members per key", () => {
  it("Should remember who reported a key in earlier intervals, newest report kept, and only since when asked", () => {
    const m = new MemberIndex();
    m.note("tls:k", ["a", "b"], 1_000);
    m.note("tls:k", ["b", "c"], 2_000);
    expect(m.members("tls:k", 0).sort()).toEqual(["a", "b", "c"]);
    expect(m.members("tls:k", 1_500).sort()).toEqual(["b", "c"]);
    expect(m.memberships).toBe(3);
    expect(m.members("tls:other", 0)).toEqual([]);
    m.forget("tls:k");
    expect(m.members("tls:k", 0)).toEqual([]);
    expect(m.memberships).toBe(0);
  });

  it("Should keep at most MAX_MEMBERS_PER_KEY members of one key, dropping those that reported it longest ago", () => {
    const m = new MemberIndex();
    m.note("tls:k", ["first"], 0);
    m.note("tls:k", Array.from({ length: MAX_MEMBERS_PER_KEY }, (_, i) => `m${i}`), 1);
    expect(m.members("tls:k", 0)).toHaveLength(MAX_MEMBERS_PER_KEY);
    expect(m.members("tls:k", 0)).not.toContain("first");
    expect(m.memberships).toBe(MAX_MEMBERS_PER_KEY);
  });

  it("Should forget the keys no one reported for longest once memberships pass their bound, never the key being noted", () => {
    const m = new MemberIndex();
    const many = (p: string) => Array.from({ length: MAX_MEMBERS_PER_KEY }, (_, i) => `${p}${i}`);
    m.note("asn:old", many("o"), 0);
    // The campaign's key, reported every interval, stays while honest keys come and go.
    for (let i = 0; i < 40; i++) {
      m.note("tls:campaign", ["c1", "c2"], i + 1);
      m.note(`asn:${i}`, many(`h${i}-`), i + 1);
    }
    expect(m.members("asn:old", 0)).toEqual([]);
    expect(m.members("tls:campaign", 0).sort()).toEqual(["c1", "c2"]);
    expect(m.members("asn:39", 0)).toHaveLength(MAX_MEMBERS_PER_KEY);
    expect(m.memberships).toBeLessThanOrEqual(100_000);
  });

  it("Should tell a member once per standing verdict: again only once the verdict it was told of ends or the window passes", () => {
    const t = new ToldMembers();
    const confirmed = new Set(["tls:a", "sys:b"]);
    const stands = (key: string) => confirmed.has(key);
    expect(t.needs("m", 0, stands)).toBe(true);
    t.record("m", ["tls:a"], 1_000, 0);
    // The campaign's next key, confirmed while the first still stands: the member is enforced already.
    expect(t.needs("m", 500, stands)).toBe(false);
    // The first verdict ended: the member is told of the next one.
    confirmed.delete("tls:a");
    expect(t.needs("m", 500, stands)).toBe(true);
    confirmed.add("tls:a");
    // Told before the window's start: told again.
    expect(t.needs("m", 1_001, stands)).toBe(true);
    expect(t.needs("other", 500, stands)).toBe(true);
  });

  it("Should tell a member again of a campaign's other wording that none of the verdicts it was told of lands on", () => {
    const t = new ToldMembers();
    const stands = () => true;
    t.record("m", ["wrap:s:first"], 1_000, 0);
    // The second wording's own verdict, or one whose signature names it, is what lands on its requests.
    expect(t.needs("m", 500, stands, (told) => told === "wrap:s:second")).toBe(true);
    // A broad key told before whose signature names the second wording: enforced already.
    t.record("m", ["tls:a"], 1_000, 0);
    expect(t.needs("m", 500, stands, (told) => told === "wrap:s:second" || told === "tls:a")).toBe(false);
    // Without `covers` (a client or network key), told once per standing verdict as before.
    expect(t.needs("m", 500, stands)).toBe(false);
  });

  it("Should forget members told before the window, keeping those told since", () => {
    const t = new ToldMembers();
    t.record("old", ["tls:a"], 0, 0);
    t.record("mid", ["tls:a"], 10, 0);
    t.record("new", ["tls:a"], 20, 15);
    expect(t.size).toBe(1);
    expect(t.needs("new", 15, () => true)).toBe(false);
    expect(t.needs("old", 0, () => true)).toBe(true);
  });

  it("Should tell which accounts reported a key since the last drain", () => {
    const c = new CollectorBuffer();
    c.add(report("a", ["tls:k"]), 0);
    c.add(report("b", ["tls:k"]), 0);
    expect(c.accountsOf("tls:k").sort()).toEqual(["a", "b"]);
    c.drainDeltas(0, () => false);
    expect(c.accountsOf("tls:k")).toEqual([]);
  });
});

describe("a confirmed campaign's members among a key's requests", () => {
  it("Should count a member's requests on its other keys as a campaign's, and not on the confirmed key itself", () => {
    const c = new CollectorBuffer();
    c.add(report("member", ["wrap:s:first", "wrap:s:second"]), 0, new Set(["wrap:s:first"]));
    c.add(report("other", ["wrap:s:second"]), 0, new Set());
    const deltas = new Map(c.drainDeltas(0, () => true).map((d) => [d.key, d.counts]));
    expect(deltas.get("wrap:s:second")).toMatchObject({ requests: 2, campaignChecked: 2, campaignMembers: 1 });
    expect(deltas.get("wrap:s:first")).toMatchObject({ requests: 1, campaignChecked: 1, campaignMembers: 0 });
  });

  it("Should leave a key's requests unchecked while the collector holds no confirmed campaign", () => {
    const c = new CollectorBuffer();
    c.add(report("a", ["wrap:s:one"]), 0);
    c.add(report("b", ["wrap:s:one"]), 0);
    const [delta] = c.drainDeltas(0, () => true);
    expect(delta?.counts).not.toHaveProperty("campaignChecked");
    expect(delta?.counts).not.toHaveProperty("campaignMembers");
  });

  it("Should know an account as a campaign's member from its report or from an earlier interval since the bound, not before", () => {
    const members = new MemberIndex();
    members.note("wrap:s:first", ["early", "late"], 1_000);
    members.note("wrap:s:first", ["late"], 5_000);
    const confirmed = new Set(["wrap:s:first", "system:other"]);
    expect([...campaignKeysOf("late", {}, confirmed, members, 2_000)]).toEqual(["wrap:s:first"]);
    expect([...campaignKeysOf("early", {}, confirmed, members, 2_000)]).toEqual([]);
    expect([...campaignKeysOf("new", { "system:other": {} }, confirmed, members, 2_000)]).toEqual(["system:other"]);
    expect(members.has("wrap:s:first", "early", 1_000)).toBe(true);
  });
});
