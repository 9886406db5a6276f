/**
 * Enforcement within one report interval of a confirmation, through the gateway with real objects:
 * once a campaign's key is confirmed, the first account of any kind that reports carries the verdict
 * (its collector's feed) to the edge, and every member's next request that looks like the campaign
 * is enforced, whether or not the member has reported since; the end of a verdict travels the same way.
 *
 * One collector (shards 1) so the relay's collector is the campaign's, and each test its own network,
 * TLS stack and prompt, so nothing one test confirmed is known to the next through the isolate's cache.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AccountState } from "../../lib/decision.ts";
import { accountObjectName, clusterCollectorName, clusterRootName } from "../../lib/names.ts";
import { validatePolicy } from "../../lib/policy/index.ts";
import { feedReadOut, forgetVerdicts } from "../../worker/verdicts.ts";
import { advanceClock } from "../durable-objects/account-helpers.ts";
import { createAccount, messageBody, postMessage, resetPolicy, unique, usePolicy, type TestAccount } from "../helpers.ts";

const MEMBERS = 30;
const CLUSTERS = {
  shards: 1,
  reportIntervalSeconds: 1,
  minAccounts: 20,
  minRequestsPerWindow: 50,
  // This file is about how a verdict travels, not about the score: a 30-account campaign's broad ASN key
  // confirms on its content evidence alone (the default prior asks a broad key for scale or synchrony, and
  // synchrony over one round depends on how the test's requests happen to interleave).
  verdict: { priors: { broad: -2.5 } },
};
const POLICY = {
  clusters: CLUSTERS,
  // Far above what any account here sends: whatever holds a member back is the cluster verdict.
  tiers: { free: { requests: 50, inputTokens: 200_000, outputTokens: 200_000, exchangesPerDay: 10_000, concurrency: 50 } },
};

// Each test starts from a fresh isolate's view: nothing one test's campaign taught the edge carries over.
beforeEach(forgetVerdicts);
afterEach(resetPolicy);

type Campaign = { members: TestAccount[]; cf: Record<string, unknown>; send: (account: TestAccount, n: number) => Promise<number> };

let campaigns = 0;

/**
 * One wording per campaign, each a fixed wrapper around varied numbers asking for the reasoning: two
 * campaigns of this file never share template bands or wrapper keys, so one test's verdicts never land
 * on the next test's campaign.
 */
const TEMPLATES: Array<{ system: string; user: (i: number) => string }> = [
  {
    system: "You are a meticulous teacher who writes out complete reasoning traces for training data.",
    user: (i) => `Problem ${i}: solve the following graph coloring question with input ${i * 7}. Think step by step and show all of your reasoning, every intermediate step of your chain of thought, before the final answer.`,
  },
  {
    system: "Act as a patient mathematics tutor whose worked solutions are collected into a dataset.",
    user: (i) => `Exercise number ${i * 3 + 1} concerns prime factorisation of ${i * 11 + 97}. Walk through each deduction explicitly, narrating your internal thought process in full detail, and only then give the result.`,
  },
  {
    system: "Respond like an expert competitive programmer documenting their thinking for apprentices.",
    user: (i) => `Case ${i}: given an array of ${i + 5} integers, find the longest increasing subsequence. Reason step by step and write out your full chain of thought, every intermediate step, before giving the final code.`,
  },
  {
    system: "Take the role of a careful logician producing explanations that will be used to train other models.",
    user: (i) => `Puzzle ${i * 2}: ${i % 9 + 2} knights and knaves stand in a row and make the statements below. Think step by step, show all of your reasoning and your full chain of thought, every intermediate step written out, before you say who is who.`,
  },
];

