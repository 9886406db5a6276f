/**
 * The heart of the product, end to end through the gateway: a hydra whose
 * accounts each stay under their own limits is throttled as a cluster within a
 * bounded number of requests, while honest accounts behind one allow-listed
 * corporate NAT are not.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { clusterCollectorName, accountObjectName } from "../../lib/names.ts";
import { sha256Hex } from "../../lib/hash.ts";
import { advanceClock } from "../durable-objects/account-helpers.ts";
import { createAccount, messageBody, postMessage, type TestAccount, usePolicy, resetPolicy } from "../helpers.ts";

// Timeouts are generous on purpose: 200 accounts through the real gateway take ~80 s on an idle 2-core
// machine and several times that on a loaded one; the assertions count requests, never time.
const SHARDS = 4;
const NAT_PREFIX = "198.51.100.0/24";

afterEach(resetPolicy);

const POLICY = {
  clusters: { shards: SHARDS, reportIntervalSeconds: 1, minAccounts: 20, minRequestsPerWindow: 50, allowlist: [`prefix:${NAT_PREFIX}`] },
  // 20 requests per window per account: every account below stays far under it.
  tiers: { free: { requests: 20, inputTokens: 100_000, outputTokens: 100_000, exchangesPerDay: 10_000, concurrency: 20 } },
};

async function inBatches<T>(items: T[], size: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((item, j) => run(item, i + j)));
}

/** What the account objects' and collectors' alarms do every report interval, without waiting for it. */
async function reportInterval(accounts: TestAccount[]): Promise<void> {
  await inBatches(accounts, 25, async (account) => {
    const stub = env.ACCOUNTS.getByName(accountObjectName(account.id));
    await advanceClock(stub, 1_100);
    await runDurableObjectAlarm(stub);
  });
  for (let i = 0; i < SHARDS; i++) await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(i)).flushNow();
}

function hydraBody(i: number) {
  // One template with a varied topic and numbers, asking for the reasoning trace.
  const topics = ["graph coloring", "dynamic programming", "integer factoring", "binary search", "matrix chains"];
  return messageBody({
    max_tokens: 32,
    system: "You are a meticulous teacher who writes out complete reasoning traces for training data.",
    messages: [{
      role: "user",
      content: `Problem ${i}: solve the following ${topics[i % topics.length]} question with input ${i * 7}. Think step by step and show all of your reasoning, every intermediate step of your chain of thought, before the final answer.`,
    }],
  });
}

const TOOL_PROMPT =
  "You are Example Corp's internal writing assistant. Follow the company style guide: plain words, short sentences, " +
  "no jargon, British spelling, cite the policy handbook section when giving compliance advice, never include customer data, " +
  "and end every answer with a one-line summary the employee can paste into a ticket.";

const HYDRA_CF = {
  country: "US", asn: 64_500, asOrganization: "Example Hosting", colo: "IAD", httpProtocol: "HTTP/1.1",
  tlsVersion: "TLSv1.3", tlsCipher: "AEAD-AES128-GCM-SHA256", tlsClientCiphersSha1: "hydraCiphers=", tlsClientExtensionsSha1: "hydraExt=",
};

