/**
 * The admin API as the simulator's command lines use it: policy and account
 * writes (repeated to a self-contained edge's own KV), account import, and
 * the confirmed-verdict poll that time-to-detect is read from.
 */
import type { Generated } from "../generate.ts";
import { attributeClusters, type ClusterDetail, type EvidenceReport, type IndicatorSample, type VerdictPoll } from "../metrics/index.ts";
import type { Target } from "./targets.ts";

// Account upserts in flight: each is several KV and D1 writes; more only queues inside workerd.
const ACCOUNT_CONCURRENCY = 24;
const CLUSTER_PAGES = 10;

export type Admin = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: unknown; text: string }>;

export function adminClient(target: Target, client = target.admin): Admin {
  return async (method, path, body) => {
    const res = await client.send(
      method,
      path,
      { authorization: `Bearer ${target.adminToken}`, "content-type": "application/json" },
      body === undefined ? undefined : JSON.stringify(body),
    );
    let json: unknown = null;
    try {
      json = JSON.parse(res.text);
    } catch {
      // not JSON: callers look at status and text
    }
    return { ...res, json };
  };
}

/**
 * The admin API, with its policy and account writes repeated to every gateway that keeps a KV of
 * its own (the self-contained edge process): answers with the admin API's response, and fails when
 * a copy answered differently.
 */
export function configWriter(target: Target): Admin {
  const admin = adminClient(target);
  const replicas = target.kvReplicas.map((client) => adminClient(target, client));
  return async (method, path, body) => {
    const [main, ...copies] = await Promise.all([admin(method, path, body), ...replicas.map((replica) => replica(method, path, body))]);
    for (const copy of copies) {
      if (copy.status !== main.status) {
        throw new Error(`${method} ${path}: the admin API answered ${main.status}, a gateway's own copy ${copy.status}: ${copy.text.slice(0, 300)}`);
      }
    }
    return main;
  };
}

export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, onDone: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item === undefined) break;
        await work(item);
        onDone(++done);
      }
    }),
  );
}

export async function applyPolicy(admin: Admin, target: Target, document: Record<string, unknown>): Promise<string> {
  const res = await admin("PUT", "/admin/policy", document);
  if (res.status === 200) return "policy written through PUT /admin/policy";
  if (res.status === 404 && target.putPolicyInKv) {
    await target.putPolicyInKv(JSON.stringify(document));
    return "PUT /admin/policy not found: policy written to KV directly";
  }
  throw new Error(`writing the policy failed: ${res.status} ${res.text.slice(0, 500)}`);
}

// Accounts per POST /admin/accounts call (the endpoint takes up to 500); two calls in flight keep
// workerd busy without queueing behind each other.
const IMPORT_BATCH = 250;
const IMPORT_CONCURRENCY = 2;

/** Creates every account of the run; `onProgress` hears (created, total) after each batch. */
export async function createAccounts(admin: Admin, gen: Generated, onProgress: (created: number, total: number) => void = () => {}): Promise<void> {
  const total = gen.accounts.length;
  const now = Date.now();
  const entry = (a: Generated["accounts"][number]) => ({
    ...(a.ageDays ? { createdAt: new Date(now - a.ageDays * 86_400_000).toISOString() } : {}),
    id: a.id,
    keys: [a.key],
    tier: a.tier,
    verified: a.verified,
    billingCountry: a.billingCountry,
    paymentFingerprint: a.paymentFingerprint,
  });
  const batches: Generated["accounts"][] = [];
  for (let i = 0; i < total; i += IMPORT_BATCH) batches.push(gen.accounts.slice(i, i + IMPORT_BATCH));
  await pool(
    batches,
    IMPORT_CONCURRENCY,
    async (batch) => {
      const res = await admin("POST", "/admin/accounts", { accounts: batch.map(entry) });
      if (res.status === 200) return;
      // A gateway without the import endpoint: one PUT per account.
      if (res.status !== 404 && res.status !== 405) throw new Error(`importing accounts: ${res.status} ${res.text.slice(0, 300)}`);
      await pool(batch, ACCOUNT_CONCURRENCY, async (a) => {
        const { id, ...body } = entry(a);
        const put = await admin("PUT", `/admin/accounts/${id}`, body);
        if (put.status !== 200 && put.status !== 201) throw new Error(`creating account ${id}: ${put.status} ${put.text.slice(0, 300)}`);
      }, () => undefined);
    },
    (done) => onProgress(Math.min(total, done * IMPORT_BATCH), total),
  );
}