/** A campaign of its own: one hosting ASN, one TLS stack, one system prompt with a templated reasoning-harvest turn. */
function campaign(members: TestAccount[]): Campaign {
  const n = ++campaigns;
  const tag = unique("fleet");
  const cf = {
    country: "US", asn: 64_700 + n, asOrganization: "Example Hosting", colo: "IAD", httpProtocol: "HTTP/1.1",
    tlsVersion: "TLSv1.3", tlsCipher: "AEAD-AES128-GCM-SHA256", tlsClientCiphersSha1: `${tag}-ciphers`, tlsClientExtensionsSha1: `${tag}-ext`,
  };
  const template = TEMPLATES[(n - 1) % TEMPLATES.length];
  if (!template) throw new Error("no template");
  const send = async (account: TestAccount, i: number) => {
    const res = await postMessage(
      account.key,
      messageBody({
        max_tokens: 32,
        system: `${template.system} Reference ${tag}.`,
        messages: [{ role: "user", content: template.user(i) }],
      }),
      // A header of its own: the header-set key is the campaign's alone, not shared with another test's.
      { cf, headers: { "cf-connecting-ip": `203.0.${n}.${i % 250}`, "user-agent": `fleet-client/${n}`, [`x-fleet-${n}`]: "1" } },
    );
    await res.arrayBuffer();
    return res.status;
  };
  return { members, cf, send };
}

/** An ordinary customer's request on its own network, TLS stack and client: it shares no key with any campaign. */
async function honestRequest(account: TestAccount, i: number, cf: Record<string, unknown> = {}): Promise<number> {
  const res = await postMessage(
    account.key,
    messageBody({ messages: [{ role: "user", content: `Could you suggest a name for my ${["bakery", "bookshop", "garden"][i % 3]} newsletter, issue ${i}?` }] }),
    {
      cf: { country: "GB", asn: 64_900, asOrganization: "Example Broadband", tlsClientCiphersSha1: `home-${account.id}`, tlsClientExtensionsSha1: "home-ext", ...cf },
      headers: { "cf-connecting-ip": "192.0.2.44", "user-agent": `home-app/${account.id}`, "accept-language": "en-GB" },
    },
  );
  await res.arrayBuffer();
  return res.status;
}

function stubOf(account: TestAccount) {
  return env.ACCOUNTS.getByName(accountObjectName(account.id));
}

/** The account object's alarm after its report interval: it reports to its collector and keeps the answer. */
async function reportNow(accounts: TestAccount[]): Promise<void> {
  for (let i = 0; i < accounts.length; i += 15) {
    await Promise.all(accounts.slice(i, i + 15).map(async (account) => {
      await advanceClock(stubOf(account), 1_100);
      await runDurableObjectAlarm(stubOf(account));
    }));
  }
}

async function flushCollector(): Promise<void> {
  await env.CLUSTER_COLLECTORS.getByName(clusterCollectorName(0)).flushNow();
}

async function lastDecision(account: TestAccount): Promise<AccountState["recentDecisions"][number] | undefined> {
  return (await stubOf(account).inspect()).recentDecisions[0];
}

/**
 * Members send one round, report, and their collector rolls it up: the campaign's keys are confirmed
 * at their roots. No member has reported since, so no member's object knows.
 */
async function confirm(): Promise<Campaign> {
  const members: TestAccount[] = [];
  for (let i = 0; i < MEMBERS; i += 10) members.push(...(await Promise.all(Array.from({ length: Math.min(10, MEMBERS - i) }, () => createAccount()))));
  const c = campaign(members);
  for (let i = 0; i < members.length; i += 15) {
    await Promise.all(members.slice(i, i + 15).map(async (m, j) => {
      for (let r = 0; r < 2; r++) expect(await c.send(m, (i + j) * 2 + r)).toBe(200);
    }));
  }
  await reportNow(members);
  await flushCollector();
  const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(`asn:${String(c.cf.asn)}`)).inspectRoot(policy());
  expect(root.verdict).toBe("confirmed");
  return c;
}

