/**
 * The periodic linker (cron trigger, not a request step): connected components
 * over the account↔fingerprint graph in D1, so a hydra that varies one
 * fingerprint per account but shares another is still one cluster. Components
 * are written to D1 for operators, and member account objects learn the
 * component's verdict.
 *
 * The judgement is pure (lib/cluster/components.ts); this module reads D1 in
 * four statements per run whatever the number of components, pushes verdicts
 * within the run's budget, and writes only what changed, in batches.
 *
 * Bounded: of the edge table it reads only edges that can matter (on keys that
 * may link, i.e. shared by 2 … linkMaxAccounts accounts and not of a
 * linkIgnoreKinds kind, or on keys with a verdict), at most
 * `clusters.linkMaxEdges` of them, freshest first. A run that reached that cap
 * saw part of the graph: it adds and updates components but withdraws and
 * deletes nothing, so a truncated read never tells a campaign it is clear.
 * Incremental in what it writes and tells: a component whose size, keys,
 * verdict, reasons and signature are unchanged costs no write (but its rate's,
 * when its busiest key's rate moved), and only new members, changed verdicts
 * and withdrawals cost a push.
 *
 * A component's rate is not measured here but read from its keys' roots: a
 * request carries every key of its account, and a linking key's accounts are
 * all members, so the busiest linking key's requests per window are a floor
 * for the component's. D1 takes the maximum next to the rows, over the keys
 * the component row lists, as the admin API reads them.
 */
import { connectedComponents, judgeComponent, linkEvidence, type GraphEdge, type KeyJudgement } from "../../lib/cluster/components.ts";
import { parseSignature, type Verdict } from "../../lib/cluster/verdict.ts";
import type { CachedVerdict } from "../../lib/decision.ts";
import { accountObjectName } from "../../lib/names.ts";
import type { Policy } from "../../lib/policy/index.ts";

// D1 statements per batch call: keeps each batch well inside D1's limits.
const WRITE_CHUNK = 100;

/** `read`: edges read from D1; `edges`: those that may link; `complete`: the read stayed under clusters.linkMaxEdges. */
export type LinkStats = { read: number; edges: number; components: number; confirmed: number; suspect: number; pushed: number; complete: boolean };

/** `rate`: the stored requests_per_window; `keyRate`: its listed keys' busiest rate now. */
type StoredCluster = { verdict: string; signature: string | null; size: number; keys: string; reasons: string; rate: number; keyRate: number };

/** The busiest rate among the keys of a JSON array (a column or a bound parameter); 0 when none has a roll-up. */
const busiestKeyRate = (keysJson: "clusters.keys" | "?3") =>
  `COALESCE((SELECT MAX(k.requests_per_window) FROM fingerprint_keys k WHERE k.fp_key IN (SELECT value FROM json_each(${keysJson}))), 0)`;