/** One GET /admin/clusters?verdict=confirmed sweep, recorded at `elapsedMs` of the replay. */
export function clusterPoller(admin: Admin, polls: VerdictPoll[]): (elapsedMs: number) => Promise<void> {
  return async (elapsedMs) => {
    const confirmed: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < CLUSTER_PAGES; page++) {
      const res = await admin("GET", `/admin/clusters?verdict=confirmed&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (res.status !== 200) throw new Error(`GET /admin/clusters: ${res.status}`);
      const body = res.json as { clusters?: { id: string; type: string; sharedKeys?: string[] | null }[]; nextCursor?: string | null };
      for (const c of body.clusters ?? []) {
        // A confirmed component counts for the keys that link it.
        if (c.type === "key") confirmed.push(c.id);
        else confirmed.push(c.id, ...(c.sharedKeys ?? []));
      }
      cursor = body.nextCursor ?? null;
      if (!cursor) break;
    }
    polls.push({ atWallMs: elapsedMs, confirmed });
  };
}

// Per campaign, the clusters whose detail (score, evidence) the report shows: the largest first.
const EVIDENCE_CLUSTERS = 8;
const INDICATOR_SAMPLE = 10;
// Components whose members are read (up to CLUSTER_PAGES × 1,000 each): the largest, which matter most.
const COMPONENT_DETAILS = 20;

type ListedCluster = { id: string; type: "key" | "component"; verdict: string; size: number; reasons?: string[]; sharedKeys?: string[] | null };

/**
 * What identified each campaign, from the admin API at the end of a run: the confirmed and suspect
 * clusters attributed to the campaign owning their accounts, each key with its verdict score and
 * evidence, and a sample of the indicator export.
 */
export async function collectEvidence(
  admin: Admin,
  owners: Map<string, { population: number; share: number; accounts: number }>,
  populations: readonly string[],
  populationOf: Map<string, number>,
): Promise<EvidenceReport> {
  const listed: ClusterDetail[] = [];
  for (const verdict of ["confirmed", "suspect"]) {
    const res = await admin("GET", `/admin/clusters?verdict=${verdict}&limit=500`);
    if (res.status !== 200) return { byPopulation: [], indicators: null, note: `GET /admin/clusters answered ${res.status}` };
    const body = res.json as { clusters?: ListedCluster[] };
    for (const c of body.clusters ?? []) listed.push({ id: c.id, type: c.type, verdict: c.verdict, size: c.size, reasons: c.reasons ?? [], sharedKeys: c.sharedKeys ?? [] });
  }
  // A component's members are accounts the simulator labelled: who is in it is ground truth, not a guess from keys.
  const components = listed.filter((c) => c.type === "component").sort((a, b) => b.size - a.size).slice(0, COMPONENT_DETAILS);
  for (const c of components) {
    const members = new Map<number, number>();
    let cursor: string | null = null;
    for (let page = 0; page < CLUSTER_PAGES; page++) {
      const res = await admin("GET", `/admin/clusters/${encodeURIComponent(c.id)}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (res.status !== 200) break;
      const body = res.json as { members?: { account: string }[]; nextCursor?: string | null };
      for (const m of body.members ?? []) {
        const p = populationOf.get(m.account);
        if (p !== undefined) members.set(p, (members.get(p) ?? 0) + 1);
      }
      cursor = body.nextCursor ?? null;
      if (!cursor) break;
    }
    c.members = members;
  }
  const byPopulation = attributeClusters(listed, owners, populations);
  for (const p of byPopulation) {
    p.clusters = p.clusters.slice(0, EVIDENCE_CLUSTERS);
    for (const c of p.clusters) {
      if (c.type !== "key") continue;
      const res = await admin("GET", `/admin/clusters/${encodeURIComponent(c.id)}?limit=1`);
      if (res.status !== 200) continue;
      const detail = (res.json as { cluster?: { score?: number | null; evidence?: ClusterDetail["evidence"]; reasons?: string[] } }).cluster;
      c.score = detail?.score ?? null;
      c.evidence = detail?.evidence ?? [];
      c.reasons = detail?.reasons ?? c.reasons;
    }
  }
  let indicators: IndicatorSample | null = null;
  const exported = await admin("GET", "/admin/indicators");
  if (exported.status === 200) {
    const body = exported.json as { clusters?: unknown[]; indicators?: IndicatorSample["sample"]; omitted?: Record<string, number> };
    const list = body.indicators ?? [];
    indicators = {
      total: list.length,
      clusters: body.clusters?.length ?? 0,
      omitted: body.omitted ?? {},
      sample: list.slice(0, INDICATOR_SAMPLE).map((i) => ({ type: i.type, value: i.value, accounts: i.accounts, clusters: i.clusters })),
    };
  }
  const note = byPopulation.length === 0 ? "No confirmed or suspect cluster could be attributed to a campaign." : null;
  return { byPopulation, indicators, note };
}
