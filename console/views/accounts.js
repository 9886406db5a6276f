// @ts-check
/**
 * One account: profile, live counters and risk from its object
 * (`GET /admin/accounts/{id}`), its audit history (`GET /admin/audit?account=`),
 * and overrides set and cleared from here.
 */
import { api, seg } from "../api.js";
import { badge, codes, errorBox, facts, h, num, replace, table, time } from "../dom.js";
import { accountLink, auditTable, clusterLink } from "./clusters.js";

/**
 * @typedef {{ kind: "block" | "allow" | "quota", multiplier: number | null, reason: string, expiresAt: number | null, createdAt: number }} Override
 * @typedef {{ limit: number, remaining: number }} Limit
 * @typedef {{ id: string, tier: string, orgType: string | null, verified: boolean, billingCountry: string | null,
 *   keyCount: number, createdAt: string, updatedAt: string }} Account
 * @typedef {{ risk: { score: number, reasons: Array<{ signal: string, points: number, lastAt: number, count: number }> },
 *   usage: { windowSeconds: number, requests: number, inputTokens: number, outputTokens: number, exchangesToday: number, inFlight: number },
 *   limits: { windowSeconds: number, requests: Limit, inputTokens: Limit, outputTokens: Limit } | null,
 *   overrides: Override[],
 *   clusters: Array<{ cluster: string, verdict: string, capPerWindow: number | null, reasons: string[], decidedAt: number }>,
 *   fingerprints: Array<{ key: string, firstSeen: number, lastSeen: number, count: number }>,
 *   recentDecisions: Array<{ at: number, requestId: string, action: string, enforced: boolean, reasons: string[], risk: number }> }} AccountState
 * @typedef {{ account: Account, state: AccountState,
 *   clusters: Array<{ id: string, size: number | null, verdict: string | null, reasons: string[] }> }} AccountDetail
 * @typedef {import("./clusters.js").AuditEntry} AuditEntry
 */

// Expiry choices for an override, in seconds; "" = until removed.
const EXPIRIES = [["", "until removed"], ["3600", "1 hour"], ["86400", "24 hours"], ["604800", "7 days"], ["2592000", "30 days"]];

/** @param {HTMLElement} root @param {string | null} id */
export async function accountsView(root, id) {
  if (id === null) return accountList(root);
  /** @type {AccountDetail} */
  const d = await api("GET", `/accounts/${seg(id)}`);
  const { account, state } = d;
  const used = (/** @type {number} */ n, /** @type {Limit | undefined} */ limit) =>
    limit ? `${num(n)} / ${num(limit.limit)}` : num(n);

  const historyBox = h("div", {});
  const overrideBox = h("div", {});

  replace(
    root,
    h("p", {}, h("a", { href: "#/accounts" }, "← accounts")),
    h("h1", {}, "Account ", h("span", { class: "mono" }, account.id)),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Profile"),
        facts([
          ["tier", account.tier],
          ["verified", account.verified ? "yes" : "no"],
          ["org type", account.orgType ?? "–"],
          ["billing country", account.billingCountry ?? "–"],
          ["keys", num(account.keyCount)],
          ["created", time(account.createdAt)],
        ]),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, `Counters (${num(state.usage.windowSeconds)} s window)`),
        facts([
          ["requests", used(state.usage.requests, state.limits?.requests)],
          ["input tokens", used(state.usage.inputTokens, state.limits?.inputTokens)],
          ["output tokens", used(state.usage.outputTokens, state.limits?.outputTokens)],
          ["exchanges today", num(state.usage.exchangesToday)],
          ["in flight", num(state.usage.inFlight)],
        ]),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Risk"),
        h("p", { class: "score" }, num(state.risk.score), h("span", { class: "muted" }, " / 100")),
        table(["signal", "points", "seen", "last"], state.risk.reasons, (r) => [h("code", {}, r.signal), num(r.points), num(r.count), time(r.lastAt)], "No risk signals."),
      ),
    ),
    h("h2", {}, "Overrides"),
    overrideBox,
    h("h2", {}, "Clusters"),
    table(
      ["cluster", "verdict", "reasons", "cap / window", "decided"],
      [
        ...d.clusters.map((c) => ({ cluster: c.id, verdict: c.verdict ?? "none", reasons: c.reasons, capPerWindow: null, decidedAt: null })),
        ...state.clusters,
      ],
      (c) => [clusterLink(c.cluster), badge(c.verdict), codes(c.reasons), num(c.capPerWindow), time(c.decidedAt)],
      "Not in any cluster.",
    ),
    h("h2", {}, "Fingerprints seen"),
    table(["key", "requests", "first seen", "last seen"], state.fingerprints.slice(0, 30), (f) => [clusterLink(f.key), num(f.count), time(f.firstSeen), time(f.lastSeen)], "None yet."),
    h("h2", {}, "Recent decisions (live, from the account object)"),
    table(["time", "action", "reasons", "risk", "request"], state.recentDecisions.slice(0, 20), (r) => [
      time(r.at),
      [badge(r.action), r.enforced ? null : h("span", { class: "muted" }, " shadow")],
      codes(r.reasons),
      num(r.risk),
      h("code", {}, r.requestId),
    ]),
    h("h2", {}, "History (audit log)"),
    historyBox,
  );

  renderOverrides(overrideBox, account.id, state.overrides, () => void accountsView(root, id));
  await loadHistory(historyBox, account.id, null, []);
}

