/**
 * A broad key (one client build) confirmed before the campaign's own system prompt key: its verdict
 * names the system prompt most of its traffic carries, and lands on the requests that carry it, not on
 * an honest customer of the same client with a prompt of its own.
 */
import { describe, expect, it } from "vitest";
import type { CachedVerdict } from "../../lib/decision.ts";
import { unique } from "../helpers.ts";
import { admitRequest, newAccount, testPolicy } from "./account-helpers.ts";

function onClient(id: string, policy: ReturnType<typeof testPolicy>, keys: string[], verdicts: CachedVerdict[]) {
  const base = admitRequest(id, policy);
  return { ...base, fingerprint: { ...base.fingerprint, keys, elicitation: 0 }, verdicts };
}

describe("a broad key's verdict and the campaign's system prompt", () => {
  it("Should land on a request carrying the campaign's system prompt and spare one carrying another", async () => {
    const policy = testPolicy({}, { requests: 1_000 });
    const client = `tls+sdk:${unique("client")}`;
    const campaignSystem = `system:${unique("campaign")}`;
    const confirmed: CachedVerdict = {
      cluster: client, verdict: "confirmed", capPerWindow: 5, reasons: [], decidedAt: Date.now() - 1_000,
      signature: { bands: [], eliciting: false, systems: [campaignSystem] },
    };

    const member = newAccount();
    const landed = await member.stub.admit(onClient(member.id, policy, [client, campaignSystem], [confirmed]));
    expect(landed.reasons).toContain("cluster.confirmed");
    expect(landed.clusters).toEqual([client]);

    const honest = newAccount();
    const spared = await honest.stub.admit(onClient(honest.id, policy, [client, `system:${unique("tool")}`], [confirmed]));
    expect(spared.reasons).not.toContain("cluster.confirmed");
    expect(spared.clusters).toEqual([]);
  });
});
