import { describe, expect, it } from "vitest";
import { admin, unique } from "../../helpers.ts";
import { expectError, hex, json, seedComponent, seedDecision, seedEdge, seedKey } from "./helpers.ts";

type ListItem = { id: string; type: string; kind: string | null; size: number; requestsPerWindow: number; verdict: string; sharedKeys: string[] | null; sharedKeyCount: number | null };
type List = { clusters: ListItem[]; nextCursor: string | null };

// Sizes far above anything other tests seed, so a minSize filter isolates this file's rows.
let base = 5_000_000 + Math.floor(Math.random() * 1_000_000) * 10;

async function list(query: string): Promise<List> {
  const res = await admin("GET", `/clusters?${query}`);
  expect(res.status, query).toBe(200);
  return json<List>(res);
}

describe("GET /admin/clusters", () => {
  it("should list components and key roll-ups together, filtered and sorted", async () => {
    base += 100;
    const big = await seedComponent({ size: base + 3, verdict: "confirmed", rate: 10, updatedAt: 1_000, keys: [`tls:${hex()}`, `asn:${base}`] });
    const key = await seedKey({ key: `tls:${hex()}`, accounts: base + 2, rate: 30, verdict: "suspect", updatedAt: 3_000 });
    const small = await seedComponent({ size: base + 1, verdict: "suspect", rate: 20, updatedAt: 2_000 });

    const bySize = await list(`minSize=${base}`);
    expect(bySize.clusters.map((c) => c.id)).toEqual([big, key, small]);
    expect(bySize.clusters[0]).toMatchObject({ type: "component", kind: null, verdict: "confirmed", sharedKeyCount: 2 });
    expect(bySize.clusters[1]).toMatchObject({ type: "key", kind: "tls", sharedKeys: null, requestsPerWindow: 30 });

    expect((await list(`minSize=${base}&sort=rate`)).clusters.map((c) => c.id)).toEqual([key, small, big]);
    expect((await list(`minSize=${base}&sort=updated`)).clusters.map((c) => c.id)).toEqual([key, small, big]);
    expect((await list(`minSize=${base}&verdict=suspect`)).clusters.map((c) => c.id)).toEqual([key, small]);
    expect((await list(`minSize=${base}&type=component`)).clusters.map((c) => c.id)).toEqual([big, small]);
  });

  it("should page with a cursor that keeps the sort, across both kinds", async () => {
    base += 100;
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push(i % 2 ? await seedKey({ key: `sdk:${hex()}`, accounts: base + i, rate: 100 - i }) : await seedComponent({ size: base + i, rate: 100 - i }));
    }
    for (const sort of ["size", "rate"]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: List = await list(`minSize=${base}&sort=${sort}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        seen.push(...page.clusters.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(sort === "size" ? [...ids].reverse() : ids);
    }
  });

  it("should refuse bad filters with 400 naming the parameter", async () => {
    for (const [query, field] of [
      ["verdict=guilty", "query.verdict"],
      ["minSize=-1", "query.minSize"],
      ["sort=name", "query.sort"],
      ["type=account", "query.type"],
      ["limit=501", "query.limit"],
      ["cursor=bm90LWEtY3Vyc29y", "query.cursor"],
      ["colour=red", "query"],
    ]) {
      const body = await expectError(await admin("GET", `/clusters?${query}`), 400, "invalid_request_error");
      expect(body.error.message, query).toContain(field);
    }
  });
});

type ComponentDetail = {
  cluster: { id: string; type: string; size: number; verdict: string; reasons: string[] };
  sharedKeys: Array<{ id: string; size?: number; rollup?: null }>;
  members: Array<{ account: string; tier: string | null }>;
  nextCursor: string | null;
  timeline: Array<{ account: string; action: string; kind: string; reasons: string[] }>;
};

type KeyDetail = {
  cluster: { id: string; type: string; kind?: string; size?: number; synchrony?: number; rollup?: null };
  accounts: Array<{ account: string; firstSeen: string; lastSeen: string }>;
  nextCursor: string | null;
  components: string[];
};

describe("GET /admin/clusters/{id}", () => {
  it("should show a component's members page by page, its shared keys with roll-ups and its timeline", async () => {
    const members = [unique("m"), unique("m"), unique("m")].sort();
    const known = await seedKey({ key: `tls:${hex()}`, accounts: 40 });
    const unknown = `headers:${hex()}`;
    const id = await seedComponent({ members, keys: [known, unknown], verdict: "confirmed", reasons: "synchronized" });
    await seedDecision(members[0] ?? "", { action: "throttle", reasons: "cluster_verdict" });

    const first = await json<ComponentDetail>(await admin("GET", `/clusters/${encodeURIComponent(id)}?limit=2`));
    expect(first.cluster).toMatchObject({ id, type: "component", size: 3, verdict: "confirmed", reasons: ["synchronized"] });
    expect(first.members.map((m) => m.account)).toEqual(members.slice(0, 2));
    expect(first.sharedKeys).toEqual([expect.objectContaining({ id: known, size: 40 }), { id: unknown, type: "key", rollup: null, members: 0 }]);
    expect(first.timeline).toEqual([expect.objectContaining({ account: members[0], kind: "decision", action: "throttle", reasons: ["cluster_verdict"] })]);
    const second = await json<ComponentDetail>(await admin("GET", `/clusters/${encodeURIComponent(id)}?limit=2&cursor=${first.nextCursor}`));
    expect(second.members.map((m) => m.account)).toEqual(members.slice(2));
    expect(second.nextCursor).toBeNull();
  });

  it("should show a fingerprint key's roll-up, the accounts on that edge and their components", async () => {
    const key = await seedKey({ key: `tls:${hex()}`, accounts: 25 });
    const [a, b] = [unique("edge"), unique("edge")];
    await seedEdge(a, key, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2));
    await seedEdge(b, key);
    const component = await seedComponent({ members: [a], keys: [key] });
    const res = await admin("GET", `/clusters/${encodeURIComponent(key)}`);
    expect(res.status).toBe(200);
    const detail = await json<KeyDetail>(res);
    expect(detail.cluster).toMatchObject({ id: key, type: "key", kind: "tls", size: 25, synchrony: 0.7 });
    expect(detail.accounts).toContainEqual({ account: a, firstSeen: "2026-01-01T00:00:00.000Z", lastSeen: "2026-01-02T00:00:00.000Z" });
    expect(detail.accounts).toHaveLength(2);
    expect(detail.components).toEqual([component]);
  });

  it("should find a prefix key whose slash is URL-encoded or raw, and a key known only from edges", async () => {
    const key = `prefix:198.51.${Math.floor(Math.random() * 250)}.0/24`;
    await seedEdge(unique("edge"), key);
    for (const path of [encodeURIComponent(key), key]) {
      const res = await admin("GET", `/clusters/${path}`);
      expect(res.status, path).toBe(200);
      expect(await json<KeyDetail>(res)).toMatchObject({ cluster: { id: key, rollup: null } });
    }
  });

  it("should answer unknown ids with 404 and malformed ones with 400", async () => {
    await expectError(await admin("GET", `/clusters/${encodeURIComponent(`cc:${unique("none")}`)}`), 404, "not_found_error");
    await expectError(await admin("GET", `/clusters/${encodeURIComponent(`tls:${hex()}`)}`), 404, "not_found_error");
    const bad = await expectError(await admin("GET", "/clusters/not-a-key"), 400, "invalid_request_error");
    expect(bad.error.message).toContain("path");
  });
});

describe("GET /admin/clusters/{id}: why a cluster has its verdict", () => {
  type Explained = {
    windowSeconds: number;
    cluster: {
      requestsPerWindow: number;
      keyRates: { busiest: number | null; sum: number; keys: number };
      verdictBasis: { members: number; onConfirmedKeys: number; onSuspectKeys: number; confirmShare: number; minAccounts: number };
      basisComplete: boolean;
    };
    sharedKeys: Array<{ id: string; members: number }>;
  };

  it("should say which members carry each linking key, how many sit on judged keys, and the rate from its keys", async () => {
    const members = [unique("m"), unique("m"), unique("m"), unique("m")];
    const [tpl, tls, system] = [`tpl:0:${hex(4)}`, `tls:${hex()}`, `system:${hex()}`];
    await seedKey({ key: tpl, rate: 120, verdict: "confirmed" });
    // A broad key's verdict says nothing about one account: it is not counted for the component.
    await seedKey({ key: tls, rate: 300, verdict: "confirmed" });
    await seedKey({ key: system, rate: 40, verdict: "suspect" });
    for (const m of members.slice(0, 2)) await seedEdge(m, tpl);
    for (const m of members) await seedEdge(m, tls);
    await seedEdge(members[2] ?? "", system);
    const id = await seedComponent({ members, keys: [tpl, tls, system], verdict: "confirmed" });

    const res = await admin("GET", `/clusters/${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    const d = await json<Explained>(res);
    expect(d.windowSeconds).toBe(60);
    expect(Object.fromEntries(d.sharedKeys.map((k) => [k.id, k.members]))).toEqual({ [tpl]: 2, [tls]: 4, [system]: 1 });
    expect(d.cluster.verdictBasis).toEqual({ members: 4, onConfirmedKeys: 2, onSuspectKeys: 1, confirmShare: 0.5, minAccounts: 20 });
    expect(d.cluster.basisComplete).toBe(true);
    expect(d.cluster.keyRates).toEqual({ busiest: 300, sum: 460, keys: 3 });

    // In the list, a component the linker gave no rate shows its busiest key's.
    const listed = await json<List>(await admin("GET", `/clusters?type=component&sort=updated&limit=500`));
    expect(listed.clusters.find((c) => c.id === id)?.requestsPerWindow).toBe(300);
  });
});