/** Everything a run reads: the judged keys, the edges that can matter, and the stored components with their members. */
async function readGraph(db: D1Database, rules: Policy["clusters"]) {
  const [keyRows, edgeRows, clusterRows, memberRows] = await Promise.all([
    db.prepare(`SELECT fp_key, verdict, signature FROM fingerprint_keys WHERE verdict != 'none'`).all<{
      fp_key: string;
      verdict: Verdict;
      signature: string | null;
    }>(),
    db.prepare(
      `SELECT e.account_id, e.fp_key, e.kind FROM account_fingerprints e
       JOIN (SELECT fp_key, MIN(kind) AS kind, COUNT(*) AS n FROM account_fingerprints GROUP BY fp_key HAVING n >= 2) shared
         ON shared.fp_key = e.fp_key
       WHERE (shared.n <= ?2 AND shared.kind NOT IN (SELECT value FROM json_each(?1)))
          OR e.fp_key IN (SELECT fp_key FROM fingerprint_keys WHERE verdict != 'none')
       ORDER BY e.last_seen DESC LIMIT ?3`,
    )
      .bind(JSON.stringify(rules.linkIgnoreKinds), rules.linkMaxAccounts, rules.linkMaxEdges)
      .all<{ account_id: string; fp_key: string; kind: string }>(),
    db
      .prepare(`SELECT id, verdict, signature, size, keys, reasons, requests_per_window AS rate, ${busiestKeyRate("clusters.keys")} AS keyRate FROM clusters`)
      .all<{ id: string } & StoredCluster>(),
    db.prepare(`SELECT cluster_id, account_id FROM cluster_members`).all<{ cluster_id: string; account_id: string }>(),
  ]);
  const keys = new Map<string, KeyJudgement>(
    keyRows.results.map((r) => [r.fp_key, { verdict: r.verdict, signature: parseSignature(r.signature) }]),
  );
  const graph: GraphEdge[] = edgeRows.results.map((r) => ({ accountId: r.account_id, key: r.fp_key, kind: r.kind }));
  const stored = new Map<string, StoredCluster>(
    clusterRows.results.map((r) => [
      r.id,
      { verdict: r.verdict, signature: r.signature, size: r.size, keys: r.keys, reasons: r.reasons, rate: r.rate, keyRate: r.keyRate },
    ]),
  );
  const members = new Map<string, Set<string>>();
  for (const r of memberRows.results) {
    const set = members.get(r.cluster_id);
    if (set) set.add(r.account_id);
    else members.set(r.cluster_id, new Set([r.account_id]));
  }
  return { keys, graph, stored, members, complete: edgeRows.results.length < rules.linkMaxEdges };
}

