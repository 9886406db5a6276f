/**
 * The periodic linker (cron trigger): connected components over the
 * account↔fingerprint graph in D1, so a hydra that varies one fingerprint per
 * account but shares another is still one cluster. Components are written to
 * D1 for operators, and member account objects learn the component's verdict.
 */
import { connectedComponents, type Component, type Edge } from "../lib/cluster/components.ts";
import { isBroadKind, parseSignature, type Signature, type Verdict } from "../lib/cluster/verdict.ts";
import type { CachedVerdict } from "../lib/decision.ts";
import { fnv1a32 } from "../lib/fasthash.ts";
import { accountObjectName } from "../lib/names.ts";
import type { Policy } from "../lib/policy.ts";

// D1 statements per batch call: keeps each batch well inside D1's limits.
const WRITE_CHUNK = 100;

export type LinkStats = { edges: number; components: number; confirmed: number; suspect: number; pushed: number };

export function componentId(component: Component): string {
  return `cc:${fnv1a32(component.accounts[0] ?? "").toString(16).padStart(8, "0")}`;
}

/** The verdict of a component from its members' keys: see policy.clusters.componentConfirmShare. */
export function componentVerdict(
  component: Component,
  confirmedMembers: number,
  suspectMembers: number,
  policy: Policy,
): Verdict {
  const size = component.accounts.length;
  if (size < 2) return "none";
  if (confirmedMembers / size >= policy.clusters.componentConfirmShare && size >= 2) return "confirmed";
  if (confirmedMembers > 0 || suspectMembers > 0 || size >= policy.clusters.minAccounts) return "suspect";
  return "none";
}

// Template bands a component's signature keeps: the campaign's dominant ones, across its keys.
const COMPONENT_SIGNATURE_BANDS = 8;

/**
 * What a component's campaign looks like: the template bands that the most
 * members' judged keys name, and whether any of those keys elicits. A
 * component verdict lands only on member requests that look like this (see
 * verdictApplies), so an honest account linked into a campaign's component
 * through a shared exit or card is not treated as the campaign.
 */
export function componentSignature(memberKeys: Iterable<Signature[]>): Signature {
  const weight = new Map<string, number>();
  let eliciting = false;
  for (const signatures of memberKeys) {
    const bands = new Set<string>();
    for (const s of signatures) {
      for (const band of s.bands) bands.add(band);
      eliciting ||= s.eliciting;
    }
    for (const band of bands) weight.set(band, (weight.get(band) ?? 0) + 1);
  }
  const bands = [...weight.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, COMPONENT_SIGNATURE_BANDS)
    .map(([band]) => band);
  return { bands, eliciting };
}

