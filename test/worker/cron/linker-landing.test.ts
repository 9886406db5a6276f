import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Signature } from "../../../lib/cluster/verdict.ts";
import type { CachedVerdict } from "../../../lib/decision.ts";
import { accountObjectName } from "../../../lib/names.ts";
import { linkClusters } from "../../../worker/cron/linker.ts";
import { admitRequest, testPolicy } from "../../durable-objects/account-helpers.ts";
import { unique } from "../../helpers.ts";

// A campaign's template shares several bands; an honest prompt of its own shares none of them.
const CAMPAIGN_BANDS = ["tpl:0:beef", "tpl:2:cafe"];
const ELICITING: Signature = { bands: CAMPAIGN_BANDS, eliciting: true };

// Small components are judged (minAccounts 3), and a suspect's 10 points are visible as a tag.
const policy = testPolicy({ clusters: { minAccounts: 3 }, actions: { tag: 10, degrade: 35, throttle: 60, block: 85 } }, { requests: 1_000 });

async function edge(accountId: string, key: string) {
  const now = Date.now();
  await env.DB.prepare(`INSERT OR IGNORE INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)`)
    .bind(accountId, key, key.split(":")[0], now, now)
    .run();
}

/** A key's root judgement as the linker reads it from D1. */
async function judged(key: string, verdict: CachedVerdict["verdict"], signature: Signature) {
  await env.DB.prepare(
    `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
       elicitation_share, top_model, verdict, reasons, allowlisted, updated_at, signature)
       VALUES (?, ?, 4, 100, 1000, 0.9, 1, 1, NULL, ?, '', 0, ?, ?)`,
  )
    .bind(key, key.split(":")[0], verdict, Date.now(), JSON.stringify(signature))
    .run();
}

const stub = (accountId: string) => env.ACCOUNTS.getByName(accountObjectName(accountId));

/** One request of the account: its keys and how surely it asks for reasoning. */
function admit(accountId: string, keys: string[], elicitation: number) {
  const base = admitRequest(accountId, policy);
  return stub(accountId).admit({ ...base, fingerprint: { ...base.fingerprint, keys, elicitation } });
}

describe("cron linker: where a component verdict lands", () => {
  it("Should not land a component verdict by elicitation on customers linked only through a suspect SDK key", async () => {
    // Customers of one client build that a campaign also uses: the build's key is suspect, and its
    // signature says the campaign asks for reasoning.
    const sdk = `sdk:${unique("build")}`;
    const customers = Array.from({ length: 4 }, () => unique("customer"));
    for (const c of customers) await edge(c, sdk);
    await judged(sdk, "suspect", ELICITING);
    await linkClusters(env, policy);
    const [first] = customers;
    if (first === undefined) throw new Error("no customer");
    const component = (await stub(first).inspect()).clusters.find((v) => v.cluster.startsWith("cc:"));
    expect(component?.verdict).toBe("suspect");

    // The key's own verdict, as the collector would hand it on: both must land on the same requests.
    await stub(first).applyClusterVerdicts([{ cluster: sdk, verdict: "suspect", capPerWindow: null, reasons: [], decidedAt: Date.now(), signature: ELICITING }]);
    // A customer's own prompt asking for step-by-step reasoning: no verdict applies, no cluster points.
    const own = await admit(first, [sdk], 0.95);
    expect(own).toMatchObject({ action: "allow", clusters: [], risk: 0 });
    expect(own.reasons).not.toContain("cluster.suspect");
    // A request with the campaign's template is the campaign's: the key's verdict and the component's land.
    const templated = await admit(first, [sdk, ...CAMPAIGN_BANDS], 0.95);
    expect(templated.clusters).toEqual(expect.arrayContaining([sdk, component?.cluster]));
    expect(templated).toMatchObject({ action: "tag", risk: 10 });
  });

  it("Should still land a campaign component by elicitation on its members, not on customers sharing its client build", async () => {
    // Four campaign accounts on one confirmed system prompt and one client build; two customers on the build only.
    const hot = `system:${unique("hot")}`;
    const tls = `tls:${unique("stack")}`;
    const campaign = Array.from({ length: 4 }, () => unique("member"));
    const customers = [unique("customer"), unique("customer")];
    for (const m of campaign) {
      await edge(m, hot);
      await edge(m, tls);
    }
    for (const c of customers) await edge(c, tls);
    await judged(hot, "confirmed", ELICITING);
    await judged(tls, "suspect", ELICITING);
    await linkClusters(env, policy);
    const [member] = campaign;
    const [customer] = customers;
    if (member === undefined || customer === undefined) throw new Error("no accounts");

    // A member's eliciting request without the prompt's key (it changed its system prompt) is still the campaign's.
    const fromMember = await admit(member, [tls], 0.95);
    expect(fromMember.clusters).toEqual([expect.stringMatching(/^cc:/)]);
    expect(fromMember.reasons).toContain("cluster.confirmed");
    // The same kind of request from a customer who only shares the TLS stack is its own.
    const fromCustomer = await admit(customer, [tls], 0.95);
    expect(fromCustomer).toMatchObject({ action: "allow", clusters: [], risk: 0 });
    // The customer is in the component (operators see it) and is told the verdict, without the elicitation.
    const told = (await stub(customer).inspect()).clusters.find((v) => v.cluster.startsWith("cc:"));
    expect(told).toMatchObject({ verdict: "confirmed", signature: { bands: CAMPAIGN_BANDS, eliciting: false } });
  });
});