/**
 * @param {HTMLElement} box @param {string} id @param {string | null} cursor @param {AuditEntry[]} shown
 */
async function loadHistory(box, id, cursor, shown) {
  const query = new URLSearchParams({ account: id, limit: "50" });
  if (cursor) query.set("cursor", cursor);
  try {
    /** @type {{ entries: AuditEntry[], nextCursor: string | null }} */
    const page = await api("GET", `/audit?${query}`);
    const entries = [...shown, ...page.entries];
    const next = page.nextCursor;
    replace(box, auditTable(entries, false), next ? h("button", { type: "button", onclick: () => void loadHistory(box, id, next, entries) }, "Older") : null);
  } catch (err) {
    replace(box, errorBox(err));
  }
}

/**
 * @param {HTMLElement} box @param {string} id @param {Override[]} overrides @param {() => void} reload
 */
function renderOverrides(box, id, overrides, reload) {
  const status = h("p", { class: "status", role: "status" });

  const rows = table(
    ["kind", "multiplier", "reason", "expires", "set", ""],
    overrides,
    (o) => {
      const reason = h("input", { type: "text", placeholder: "why remove (optional)", maxlength: 500, "aria-label": `reason for removing the ${o.kind} override` });
      return [
        badge(o.kind),
        o.kind === "quota" ? `× ${num(o.multiplier)}` : "–",
        o.reason,
        o.expiresAt === null ? "until removed" : time(o.expiresAt),
        time(o.createdAt),
        h(
          "span",
          { class: "inline-form" },
          reason,
          h(
            "button",
            {
              type: "button",
              class: "danger",
              "data-remove": o.kind,
              onclick: async () => {
                const query = reason.value.trim() ? `?${new URLSearchParams({ reason: reason.value.trim() })}` : "";
                try {
                  await api("DELETE", `/accounts/${seg(id)}/overrides/${seg(o.kind)}${query}`);
                  reload();
                } catch (err) {
                  replace(status, errorBox(err));
                }
              },
            },
            "Remove",
          ),
        ),
      ];
    },
    "No overrides: the policy alone decides.",
  );

  const kind = h("select", { name: "kind", id: "override-kind" }, [
    h("option", { value: "block" }, "block (403 on every request)"),
    h("option", { value: "allow" }, "allow (silences risk and cluster rules; quotas and regions still apply)"),
    h("option", { value: "quota" }, "quota multiplier"),
  ]);
  const multiplier = h("input", { name: "multiplier", id: "override-multiplier", type: "number", min: "0.01", max: "100", step: "any", value: "2" });
  const multiplierLabel = h("label", { hidden: true }, "multiplier ", multiplier);
  kind.addEventListener("change", () => (multiplierLabel.hidden = kind.value !== "quota"));
  const reason = h("input", { name: "reason", id: "override-reason", type: "text", required: true, maxlength: 500, placeholder: "ticket, evidence…" });
  const expiry = h("select", { name: "expiry", id: "override-expiry" }, EXPIRIES.map(([value, text]) => h("option", { value }, text ?? "")));

  const form = h(
    "form",
    { class: "card override-form", id: "override-form" },
    h("label", {}, "kind ", kind),
    multiplierLabel,
    h("label", {}, "reason ", reason),
    h("label", {}, "expires ", expiry),
    h("button", { type: "submit" }, "Apply override"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    /** @type {Record<string, unknown>} */
    const body = { kind: kind.value, reason: reason.value.trim() };
    if (kind.value === "quota") body.multiplier = Number(multiplier.value);
    if (expiry.value) body.expiresInSeconds = Number(expiry.value);
    try {
      await api("POST", `/accounts/${seg(id)}/overrides`, { body });
      reload();
    } catch (err) {
      replace(status, errorBox(err));
    }
  });

  replace(box, rows, form, status);
}

/** @param {HTMLElement} root */
async function accountList(root) {
  const input = h("input", { type: "text", id: "account-id", placeholder: "account id", required: true, spellcheck: "false" });
  const form = h("form", { class: "toolbar" }, h("label", {}, "Open account ", input), h("button", { type: "submit" }, "Open"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value) location.hash = `#/accounts/${seg(value)}`;
  });
  const listBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  replace(root, h("h1", {}, "Accounts"), form, listBox);
  /** @type {{ accounts: Account[], nextCursor: string | null }} */
  const page = await api("GET", "/accounts?limit=200");
  replace(
    listBox,
    table(["account", "tier", "verified", "billing", "keys", "updated"], page.accounts, (a) => [
      accountLink(a.id),
      a.tier,
      a.verified ? "yes" : "no",
      a.billingCountry ?? "–",
      num(a.keyCount),
      time(a.updatedAt),
    ], "No accounts yet: create them with PUT /admin/accounts/{id}."),
    page.nextCursor ? h("p", { class: "muted" }, "First 200 accounts, in id order; open any other by id above.") : null,
  );
}
