import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { policySchema } from "../../../lib/policy/index.ts";
import { applyRetention } from "../../../worker/cron/retention.ts";
import { unique } from "../../helpers.ts";

const DAY_MS = 86_400_000;

async function seed(account: string, now: number) {
  const ages = [400, 200, 100, 10];
  for (const days of ages) {
    const at = now - days * DAY_MS;
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO audit_log (at, kind, account_id, action, count) VALUES (?, 'decision', ?, 'throttle', 1)`)
        .bind(new Date(at).toISOString(), account),
      env.DB.prepare(`INSERT INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) VALUES (?, ?, 'tls', ?, ?)`)
        .bind(account, `tls:${days}`, at, at),
      // A minute no other test writes: this account's own offset within it.
      env.DB.prepare(`INSERT OR IGNORE INTO decision_counts (minute, action, enforced, count) VALUES (?, ?, 1, 1)`)
        .bind(Math.floor(at / 60_000) * 60_000 - 60_000 * (days + 7), account),
      env.DB.prepare(`INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony,
           template_share, elicitation_share, verdict, reasons, updated_at) VALUES (?, 'tls', 1, 0, 0, 0, 0, 0, 'none', '', ?)`)
        .bind(`tls:${account}:${days}`, at),
    ]);
  }
}

async function left(account: string) {
  const audit = await env.DB.prepare(`SELECT at FROM audit_log WHERE account_id = ? ORDER BY at`).bind(account).all<{ at: string }>();
  const edges = await env.DB.prepare(`SELECT fp_key FROM account_fingerprints WHERE account_id = ? ORDER BY last_seen`).bind(account).all<{ fp_key: string }>();
  const counts = await env.DB.prepare(`SELECT COUNT(*) AS n FROM decision_counts WHERE action = ?`).bind(account).first<{ n: number }>();
  const keys = await env.DB.prepare(`SELECT fp_key FROM fingerprint_keys WHERE fp_key LIKE ? ORDER BY updated_at`).bind(`tls:${account}:%`).all<{ fp_key: string }>();
  return {
    audit: audit.results.length,
    edges: edges.results.map((r) => r.fp_key),
    counts: counts?.n ?? 0,
    keys: keys.results.map((r) => r.fp_key.slice(`tls:${account}:`.length)),
  };
}

describe("cron retention", () => {
  it("should delete audit rows, decision counts, edges and key snapshots older than the policy keeps them, a bounded number per run", async () => {
    const account = unique("retained");
    const now = Date.now();
    await seed(account, now);
    expect(await left(account)).toEqual({ audit: 4, edges: ["tls:400", "tls:200", "tls:100", "tls:10"], counts: 4, keys: ["400", "200", "100", "10"] });

    // audit 90 days, counts 150, edges 30; one row per table per run.
    const policy = policySchema.parse({ retention: { auditDays: 90, decisionCountDays: 150, edgeDays: 30, deletesPerRun: 1 } });
    const first = await applyRetention(env.DB, policy, now);
    expect(first).toEqual({ audit: 1, decisionCounts: 1, edges: 1, keys: 1 });
    for (let run = 0; run < 20; run++) {
      const stats = await applyRetention(env.DB, policy, now);
      if (stats.audit + stats.decisionCounts + stats.edges + stats.keys === 0) break;
    }
    const after = await left(account);
    expect(after).toEqual({ audit: 1, edges: ["tls:10"], counts: 2, keys: ["10"] });
  });
});