export async function linkClusters(env: Env, policy: Policy, now = Date.now()): Promise<LinkStats> {
  const rules = policy.clusters;
  const keyRows = await env.DB.prepare(`SELECT fp_key, verdict, signature FROM fingerprint_keys WHERE verdict != 'none'`).all<{
    fp_key: string;
    verdict: Verdict;
    signature: string | null;
  }>();
  const keyVerdicts = new Map(keyRows.results.map((r) => [r.fp_key, r.verdict]));
  const keySignatures = new Map(keyRows.results.map((r) => [r.fp_key, parseSignature(r.signature)]));

  const edgeRows = await env.DB.prepare(
    `SELECT e.account_id, e.fp_key, e.kind FROM account_fingerprints e
     JOIN (SELECT fp_key, COUNT(*) AS n FROM account_fingerprints GROUP BY fp_key HAVING n >= 2) shared ON shared.fp_key = e.fp_key`,
  ).all<{ account_id: string; fp_key: string; kind: string }>();
  const ignoreKinds = new Set(rules.linkIgnoreKinds);
  const perKey = new Map<string, number>();
  for (const r of edgeRows.results) perKey.set(r.fp_key, (perKey.get(r.fp_key) ?? 0) + 1);
  const ignore = new Set(rules.allowlist);
  // A key that many accounts share links nothing, verdict or not: a campaign hiding in the crowd of
  // one SDK build must not pull the crowd into its component.
  for (const [key, n] of perKey) if (n > rules.linkMaxAccounts) ignore.add(key);
  const edges: Edge[] = edgeRows.results
    .filter((r) => !ignoreKinds.has(r.kind))
    .map((r) => ({ accountId: r.account_id, key: r.fp_key }));

  const confirmedAccounts = new Set<string>();
  const suspectAccounts = new Set<string>();
  // Signatures of the judged keys each account sits on, broad ones included: they name the template.
  const accountSignatures = new Map<string, Signature[]>();
  for (const r of edgeRows.results) {
    const v = keyVerdicts.get(r.fp_key);
    if (v === undefined || ignore.has(r.fp_key)) continue;
    const signature = keySignatures.get(r.fp_key);
    if (signature) {
      const list = accountSignatures.get(r.account_id);
      if (list) list.push(signature);
      else accountSignatures.set(r.account_id, [signature]);
    }
    // Being on a broad key (an SDK build, a TLS stack) with a verdict says nothing about this account.
    if (isBroadKind(r.kind)) continue;
    if (v === "confirmed") confirmedAccounts.add(r.account_id);
    else if (v === "suspect") suspectAccounts.add(r.account_id);
  }

  const components = connectedComponents(edges, { minSize: 2, ignore });
  const stats: LinkStats = { edges: edges.length, components: components.length, confirmed: 0, suspect: 0, pushed: 0 };
  const budget = { left: rules.pushPerRun, pending: 0 };
  const writes: D1PreparedStatement[] = [];
  const liveIds: string[] = [];

  for (const component of components) {
    const id = componentId(component);
    liveIds.push(id);
    const confirmed = component.accounts.filter((a) => confirmedAccounts.has(a)).length;
    const suspect = component.accounts.filter((a) => suspectAccounts.has(a)).length;
    const verdict = componentVerdict(component, confirmed, suspect, policy);
    if (verdict === "confirmed") stats.confirmed++;
    if (verdict === "suspect") stats.suspect++;
    const reasons = ["cluster.linked", ...(confirmed > 0 ? ["cluster.confirmed_keys"] : []), ...(suspect > 0 ? ["cluster.suspect_keys"] : [])];

    const signature = componentSignature(component.accounts.map((a) => accountSignatures.get(a) ?? []));
    const signatureText = JSON.stringify(signature);
    const previous = await env.DB.prepare(`SELECT verdict, signature FROM clusters WHERE id = ?`).bind(id).first<{ verdict: string; signature: string | null }>();
    const oldMembers = new Set(
      (await env.DB.prepare(`SELECT account_id FROM cluster_members WHERE cluster_id = ?`).bind(id).all<{ account_id: string }>()).results.map(
        (r) => r.account_id,
      ),
    );
    const members = new Set(component.accounts);
    for (const gone of oldMembers) {
      if (!members.has(gone)) writes.push(env.DB.prepare(`DELETE FROM cluster_members WHERE cluster_id = ? AND account_id = ?`).bind(id, gone));
    }
    const verdictChanged = previous?.verdict !== verdict || (verdict !== "none" && previous?.signature !== signatureText);
    const cached: CachedVerdict = {
      cluster: id,
      verdict,
      capPerWindow: verdict === "confirmed" ? rules.aggregateCapPerWindow / component.accounts.length : null,
      reasons,
      decidedAt: now,
      signature,
    };
    // Membership rows double as "this member has been told": a member that could not be told in this
    // run (push budget, failure) gets no row, so the next run tries it again.
    let allTold = true;
    for (const accountId of component.accounts) {
      const isNew = !oldMembers.has(accountId);
      const mustTell = verdict !== "none" && (isNew || verdictChanged);
      const told = mustTell ? await tell(env, accountId, cached, budget) : true;
      if (mustTell && told) stats.pushed++;
      if (!told) allTold = false;
      if (isNew && told) writes.push(env.DB.prepare(`INSERT OR IGNORE INTO cluster_members (cluster_id, account_id) VALUES (?, ?)`).bind(id, accountId));
      if (!isNew && !told) writes.push(env.DB.prepare(`DELETE FROM cluster_members WHERE cluster_id = ? AND account_id = ?`).bind(id, accountId));
    }
    // Until every member knows, the stored verdict stays the old one so the change is retried.
    const storedVerdict = allTold ? verdict : (previous?.verdict ?? "none");
    const storedSignature = allTold ? signatureText : (previous?.signature ?? null);
    writes.push(
      env.DB.prepare(
        `INSERT INTO clusters (id, size, keys, verdict, reasons, created_at, updated_at, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET size = ?2, keys = ?3, verdict = ?4, reasons = ?5, updated_at = ?6, signature = ?7`,
      ).bind(id, component.accounts.length, JSON.stringify(component.keys.slice(0, 200)), storedVerdict, reasons.join(","), now, storedSignature),
    );
  }
  // Components that no longer exist (their members drifted apart or were allow-listed).
  const stale = await env.DB.prepare(`SELECT id FROM clusters`).all<{ id: string }>();
  const live = new Set(liveIds);
  for (const { id } of stale.results) {
    if (!live.has(id)) {
      writes.push(env.DB.prepare(`DELETE FROM cluster_members WHERE cluster_id = ?`).bind(id));
      writes.push(env.DB.prepare(`DELETE FROM clusters WHERE id = ?`).bind(id));
    }
  }
  for (let i = 0; i < writes.length; i += WRITE_CHUNK) await env.DB.batch(writes.slice(i, i + WRITE_CHUNK));

  console.log(JSON.stringify({ msg: "linker run", ...stats, pending: budget.pending }));
  return stats;
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
