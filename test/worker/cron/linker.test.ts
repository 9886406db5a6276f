import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, policySchema } from "../../../lib/policy/index.ts";
import { accountObjectName } from "../../../lib/names.ts";
import { linkClusters } from "../../../worker/cron/linker.ts";
import { unique } from "../../helpers.ts";

async function edge(accountId: string, key: string) {
  const now = Date.now();
  await env.DB.prepare(`INSERT OR IGNORE INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)`)
    .bind(accountId, key, key.split(":")[0], now, now)
    .run();
}

async function clusterOf(accountId: string) {
  return env.DB.prepare(
    `SELECT c.id, c.size, c.verdict, c.keys FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id WHERE m.account_id = ?`,
  )
    .bind(accountId)
    .first<{ id: string; size: number; verdict: string; keys: string }>();
}

const signature = { bands: ["tpl:0:beef", "tpl:1:cafe"], eliciting: true };

describe("cron linker: connected components in D1", () => {
  it("should put accounts linked only transitively (A~B by payment, B~C by TLS) in one component", async () => {
    const [a, b, c] = [unique("A"), unique("B"), unique("C")];
    const payment = `payment:${unique("p")}`;
    const tls = `tls:${unique("t")}`;
    await edge(a, payment);
    await edge(b, payment);
    await edge(b, tls);
    await edge(c, tls);
    await edge(c, `asn:${unique("asn")}`);
    await linkClusters(env, DEFAULT_POLICY);
    const ca = await clusterOf(a);
    const cc = await clusterOf(c);
    expect(ca?.id).toBeDefined();
    expect(ca?.id).toBe(cc?.id);
    expect(ca?.size).toBe(3);
    expect(JSON.parse(ca?.keys ?? "[]")).toEqual([payment, tls].sort());
    // Three accounts with no campaign evidence: linked, but no verdict.
    expect(ca?.verdict).toBe("none");
  });

  it("should not link through an ASN (too broad) or an allow-listed key", async () => {
    const [a, b] = [unique("A"), unique("B")];
    const asn = `asn:${unique("n")}`;
    await edge(a, asn);
    await edge(b, asn);
    await linkClusters(env, DEFAULT_POLICY);
    expect(await clusterOf(a)).toBeNull();
  });

  it("should confirm a component whose members mostly sit on a confirmed key", async () => {
    const hot = `system:${unique("hot")}`;
    const members = Array.from({ length: 6 }, () => unique("m"));
    for (const m of members.slice(0, 4)) await edge(m, hot);
    // The last two vary the system prompt but share a payment fingerprint with a member on it.
    const pay = `payment:${unique("pay")}`;
    for (const m of [members[3], members[4], members[5]]) if (m) await edge(m, pay);
    await env.DB.prepare(
      `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
         elicitation_share, top_model, verdict, reasons, allowlisted, updated_at, signature)
         VALUES (?, 'system', 4, 100, 1000, 0.9, 1, 1, NULL, 'confirmed', '', 0, ?, ?)`,
    )
      .bind(hot, Date.now(), JSON.stringify(signature))
      .run();
    await linkClusters(env, DEFAULT_POLICY);
    const cluster = await clusterOf(members[5] ?? "");
    expect(cluster?.size).toBe(6);
    expect(cluster?.verdict).toBe("confirmed");
    // The member that varied everything but the card is told, with what the campaign's requests look like.
    const state = await env.ACCOUNTS.getByName(accountObjectName(members[5] ?? "")).inspect();
    expect(state.clusters).toContainEqual(expect.objectContaining({ cluster: cluster?.id, verdict: "confirmed", signature }));
  });

  it("should not link accounts whose prompts share a template band, nor through an ASN", async () => {
    const [a, b] = [unique("A"), unique("B")];
    const band = `tpl:2:${unique("band")}`;
    await edge(a, band);
    await edge(b, band);
    await linkClusters(env, DEFAULT_POLICY);
    expect(await clusterOf(a)).toBeNull();
  });

  it("should drop a member that left its component, and a component that no longer links anyone", async () => {
    const [a, b, c] = [unique("A"), unique("B"), unique("C")];
    const shared = `payment:${unique("p")}`;
    for (const m of [a, b, c]) await edge(m, shared);
    const pair = [unique("A"), unique("B")];
    const card = `payment:${unique("q")}`;
    for (const m of pair) await edge(m, card);
    await linkClusters(env, DEFAULT_POLICY);
    const before = await clusterOf(a);
    const gone = await clusterOf(pair[0] ?? "");
    expect(before?.size).toBe(3);
    expect(gone?.size).toBe(2);

    await env.DB.prepare(`DELETE FROM account_fingerprints WHERE account_id = ? OR fp_key = ?`).bind(c, card).run();
    await linkClusters(env, DEFAULT_POLICY);
    const after = await clusterOf(a);
    expect(after?.id).toBe(before?.id);
    expect(after?.size).toBe(2);
    expect(await clusterOf(c)).toBeNull();
    expect(await clusterOf(pair[1] ?? "")).toBeNull();
    const rows = await env.DB.prepare(`SELECT COUNT(*) AS n FROM clusters WHERE id = ?`).bind(gone?.id ?? "").first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("should withdraw a component's verdict from its members when the component clears, and when it dissolves", async () => {
    async function confirmedComponent() {
      const hot = `system:${unique("hot")}`;
      const card = `payment:${unique("card")}`;
      const members = Array.from({ length: 4 }, () => unique("m"));
      for (const m of members) {
        await edge(m, hot);
        await edge(m, card);
      }
      await env.DB.prepare(
        `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
           elicitation_share, top_model, verdict, reasons, allowlisted, updated_at, signature)
           VALUES (?, 'system', 4, 100, 1000, 0.9, 1, 1, NULL, 'confirmed', '', 0, ?, ?)`,
      )
        .bind(hot, Date.now(), JSON.stringify(signature))
        .run();
      return { hot, card, members };
    }
    const componentVerdictOf = async (accountId: string) =>
      (await env.ACCOUNTS.getByName(accountObjectName(accountId)).inspect()).clusters.filter((v) => v.cluster.startsWith("cc:"));

    const cleared = await confirmedComponent();
    const dissolved = await confirmedComponent();
    await linkClusters(env, DEFAULT_POLICY);
    for (const m of [cleared.members[0], dissolved.members[0]]) {
      expect(await componentVerdictOf(m ?? "")).toEqual([expect.objectContaining({ verdict: "confirmed" })]);
    }

    // The key's root withdrew its verdict: the component is only linked now, and its members must not stay capped.
    await env.DB.prepare(`UPDATE fingerprint_keys SET verdict = 'none' WHERE fp_key = ?`).bind(cleared.hot).run();
    // The other campaign's accounts stopped sharing anything: no component is left to hold a verdict.
    await env.DB.prepare(`DELETE FROM account_fingerprints WHERE fp_key IN (?, ?)`).bind(dissolved.hot, dissolved.card).run();
    await linkClusters(env, DEFAULT_POLICY);
    expect((await clusterOf(cleared.members[0] ?? ""))?.verdict).toBe("none");
    expect(await clusterOf(dissolved.members[0] ?? "")).toBeNull();
    for (const m of [...cleared.members, ...dissolved.members]) expect(await componentVerdictOf(m)).toEqual([]);
  });

  it("should store a component's rate as its busiest linking key's, and keep it current as the keys' rates move", async () => {
    async function rollup(key: string, rate: number) {
      await env.DB.prepare(
        `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
           elicitation_share, top_model, verdict, reasons, allowlisted, updated_at)
           VALUES (?1, ?2, 2, ?3, 0, 0, 0, 0, NULL, 'none', '', 0, 1)
         ON CONFLICT (fp_key) DO UPDATE SET requests_per_window = ?3`,
      )
        .bind(key, key.split(":")[0], rate)
        .run();
    }
    const rowOf = async (accountId: string) =>
      env.DB.prepare(
        `SELECT c.requests_per_window AS rate, c.updated_at AS updatedAt, c.size FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id
         WHERE m.account_id = ?`,
      )
        .bind(accountId)
        .first<{ rate: number; updatedAt: number; size: number }>();
    const [a, b, c, d] = [unique("A"), unique("B"), unique("C"), unique("D")];
    const [card, tls] = [`payment:${unique("p")}`, `tls:${unique("t")}`];
    await edge(a, card);
    await edge(b, card);
    await edge(b, tls);
    await edge(c, tls);
    await rollup(card, 40);
    await rollup(tls, 90);
    // A pair linked by a key no root has written a roll-up for: no rate known, so none claimed.
    const [e, f] = [unique("E"), unique("F")];
    const unseen = `payment:${unique("u")}`;
    await edge(e, unseen);
    await edge(f, unseen);
    const t0 = Date.now();
    await linkClusters(env, DEFAULT_POLICY, t0);
    expect(await rowOf(a)).toEqual({ rate: 90, updatedAt: t0, size: 3 });
    expect((await rowOf(e))?.rate).toBe(0);

    // Only the rates moved: the component is as it was, its rate follows its busiest key's.
    await rollup(card, 150);
    await rollup(tls, 10);
    await linkClusters(env, DEFAULT_POLICY, t0 + 1_000);
    expect(await rowOf(a)).toEqual({ rate: 150, updatedAt: t0, size: 3 });

    // A new member changes the component: its row is rewritten, the rate with it.
    await edge(d, tls);
    await rollup(tls, 200);
    await linkClusters(env, DEFAULT_POLICY, t0 + 2_000);
    expect(await rowOf(d)).toEqual({ rate: 200, updatedAt: t0 + 2_000, size: 4 });
  });

  it("should read only edges that can link, and withdraw nothing from a run that reached its edge cap", async () => {
    const baseline = await linkClusters(env, DEFAULT_POLICY);
    expect(baseline.complete).toBe(true);
    // 1,500 accounts on one ASN: a key that links nothing is never loaded.
    const asn = `asn:${unique("big")}`;
    const crowd = Array.from({ length: 1_500 }, (_, i) => [unique(`crowd${i}`), asn, "asn", 1, 1]);
    await env.DB.prepare(
      `INSERT INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4 FROM json_each(?1) r`,
    ).bind(JSON.stringify(crowd)).run();
    expect((await linkClusters(env, DEFAULT_POLICY)).read).toBe(baseline.read);

    // A confirmed campaign, seen long ago, then 1,100 fresher edges (550 pairs sharing a card) past a cap of 1,000.
    const hot = `system:${unique("hot")}`;
    const members = Array.from({ length: 4 }, () => unique("m"));
    await env.DB.batch(members.map((m) =>
      env.DB.prepare(`INSERT INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) VALUES (?, ?, 'system', 2, 2)`).bind(m, hot)));
    await env.DB.prepare(
      `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
         elicitation_share, top_model, verdict, reasons, allowlisted, updated_at, signature)
         VALUES (?, 'system', 4, 100, 1000, 0.9, 1, 1, NULL, 'confirmed', '', 0, ?, ?)`,
    ).bind(hot, Date.now(), JSON.stringify(signature)).run();
    await linkClusters(env, DEFAULT_POLICY);
    expect((await clusterOf(members[0] ?? ""))?.verdict).toBe("confirmed");
    const run = unique("run");
    const cards = Array.from({ length: 1_100 }, (_, i) => [unique(`pair${i}`), `payment:pair-${run}-${Math.floor(i / 2)}`, "payment", Date.now(), Date.now()]);
    await env.DB.prepare(
      `INSERT INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4 FROM json_each(?1) r`,
    ).bind(JSON.stringify(cards)).run();
    const capped = policySchema.parse({ clusters: { linkMaxEdges: 1_000 } });
    const truncated = await linkClusters(env, capped);
    expect(truncated).toMatchObject({ read: 1_000, complete: false });
    // The campaign's old edges were not read this run, and it is not told it is clear.
    expect((await clusterOf(members[0] ?? ""))?.verdict).toBe("confirmed");
    expect((await env.ACCOUNTS.getByName(accountObjectName(members[0] ?? "")).inspect()).clusters).toContainEqual(
      expect.objectContaining({ verdict: "confirmed" }),
    );
    await env.DB.prepare(`DELETE FROM account_fingerprints WHERE fp_key = ? OR kind = 'payment' AND fp_key LIKE 'payment:pair-%'`).bind(asn).run();
  });
});
