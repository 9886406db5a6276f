/**
 * The evidence score end to end through the gateway: a fleet that shows none of the behaviours the
 * old two-boolean rule needed (no synchrony, no template, no elicitation) but sits on a hosting ASN,
 * runs one client build and one exact system prompt, and sends far more per account than honest
 * accounts do, is confirmed on its system prompt key and then degraded or throttled; an office of
 * honest accounts behind one NAT sharing one (not allow-listed) coding tool's prompt is not touched.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { accountObjectName, clusterCollectorName, clusterRootName } from "../../lib/names.ts";
import { validatePolicy } from "../../lib/policy/index.ts";
import { advanceClock } from "../durable-objects/account-helpers.ts";
import { createAccount, messageBody, postMessage, resetPolicy, type TestAccount, usePolicy } from "../helpers.ts";

// Timeouts are generous because the machine is shared; the assertions count requests, never time.
const SHARDS = 4;
const HOSTING_ASN = 64_510;
const ACCOUNTS = 40;
const FLEET_CARDS = 4;

afterEach(resetPolicy);

const POLICY = {
  clusters: { shards: SHARDS, reportIntervalSeconds: 1, minAccounts: 20, minRequestsPerWindow: 50 },
  // The operator's list says what the ASN is; region checks only raise a risk signal for it.
  regions: { asnCategories: { hosting: [HOSTING_ASN] } },
  // 60 requests per window per account: no account below comes near it, whatever stops them is the cluster.
  tiers: { free: { requests: 60, inputTokens: 1_000_000, outputTokens: 1_000_000, exchangesPerDay: 10_000, concurrency: 20 } },
};

/**
 * For the fleet, synchrony weighs nothing: at one-second report intervals a test packs each interval's
 * requests into the same second or two, which reads as synchrony however the rounds are spread, and
 * the point is a fleet that shows none. The office keeps the default weights, artefact and all.
 */
const FLEET_POLICY = { ...POLICY, clusters: { ...POLICY.clusters, verdict: { weights: { synchrony: 0 } } } };

function parsedPolicy() {
  const result = validatePolicy(FLEET_POLICY);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

async function inBatches<T>(items: T[], size: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((item, j) => run(item, i + j)));
}

/** What the account objects' and collectors' alarms do every report interval, without waiting for it. */
async function reportInterval(accounts: TestAccount[]): Promise<void> {
  await inBatches(accounts, 20, async (account) => {
    const stub = env.ACCOUNTS.getByName(accountObjectName(account.id));
    await advanceClock(stub, 1_100);
    await runDurableObjectAlarm(stub);
  });
  for (let i = 0; i < SHARDS; i++) await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(i)).flushNow();
}

/**
 * How many requests account i sends in round r: 0 to 4, by a pattern that differs per account;
 * about 2.4 a round, so some twelve per account by the time a window's evidence is in, six times
 * what an honest account sends (the campaign ran at about three times).
 */
function burst(i: number, r: number): number {
  if ((i * 7 + r * 3) % 5 === 0) return 0;
  return 2 + ((i * 5 + r * 2) % 3);
}

// Ordinary and short on purpose: this fleet is to be caught by network, client and volume alone, not by
// what it asks for nor by a template (a long shared prompt would dominate the SimHash bands).
const FLEET_PROMPT = "You are a helpful assistant for a travel magazine. Keep answers short and friendly.";

const TASKS = ["Describe", "Compare the history of", "Explain the economics of", "Summarise recent debates about", "Write a short travel note on"];
const TOPICS = ["tidal power", "Baroque music", "sourdough", "the Silk Road", "coral reefs", "jazz piano", "glaciers", "ancient Rome", "urban cycling", "beekeeping", "lighthouses", "volcanoes"];

function fleetBody(i: number, r: number, k: number) {
  const n = i * 31 + r * 7 + k;
  return messageBody({
    max_tokens: 32,
    system: FLEET_PROMPT,
    messages: [{ role: "user", content: `${TASKS[n % TASKS.length]} ${TOPICS[(n * 5) % TOPICS.length]} and ${TOPICS[(n * 7 + 3) % TOPICS.length]} for reader ${n}.` }],
  });
}

const FLEET_CF = {
  country: "US", asn: HOSTING_ASN, asOrganization: "Example Cloud", colo: "IAD", httpProtocol: "HTTP/2",
  tlsVersion: "TLSv1.3", tlsCipher: "AEAD-AES128-GCM-SHA256", tlsClientCiphersSha1: "fleetCiphers=", tlsClientExtensionsSha1: "fleetExt=",
};
// One client build: the same SDK and its telemetry headers on every account.
const FLEET_HEADERS = {
  "user-agent": "Anthropic/Python 0.40.0",
  "x-stainless-lang": "python",
  "x-stainless-package-version": "0.40.0",
  "x-stainless-os": "Linux",
  "x-stainless-arch": "x64",
  "x-stainless-runtime": "CPython",
  "x-stainless-runtime-version": "3.11.9",
  "anthropic-version": "2023-06-01",
};

