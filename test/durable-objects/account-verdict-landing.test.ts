/**
 * Where a confirmed verdict lands by elicitation alone (no shared band or wrapper), the request must be as
 * clearly eliciting as the per-account cot_elicitation signal asks: landing adds cluster_verdict, a heavier
 * step than the signal, and an honest prompt reaches the key's 0.5 mark several times as often as 0.85.
 * A request that is itself evading a regional restriction needs only the key's mark.
 */
import { describe, expect, it } from "vitest";
import type { CachedVerdict } from "../../lib/decision.ts";
import type { RiskSignal } from "../../lib/policy/index.ts";
import { unique } from "../helpers.ts";
import { admitRequest, newAccount, testPolicy } from "./account-helpers.ts";

function onPrefix(id: string, policy: ReturnType<typeof testPolicy>, key: string, elicitation: number, verdicts: CachedVerdict[], signals: RiskSignal[] = []) {
  const base = admitRequest(id, policy);
  return { ...base, signals, fingerprint: { ...base.fingerprint, keys: [key], elicitation }, verdicts };
}

function confirmedOn(key: string): CachedVerdict {
  return {
    cluster: key, verdict: "confirmed", capPerWindow: 5, reasons: [], decidedAt: Date.now() - 1_000,
    signature: { bands: ["tpl:0:aaaa", "tpl:1:bbbb"], eliciting: true },
  };
}

describe("a verdict landing by elicitation", () => {
  it("Should land on a request scoring at the signal threshold, not on one only past the key's eliciting mark", async () => {
    const policy = testPolicy({}, { requests: 1_000 });
    expect(policy.fingerprint.elicitationThreshold).toBeLessThan(policy.fingerprint.elicitationSignalThreshold);
    // A network key (not broad): elicitation alone may carry its verdict.
    const key = `prefix:${unique("net")}`;
    const confirmed: CachedVerdict = {
      cluster: key, verdict: "confirmed", capPerWindow: 5, reasons: [], decidedAt: Date.now() - 1_000,
      signature: { bands: ["tpl:0:aaaa", "tpl:1:bbbb"], eliciting: true },
    };
    const between = (policy.fingerprint.elicitationThreshold + policy.fingerprint.elicitationSignalThreshold) / 2;

    const honest = newAccount();
    const spared = await honest.stub.admit(onPrefix(honest.id, policy, key, between, [confirmed]));
    expect(spared.reasons).not.toContain("cluster.confirmed");

    const member = newAccount();
    const landed = await member.stub.admit(onPrefix(member.id, policy, key, policy.fingerprint.elicitationSignalThreshold, [confirmed]));
    expect(landed.reasons).toContain("cluster.confirmed");
  });

  it("Should land between the two marks on a request that evades a regional restriction, and on no other region evidence", async () => {
    const policy = testPolicy({}, { requests: 1_000 });
    const key = `prefix:${unique("net")}`;
    const between = (policy.fingerprint.elicitationThreshold + policy.fingerprint.elicitationSignalThreshold) / 2;

    const evader = newAccount();
    const landed = await evader.stub.admit(onPrefix(evader.id, policy, key, between, [confirmedOn(key)], ["vpn_asn", "region_mismatch", "region_evasion"]));
    expect(landed.reasons).toContain("cluster.confirmed");

    // Billed abroad on a VPN, each alone, is not the evasion: the signal's confidence is still asked for.
    const abroad = newAccount();
    const spared = await abroad.stub.admit(onPrefix(abroad.id, policy, key, between, [confirmedOn(key)], ["vpn_asn", "region_mismatch"]));
    expect(spared.reasons).not.toContain("cluster.confirmed");

    const below = newAccount();
    const tooLow = policy.fingerprint.elicitationThreshold - 0.01;
    const missed = await below.stub.admit(onPrefix(below.id, policy, key, tooLow, [confirmedOn(key)], ["region_mismatch", "region_evasion"]));
    expect(missed.reasons).not.toContain("cluster.confirmed");
  });
});

