/**
 * What the e2e gateway starts with. D1 gets the rows the cron linker, the
 * cluster roots and the account objects' flushes would have written after a
 * campaign (a confirmed hydra, a suspect pair, an hour of decision counts);
 * accounts and keys are created through the admin API, as an operator would.
 */

/** A marker the page must show as text: if it ever ran as markup, `window.__xss` would be set. */
export const XSS = `<img src=x onerror="window.__xss=1">`;

const members = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(2, "0")}`);

/**
 * A hydra of 14 accounts linked into one component although no key is shared by all of them:
 * `carriers[k]` is the slice of members seen with `keys[k]`.
 */
export const HYDRA = {
  id: "cc:e2e-hydra",
  members: members("hydra", 14),
  keys: ["tls:9f2c4a1be07d3356", "sdk:51d0e4a7c2b98f13", "tpl:0:a3f1", `headers:${XSS}`],
  carriers: [[0, 12], [3, 14], [2, 11], [11, 14]],
};
export const PAIR = { id: "cc:e2e-pair", members: members("pair", 2), keys: ["prefix:203.0.113.0/24"] };

/** Every seeded account: id → API key. */
export const ACCOUNTS: Record<string, string> = Object.fromEntries(
  [...HYDRA.members, ...PAIR.members].map((id) => [id, `sk-e2e-${id}`]),
);

const MINUTE = 60_000;

/** SQL literal: single quotes doubled; only this file's own constants pass through here. */
const q = (value: string | number) => (typeof value === "number" ? String(value) : `'${value.replaceAll("'", "''")}'`);
const row = (values: Array<string | number>) => `(${values.map(q).join(", ")})`;

/** A deterministic hour of traffic ending at `now`: steady allows, a few tags, and a burst the gateway pushed back on. */
function decisionCounts(now: number): string[] {
  const last = Math.floor(now / MINUTE) * MINUTE;
  const rows: string[] = [];
  for (let i = 59; i >= 1; i--) {
    const minute = last - i * MINUTE;
    const wave = Math.round(40 + 18 * Math.sin(i / 6) + ((i * 7) % 11));
    rows.push(row([minute, "allow", 1, wave]));
    if (i % 3 === 0) rows.push(row([minute, "tag", 1, 2 + (i % 4)]));
    // The campaign: minutes 35..20 ago, degraded first, then throttled and blocked.
    if (i <= 35 && i >= 20) {
      rows.push(row([minute, "degrade", 1, 6 + (i % 5)]));
      rows.push(row([minute, "throttle", 1, i <= 30 ? 12 + (i % 7) : 3]));
      if (i <= 28) rows.push(row([minute, "block", 1, 4 + (i % 6)]));
    }
    if (i % 10 === 0) rows.push(row([minute, "block", 0, 2]));
  }
  return rows;
}

/** The audited side of the campaign: runs of throttles and blocks, one row per account and minute standing for its repeats. */
function auditRows(now: number): string[] {
  const last = Math.floor(now / MINUTE) * MINUTE;
  const rows: string[] = [];
  HYDRA.members.slice(1, 5).forEach((member, m) => {
    for (let i = 30; i >= 24; i--) {
      const at = new Date(last - i * MINUTE + m * 1_000).toISOString();
      const detail = JSON.stringify({ rule: "cluster", cap: 12, windowSeconds: 60, retryAfterSeconds: 20 });
      rows.push(row([at, "decision", `req_e2e_${m}_${i}`, member, "throttle", 1, "cluster_verdict,cluster_cap", 64 + m, "NL", HYDRA.id, detail, 4 + m]));
    }
    const at = new Date(last - 22 * MINUTE + m * 1_000).toISOString();
    rows.push(row([at, "decision", `req_e2e_${m}_b`, member, "block", 1, "risk_block,cluster_verdict", 88, "NL", HYDRA.id, JSON.stringify({ rule: "risk" }), 2]));
  });
  rows.push(row([new Date(last - 12 * MINUTE).toISOString(), "decision", "req_e2e_pair", PAIR.members[0] ?? "pair-01", "tag", 1, "cot_elicitation", 14, "US", PAIR.id, "null", 1]));
  return rows;
}

/** Why the tls key is confirmed: its evidence items, as the cluster root stores them. */
const TLS_EVIDENCE = JSON.stringify([
  { evidence: "synchrony", value: 0.82, points: 2.9, reason: "synchronized" },
  { evidence: "template", value: 0.74, points: 2.7, reason: "templated" },
  { evidence: "accounts", value: 12, points: 1.6 },
  { evidence: "volume", value: 16.2, points: 3 },
]);

export function seedSql(now = Date.now()): string {
  const hour = 3_600_000;
  const component = (c: { id: string; keys: string[] }, size: number, verdict: string, reasons: string, rate: number) =>
    row([c.id, size, JSON.stringify(c.keys), verdict, reasons, rate, now - 6 * hour, now - 2 * MINUTE]);
  const keyRollup = (key: string, accounts: number, rate: number, verdict: string, reasons: string, shares: [number, number, number], score = 0.5, evidence = "[]") =>
    row([key, key.split(":")[0] ?? "", accounts, rate, rate * 900, shares[0], shares[1], shares[2], "demo-model-1", verdict, reasons, 0, now - MINUTE, score, evidence]);
  return [
    `INSERT INTO clusters (id, size, keys, verdict, reasons, requests_per_window, created_at, updated_at) VALUES
      ${component(HYDRA, HYDRA.members.length, "confirmed", `synchronized,templated,${XSS}`, 412)},
      ${component(PAIR, PAIR.members.length, "suspect", "eliciting", 36)};`,
    `INSERT INTO cluster_members (cluster_id, account_id) VALUES
      ${[...HYDRA.members.map((m) => row([HYDRA.id, m])), ...PAIR.members.map((m) => row([PAIR.id, m]))].join(",\n      ")};`,
    `INSERT INTO fingerprint_keys (fp_key, kind, accounts, requests_per_window, tokens_per_window, synchrony, template_share,
       elicitation_share, top_model, verdict, reasons, allowlisted, updated_at, score, evidence) VALUES
      ${keyRollup("tls:9f2c4a1be07d3356", 12, 388, "confirmed", "synchronized,templated", [0.82, 0.74, 0.41], 0.97, TLS_EVIDENCE)},
      ${keyRollup("sdk:51d0e4a7c2b98f13", 11, 391, "confirmed", "synchronized,templated", [0.79, 0.71, 0.39])},
      ${keyRollup("tpl:0:a3f1", 9, 205, "suspect", "templated", [0.35, 0.93, 0.52])};`,
    `INSERT INTO account_fingerprints (account_id, fp_key, kind, first_seen, last_seen) VALUES
      ${HYDRA.keys
        .flatMap((key, k) => HYDRA.members.slice(...(HYDRA.carriers[k] ?? [0, 0])).map((m) => row([m, key, key.split(":")[0] ?? "", now - 6 * hour, now - MINUTE])))
        .join(",\n      ")};`,
    `INSERT INTO decision_counts (minute, action, enforced, count) VALUES
      ${decisionCounts(now).join(",\n      ")};`,
    `INSERT INTO audit_log (at, kind, request_id, account_id, action, enforced, reasons, risk, country, cluster, detail, count) VALUES
      ${auditRows(now).join(",\n      ")};`,
  ].join("\n");
}