const CODING_TOOL_PROMPT =
  "You are an AI pair programmer inside the team's editor. Prefer small, reviewable diffs; explain a change in one sentence; " +
  "follow the repository's lint rules; never invent APIs; ask before deleting files; keep secrets out of code and logs.";

const OFFICE_CLIENTS: Record<string, string>[] = [
  { "user-agent": "Anthropic/JS 0.30.1", "x-stainless-lang": "js", "x-stainless-package-version": "0.30.1", "x-stainless-os": "MacOS", "x-stainless-runtime": "node", "x-stainless-runtime-version": "v20.11.0" },
  { "user-agent": "Anthropic/JS 0.29.0", "x-stainless-lang": "js", "x-stainless-package-version": "0.29.0", "x-stainless-os": "Windows", "x-stainless-runtime": "node", "x-stainless-runtime-version": "v18.19.0" },
  { "user-agent": "Anthropic/Python 0.39.0", "x-stainless-lang": "python", "x-stainless-package-version": "0.39.0", "x-stainless-os": "MacOS", "x-stainless-runtime": "CPython", "x-stainless-runtime-version": "3.12.1" },
  { "user-agent": "curl/8.4.0" },
  { "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15" },
];

describe("the evidence score through the gateway", () => {
  it("should confirm a hosted fleet on its one exact system prompt and client build, then degrade or throttle every request carrying it", { timeout: 300_000 }, async () => {
    await usePolicy(FLEET_POLICY);
    const fleet: TestAccount[] = [];
    // Opened today, on four cards between them: bought in bulk.
    await inBatches(Array.from({ length: ACCOUNTS }), 20, async (_, i) => void fleet.push(await createAccount({ paymentFingerprint: `card-fleet-${i % FLEET_CARDS}` })));

    const round = async (r: number) => {
      let sent = 0;
      let ok = 0;
      await inBatches(fleet, 20, async (account, i) => {
        for (let k = 0; k < burst(i, r); k++) {
          const res = await postMessage(account.key, fleetBody(i, r, k), { cf: FLEET_CF, headers: { ...FLEET_HEADERS, "cf-connecting-ip": `192.0.2.${10 + i}` } });
          sent++;
          if (res.status === 200) ok++;
          await res.arrayBuffer();
        }
      });
      return { sent, ok };
    };
    const confirmedKeyOf = async (account: TestAccount) =>
      (await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect()).clusters.find((c) => c.verdict === "confirmed" && c.cluster.startsWith("system:"))?.cluster;

    let confirmedAfter = -1;
    let sentBefore = 0;
    for (let r = 0; r < 12 && confirmedAfter < 0; r++) {
      sentBefore += (await round(r)).sent;
      await reportInterval(fleet);
      if ((await confirmedKeyOf(fleet[0] ?? { id: "", key: "" })) !== undefined) confirmedAfter = r;
    }
    // Confirmed within a bounded number of the fleet's own requests: about ten per account.
    expect(confirmedAfter).toBeGreaterThanOrEqual(0);
    expect(sentBefore).toBeLessThanOrEqual(ACCOUNTS * 20);

    const systemKey = (await confirmedKeyOf(fleet[0] ?? { id: "", key: "" })) ?? "";
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(systemKey)).inspectRoot(parsedPolicy());
    expect(root.verdict).toBe("confirmed");
    // Not by the behaviours the old rule needed: no template, no elicitation, synchrony weighing nothing.
    const p = parsedPolicy();
    const metrics = root.metrics;
    if (!metrics) throw new Error("root has no metrics");
    expect(metrics.templateShare).toBeLessThan(p.clusters.templateConcentration);
    expect(metrics.elicitationShare).toBe(0);
    expect(root.evidence.find((e) => e.evidence === "synchrony")?.points).toBe(0);
    expect(metrics.hostingShare).toBe(1);
    expect(metrics.clientHomogeneity).toBe(1);
    expect(metrics.volumeRatio ?? 0).toBeGreaterThan(3);
    expect(root.evidence.find((e) => e.evidence === "hosting")?.reason).toBe("cluster.hosting");
    // The accounts' own records say the rest: all opened at once, forty accounts on four cards.
    expect(metrics.newAccountBurst).toBe(1);
    expect(metrics.paymentsPerAccount ?? 1).toBeCloseTo(FLEET_CARDS / ACCOUNTS, 1);
    expect(root.evidence.find((e) => e.evidence === "payment")?.points ?? 0).toBeGreaterThan(0);
    expect(root.evidence.find((e) => e.evidence === "new_accounts")?.points ?? 0).toBeGreaterThan(0);

    // Every member knows within one more interval (the collectors answer with what their roots said).
    await round(100);
    await reportInterval(fleet);
    const after = await round(101);
    expect(after.sent).toBeGreaterThan(0);
    const lastRound: string[] = [];
    for (const [i, account] of fleet.entries()) {
      const state = await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect();
      lastRound.push(...state.recentDecisions.slice(0, burst(i, 101)).map((d) => d.requestId));
      const latest = state.recentDecisions[0];
      if (!latest || burst(i, 101) === 0) continue;
      expect(latest.reasons, account.id).toContain("cluster.confirmed");
      expect(["degrade", "throttle", "block"], account.id).toContain(latest.action);
    }
    // And it is the system prompt key's verdict that lands, not only the client build's: the audit
    // rows (handed to D1 with the next report) name it. Repeats of one decision within a minute are
    // one row with a count, so the last round's requests are counted by the rows they fold into.
    await reportInterval(fleet);
    expect(lastRound).toHaveLength(after.sent);
    const audited = await env.DB.prepare(
      `SELECT COUNT(*) AS rows, SUM(CASE WHEN instr(cluster, ?2) > 0 THEN 1 ELSE 0 END) AS naming, SUM(count) AS decisions
       FROM audit_log WHERE kind = 'decision' AND account_id IN (SELECT value FROM json_each(?1)) AND instr(reasons, 'cluster.confirmed') > 0`,
    )
      .bind(JSON.stringify(fleet.map((a) => a.id)), systemKey)
      .first<{ rows: number; naming: number; decisions: number }>();
    expect(audited?.rows ?? 0).toBeGreaterThan(0);
    expect(audited?.naming).toBe(audited?.rows);
    expect(audited?.decisions ?? 0).toBeGreaterThanOrEqual(after.sent);
  });

  it("should not touch 40 honest accounts behind one office NAT sharing a coding tool's prompt from diverse clients at ordinary volume", { timeout: 300_000 }, async () => {
    await usePolicy(POLICY);
    const office: TestAccount[] = [];
    // Seats opened over the years the company has been a customer, each person on the company card.
    const opened = (i: number) => new Date(Date.now() - (90 + i * 17) * 86_400_000).toISOString();
    await inBatches(Array.from({ length: ACCOUNTS }), 20, async (_, i) => void office.push(await createAccount({ createdAt: opened(i), paymentFingerprint: "card-office" })));
    const words = ["invoice parser", "kubernetes probe", "regex", "flaky test", "sql migration", "css grid", "retry loop", "date parsing", "cache key", "logging"];
    const statuses: number[] = [];
    // Six intervals, each person asking in two of them: two requests each, as people at work do.
    for (let r = 0; r < 6; r++) {
      await inBatches(office, 20, async (account, i) => {
        if ((i + r) % 3 !== 0) return;
        const res = await postMessage(
          account.key,
          messageBody({
            system: CODING_TOOL_PROMPT,
            messages: [{ role: "user", content: `Why does my ${words[(i * 3 + r) % words.length]} fail on ${words[(i + r * 7) % words.length]} input? ${account.id.slice(-5)}` }],
          }),
          {
            cf: { ...FLEET_CF, asn: 64_520, asOrganization: "Example Broadband", tlsClientCiphersSha1: `office-${i % 7}`, tlsClientExtensionsSha1: `ext-${i % 3}` },
            headers: { ...OFFICE_CLIENTS[i % OFFICE_CLIENTS.length], "cf-connecting-ip": "198.51.100.7" },
          },
        );
        statuses.push(res.status);
        await res.arrayBuffer();
      });
      await reportInterval(office);
    }
    expect(statuses).toHaveLength(ACCOUNTS * 2);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The system prompt key saw who they are: accounts with a history, so an honest pace earns its relief.
    const edge = await env.DB.prepare(`SELECT fp_key FROM account_fingerprints WHERE account_id = ? AND fp_key LIKE 'system:%'`)
      .bind(office[0]?.id ?? "")
      .first<{ fp_key: string }>();
    expect(edge?.fp_key).toBeDefined();
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(edge?.fp_key ?? "")).inspectRoot(parsedPolicy());
    expect(root.accounts).toBeGreaterThanOrEqual(ACCOUNTS * 0.9);
    expect(root.metrics?.newAccountBurst ?? 1).toBeLessThan(0.3);
    for (const account of office) {
      const state = await env.ACCOUNTS.getByName(accountObjectName(account.id)).inspect();
      expect(state.recentDecisions.map((d) => d.action).filter((a) => a !== "allow"), account.id).toEqual([]);
      expect(state.clusters.filter((c) => c.verdict !== "none"), account.id).toEqual([]);
    }
  });
});