describe("a verdict and the account's other requests", () => {
  it("Should degrade the campaign's request and leave the same account's ordinary request to its own evidence", async () => {
    // Risk actions on: the 40 points a landed verdict adds are past the degrade threshold.
    const policy = testPolicy({ actions: { tag: 20, degrade: 35, throttle: 70, block: 90 } }, { requests: 1_000 });
    const client = `tls+sdk:${unique("reseller")}`;
    const campaignSystem = `system:${unique("grader")}`;
    const confirmed: CachedVerdict = {
      cluster: client, verdict: "confirmed", capPerWindow: 500, reasons: [], decidedAt: Date.now() - 1_000,
      signature: { bands: [], eliciting: false, systems: [campaignSystem] },
    };
    const shared = newAccount();
    const base = onPrefix(shared.id, policy, client, 0, [confirmed]);
    const campaign = await shared.stub.admit({ ...base, fingerprint: { ...base.fingerprint, keys: [client, campaignSystem] } });
    expect(campaign.reasons).toContain("cluster.confirmed");
    expect(campaign.action).toBe("degrade");
    expect(campaign.risk).toBeGreaterThanOrEqual(35);

    // The reseller's ordinary customer, on the same account and client, with a prompt of its own.
    const ordinary = await shared.stub.admit(onPrefix(shared.id, policy, client, 0, [confirmed]));
    expect(ordinary.reasons).not.toContain("cluster.confirmed");
    expect(ordinary.action).toBe("allow");
    expect(ordinary.risk).toBeLessThan(35);

    // A reworded campaign request (no signature) that elicits at the signal's confidence keeps the points.
    const reworded = await shared.stub.admit(onPrefix(shared.id, policy, client, policy.fingerprint.elicitationSignalThreshold, [confirmed]));
    expect(reworded.reasons).not.toContain("cluster.confirmed");
    expect(reworded.action).toBe("degrade");
    expect(reworded.risk).toBeGreaterThanOrEqual(35);
  });
});

describe("a confirmed wrapper and its member's other requests", () => {
  const wrapped = (key: string, wrapper: string, elicitation: number, signature: CachedVerdict["signature"]): CachedVerdict => ({
    cluster: wrapper, verdict: "confirmed", capPerWindow: 5, reasons: [], decidedAt: Date.now() - 1_000, signature,
  });

  it("Should land the verdict on a member's reworded request that still elicits like the campaign, and on no one else's", async () => {
    const policy = testPolicy({}, { requests: 1_000 });
    const client = `tls+sdk:${unique("build")}`;
    const wrapA = `wrap:s:${unique("a")}`;
    const wrapB = `wrap:s:${unique("b")}`;
    const confirmed = wrapped(client, wrapA, 0, { bands: ["tpl:0:aaaa", "tpl:1:bbbb"], eliciting: true, wrappers: [wrapA] });
    const eliciting = policy.fingerprint.elicitationSignalThreshold;

    const member = newAccount();
    const first = onPrefix(member.id, policy, client, eliciting, [confirmed]);
    // The member carries the confirmed wrapper once: that is how it holds the verdict.
    expect((await member.stub.admit({ ...first, fingerprint: { ...first.fingerprint, keys: [client, wrapA] } })).reasons).toContain("cluster.confirmed");
    // Then the campaign rewords its instruction: the new wrapper is unknown, the request still elicits.
    const reworded = onPrefix(member.id, policy, client, eliciting, []);
    const landed = await member.stub.admit({ ...reworded, fingerprint: { ...reworded.fingerprint, keys: [client, wrapB] } });
    expect(landed.reasons).toContain("cluster.confirmed");
    expect(landed.clusters).toContain(wrapA);
    // The member's request that looks like none of the campaign (a reseller's ordinary customer) is its own.
    const ordinary = await member.stub.admit(onPrefix(member.id, policy, client, 0, []));
    expect(ordinary.reasons).not.toContain("cluster.confirmed");

    // An account that never carried the wrapper is not a member, however its request elicits.
    const other = newAccount();
    const outsider = await other.stub.admit(onPrefix(other.id, policy, client, eliciting, [confirmed]));
    expect(outsider.reasons).not.toContain("cluster.confirmed");
  });

  it("Should not carry a broad key's verdict over to a member's requests without the key", async () => {
    const policy = testPolicy({}, { requests: 1_000 });
    const client = `tls+sdk:${unique("build")}`;
    const confirmed: CachedVerdict = {
      cluster: client, verdict: "confirmed", capPerWindow: 5, reasons: [], decidedAt: Date.now() - 1_000,
      signature: { bands: ["tpl:0:aaaa", "tpl:1:bbbb"], eliciting: true },
    };
    const member = newAccount();
    const withBands = onPrefix(member.id, policy, client, 0, [confirmed]);
    expect((await member.stub.admit({ ...withBands, fingerprint: { ...withBands.fingerprint, keys: [client, "tpl:0:aaaa", "tpl:1:bbbb"] } })).reasons).toContain("cluster.confirmed");
    // Off the client build, with the template's bands: sharing a TLS stack proves no membership.
    const elsewhere = onPrefix(member.id, policy, `tls+sdk:${unique("other")}`, 0, []);
    const spared = await member.stub.admit({ ...elsewhere, fingerprint: { ...elsewhere.fingerprint, keys: [elsewhere.fingerprint.keys[0] ?? "", "tpl:0:aaaa", "tpl:1:bbbb"] } });
    expect(spared.reasons).not.toContain("cluster.confirmed");
  });
});