describe("hydra detection through the gateway", () => {
  it("should throttle 200 accounts sharing network, TLS and template as a cluster within a bounded number of requests", { timeout: 300_000 }, async () => {
    await usePolicy(POLICY);
    const hydra: TestAccount[] = [];
    await inBatches(Array.from({ length: 200 }), 20, async () => void hydra.push(await createAccount()));

    const round = async () => {
      const statuses: number[] = [];
      await inBatches(hydra, 25, async (account, i) => {
        for (let r = 0; r < 2; r++) {
          const res = await postMessage(account.key, hydraBody(i * 2 + r), {
            cf: HYDRA_CF,
            headers: { "cf-connecting-ip": `203.0.113.${i % 250}`, "user-agent": "python-requests/2.31" },
          });
          statuses.push(res.status);
          await res.arrayBuffer();
        }
      });
      return statuses;
    };

    const admitted: number[] = [];
    let detectedAfter = -1;
    for (let r = 0; r < 5; r++) {
      const statuses = await round();
      const ok = statuses.filter((s) => s === 200).length;
      admitted.push(ok);
      if (ok <= statuses.length * 0.1) {
        detectedAfter = r;
        break;
      }
      // No account ever reached its own limit: whatever stops them is the cluster.
      expect(statuses.filter((s) => s === 429).length).toBeLessThan(statuses.length);
      await reportInterval(hydra);
    }
    // Detected within three report intervals; before that, at most three rounds got through.
    expect(detectedAfter).toBeGreaterThanOrEqual(1);
    expect(detectedAfter).toBeLessThanOrEqual(3);
    expect(admitted.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3 * 400 + 40);

    // A fresh account of the same campaign is capped from its very first request: the isolate hands
    // its admit the verdicts it has already seen for the request's keys.
    const fresh = await createAccount();
    const first = await postMessage(fresh.key, hydraBody(9_999), {
      cf: HYDRA_CF,
      headers: { "cf-connecting-ip": "203.0.113.77", "user-agent": "python-requests/2.31" },
    });
    // Its first request already counts against the campaign's cap: refused, or (when the cached verdict
    // still carries a share of one or more, from before the root had counted every member) degraded.
    const firstDecision = (await env.ACCOUNTS.getByName(accountObjectName(fresh.id)).inspect()).recentDecisions[0];
    expect(firstDecision?.reasons).toContain("cluster.confirmed");
    expect(firstDecision?.action === "throttle" ? 429 : firstDecision?.action === "degrade" ? 200 : -1).toBe(first.status);

    const state = await env.ACCOUNTS.getByName(accountObjectName(hydra[0]?.id ?? "")).inspect();
    expect(state.clusters.some((c) => c.verdict === "confirmed")).toBe(true);
    // Throttled as a cluster, not for the account's own usage.
    expect(state.usage.requests).toBeLessThan(20);
  });

  it("should not throttle 200 honest accounts behind one allow-listed corporate NAT with diverse prompts", { timeout: 300_000 }, async () => {
    // They also share their company tool's long system prompt, allow-listed by hash: without that,
    // 200 synchronized accounts on one template would be a confirmed cluster.
    await usePolicy({ ...POLICY, fingerprint: { allowedSystemPromptHashes: [await sha256Hex(TOOL_PROMPT)] } });
    const office: TestAccount[] = [];
    await inBatches(Array.from({ length: 200 }), 20, async () => void office.push(await createAccount()));
    const statuses: number[] = [];
    const words = ["invoice", "kubernetes", "poem", "recipe", "regex", "budget", "essay", "sql", "travel", "physics", "css", "email"];
    for (let r = 0; r < 4; r++) {
      await inBatches(office, 25, async (account, i) => {
        // Two requests each per interval, all in the same seconds: as synchronized as a test can make them.
        for (let k = 0; k < 2; k++) {
          const topic = `${words[(i * 7 + r + k) % words.length]} ${words[(i * 3 + r * 5 + k) % words.length]}`;
          const res = await postMessage(
            account.key,
            messageBody({ system: TOOL_PROMPT, messages: [{ role: "user", content: `Employee ${account.id} asks about ${topic}: ${account.key.slice(-6)} draft ${r}.${k}, please review and suggest concise improvements.` }] }),
            {
              cf: { ...HYDRA_CF, asn: 64_501, asOrganization: "Example Corp", tlsClientCiphersSha1: `corp-${i % 17}`, tlsClientExtensionsSha1: `ext-${i % 5}` },
              headers: { "cf-connecting-ip": "198.51.100.7" },
            },
          );
          statuses.push(res.status);
          await res.arrayBuffer();
        }
      });
      await reportInterval(office);
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });
});