export async function linkClusters(env: Env, policy: Policy, now = Date.now()): Promise<LinkStats> {
  const { keys, graph, stored, members: storedMembers, complete } = await readGraph(env.DB, policy.clusters);
  if (!complete) console.error(JSON.stringify({ msg: "linker read its edge cap; nothing withdrawn this run", cap: policy.clusters.linkMaxEdges }));
  const evidence = linkEvidence(graph, keys, policy.clusters);
  const components = connectedComponents(evidence.edges, { minSize: 2, ignore: evidence.ignore });
  const stats: LinkStats = { read: graph.length, edges: evidence.edges.length, components: components.length, confirmed: 0, suspect: 0, pushed: 0, complete };
  const budget = { left: policy.clusters.pushPerRun, pending: 0 };
  const writes: D1PreparedStatement[] = [];
  const live = new Set<string>();

  for (const component of components) {
    const { id, verdict, reasons, signature, cachedFor } = judgeComponent(component, evidence, policy, now);
    live.add(id);
    if (verdict === "confirmed") stats.confirmed++;
    if (verdict === "suspect") stats.suspect++;
    const signatureText = JSON.stringify(signature);
    const previous = stored.get(id);
    const oldMembers = storedMembers.get(id) ?? new Set<string>();
    const members = new Set(component.accounts);
    const wasJudged = previous !== undefined && previous.verdict !== "none";
    // A member that drifted out of a judged component is told it no longer is one; until it has been
    // told, its membership row stays, so the next run tries again.
    for (const gone of oldMembers) {
      if (members.has(gone) || !complete) continue;
      if (wasJudged && !(await tell(env, gone, withdrawn(id, now), budget))) continue;
      writes.push(env.DB.prepare(`DELETE FROM cluster_members WHERE cluster_id = ? AND account_id = ?`).bind(id, gone));
    }
    const verdictChanged = previous?.verdict !== verdict || (verdict !== "none" && previous?.signature !== signatureText);
    // Membership rows double as "this member has been told": a member that could not be told in this
    // run (push budget, failure) gets no row, so the next run tries it again.
    let allTold = true;
    for (const accountId of component.accounts) {
      const isNew = !oldMembers.has(accountId);
      // A verdict is told to new members and, when it changes, to all; a verdict that became "none"
      // (the keys it rested on cleared) is told to the members that held the old one, so none stays capped.
      const mustTell = verdict !== "none" ? isNew || verdictChanged : verdictChanged && wasJudged && !isNew;
      const told = mustTell ? await tell(env, accountId, cachedFor(accountId), budget) : true;
      if (mustTell && told) stats.pushed++;
      if (!told) allTold = false;
      if (isNew && told) writes.push(env.DB.prepare(`INSERT OR IGNORE INTO cluster_members (cluster_id, account_id) VALUES (?, ?)`).bind(id, accountId));
      // A verdict not told is retried as to a new member; a withdrawal not told needs the row, which says who held the verdict.
      if (!isNew && !told && verdict !== "none") {
        writes.push(env.DB.prepare(`DELETE FROM cluster_members WHERE cluster_id = ? AND account_id = ?`).bind(id, accountId));
      }
    }
    // Until every member knows, the stored verdict stays the old one so the change is retried.
    const storedVerdict = allTold ? verdict : (previous?.verdict ?? "none");
    const storedSignature = allTold ? signatureText : (previous?.signature ?? null);
    const keysText = JSON.stringify(component.keys.slice(0, 200));
    const reasonsText = reasons.join(",");
    const unchanged =
      previous !== undefined && previous.verdict === storedVerdict && previous.signature === storedSignature &&
      previous.size === component.accounts.length && previous.keys === keysText && previous.reasons === reasonsText;
    if (unchanged) {
      // The rate moves with traffic, not with the component: refreshed on its own, updated_at still says when the component changed.
      if (previous.rate !== previous.keyRate) {
        writes.push(env.DB.prepare(`UPDATE clusters SET requests_per_window = ?2 WHERE id = ?1`).bind(id, previous.keyRate));
      }
      continue;
    }
    writes.push(
      env.DB.prepare(
        `INSERT INTO clusters (id, size, keys, verdict, reasons, requests_per_window, created_at, updated_at, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ${busiestKeyRate("?3")}, ?6, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET size = ?2, keys = ?3, verdict = ?4, reasons = ?5, requests_per_window = excluded.requests_per_window,
           updated_at = ?6, signature = ?7`,
      ).bind(id, component.accounts.length, keysText, storedVerdict, reasonsText, now, storedSignature),
    );
  }
  // Components that no longer exist (their members drifted apart or were allow-listed): a judged one's
  // members are told it is gone; the rows go once every member knows, so a member not told is retried.
  for (const [id, previous] of stored) {
    if (live.has(id) || !complete) continue;
    let allTold = true;
    for (const accountId of storedMembers.get(id) ?? []) {
      if (previous.verdict !== "none" && !(await tell(env, accountId, withdrawn(id, now), budget))) {
        allTold = false;
        continue;
      }
      writes.push(env.DB.prepare(`DELETE FROM cluster_members WHERE cluster_id = ? AND account_id = ?`).bind(id, accountId));
    }
    if (allTold) writes.push(env.DB.prepare(`DELETE FROM clusters WHERE id = ?`).bind(id));
  }
  for (let i = 0; i < writes.length; i += WRITE_CHUNK) await env.DB.batch(writes.slice(i, i + WRITE_CHUNK));

  console.log(JSON.stringify({ msg: "linker run", ...stats, pending: budget.pending }));
  return stats;
}

/** A component's verdict taken back: "none" clears the member's cached copy. */
function withdrawn(id: string, now: number): CachedVerdict {
  return { cluster: id, verdict: "none", capPerWindow: null, reasons: [], decidedAt: now };
}

/** Tells one member its component verdict, within the run's push budget. */
async function tell(env: Env, accountId: string, verdict: CachedVerdict, budget: { left: number; pending: number }): Promise<boolean> {
  if (budget.left <= 0) {
    budget.pending++;
    return false;
  }
  budget.left--;
  try {
    await env.ACCOUNTS.getByName(accountObjectName(accountId)).applyClusterVerdicts([verdict]);
    return true;
  } catch (err) {
    console.error(JSON.stringify({ msg: "verdict push failed", account: accountId, error: String(err) }));
    budget.pending++;
    return false;
  }
}