function policy() {
  const result = validatePolicy(POLICY);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

/** An honest customer sends, reports once, and sends again: what its report's answer taught it reaches the edge with that answer. */
async function relay(honest: TestAccount): Promise<void> {
  expect(await honestRequest(honest, 1)).toBe(200);
  await reportNow([honest]);
  expect(await honestRequest(honest, 2)).toBe(200);
}

function expectEnforced(decision: AccountState["recentDecisions"][number] | undefined): void {
  expect(decision?.reasons).toContain("cluster.confirmed");
  expect(decision?.enforced).toBe(true);
  expect(["degrade", "throttle"]).toContain(decision?.action);
}

describe("enforcement within one report interval of a confirmation", () => {
  it("Should enforce a member that last reported before the confirmation on its first request after it", { timeout: 300_000 }, async () => {
    await usePolicy(POLICY);
    const honest = await createAccount();
    const c = await confirm();
    await relay(honest);

    const slow = c.members[0];
    if (!slow) throw new Error("no member");
    await c.send(slow, 1_000);
    expectEnforced(await lastDecision(slow));
    // The honest relay is untouched by what it carried.
    expect((await lastDecision(honest))?.action).toBe("allow");
  });

  it("Should enforce a brand-new account joining a confirmed key with the campaign's client and prompt on its first request", { timeout: 300_000 }, async () => {
    await usePolicy(POLICY);
    const honest = await createAccount();
    const c = await confirm();
    await relay(honest);

    const recruit = await createAccount();
    const status = await c.send(recruit, 2_000);
    const decision = await lastDecision(recruit);
    expectEnforced(decision);
    expect(status).toBe(decision?.action === "throttle" ? 429 : 200);
  });

  it("Should enforce a brand-new account on its first request when no account has reported since the confirmation", { timeout: 300_000 }, async () => {
    await usePolicy(POLICY);
    const honest = await createAccount();
    const c = await confirm();
    // No report after the confirmation: the only way the edge can know is reading the collector's feed
    // itself, which the honest customer's request (any request) sets off in the background.
    expect(await honestRequest(honest, 1)).toBe(200);
    for (let i = 0; i < 500 && feedReadOut(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(feedReadOut()).toBe(false);

    const recruit = await createAccount();
    await c.send(recruit, 2_500);
    expectEnforced(await lastDecision(recruit));
    expect((await lastDecision(honest))?.action).toBe("allow");
  });

  it("Should not enforce a verdict on an honest account that shares only the campaign's broad ASN key", { timeout: 300_000 }, async () => {
    await usePolicy(POLICY);
    const honest = await createAccount();
    const c = await confirm();
    await relay(honest);

    // Same hosting network as the campaign, its own client and an ordinary prompt.
    const neighbour = await createAccount();
    expect(await honestRequest(neighbour, 3, { asn: c.cf.asn, asOrganization: "Example Hosting", country: "US" })).toBe(200);
    const decision = await lastDecision(neighbour);
    expect(decision?.action).toBe("allow");
    expect(decision?.reasons).not.toContain("cluster.confirmed");
    // The ASN's confirmed verdict did reach it: it was held back by the campaign's signature, not missing.
    const held = (await stubOf(neighbour).inspect()).clusters.find((v) => v.cluster === `asn:${String(c.cf.asn)}`);
    expect(held?.verdict).toBe("confirmed");
  });

  it("Should stop enforcing a cleared verdict within one report interval, on a member that has not reported since the clear", { timeout: 300_000 }, async () => {
    await usePolicy(POLICY);
    const honest = await createAccount();
    const c = await confirm();
    const [member, ...others] = c.members;
    if (!member) throw new Error("no member");
    // The member reports after the confirmation: its own object now holds the confirmed verdict.
    await c.send(member, 3_000);
    await reportNow([member]);
    await c.send(member, 3_001);
    expectEnforced(await lastDecision(member));

    // The operator raises the bar: under the new policy the roots clear the campaign's keys.
    await usePolicy({ ...POLICY, clusters: { ...CLUSTERS, minAccounts: 10_000 } });
    // One report interval: some members send, report, and their collector rolls the keys up again.
    const active = others.slice(0, 10);
    await Promise.all(active.map((m, i) => c.send(m, 4_000 + i)));
    await reportNow(active);
    await flushCollector();
    const root = await env.CLUSTER_ROOTS.getByName(clusterRootName(`asn:${String(c.cf.asn)}`)).inspectRoot(policy());
    expect(root.verdict).toBe("none");
    await relay(honest);

    await c.send(member, 3_002);
    const decision = await lastDecision(member);
    expect(decision?.reasons).not.toContain("cluster.confirmed");
    // The object dropped the verdicts; what risk the membership left behind decays on its own.
    expect((await stubOf(member).inspect()).clusters.filter((v) => v.verdict === "confirmed")).toEqual([]);
  });
});
