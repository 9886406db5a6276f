// @ts-check
/**
 * One account: profile, live counters and risk from its object
 * (`GET /admin/accounts/{id}`), its audit history (`GET /admin/audit?account=`),
 * and overrides set and cleared from here.
 */
import { api, seg } from "../api.js";
import { stackedBars } from "../chart.js";
import { badge, codes, duration, errorBox, facts, h, num, replace, table, time, timeZone } from "../dom.js";
import { accountLink, auditHref, clusterLink, loadAudit } from "./audit.js";

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
 * @typedef {{ windowSeconds: number, dayWindowSeconds: number, requests: number, inputTokens: number, outputTokens: number,
 *   exchangesPerDay: number, concurrency: number }} PolicyLimits
 * @typedef {{ tag: number, degrade: number, throttle: number, block: number }} Thresholds
 * @typedef {{ account: Account, state: AccountState, limits?: PolicyLimits, thresholds?: Thresholds,
 *   clusters: Array<{ id: string, size: number | null, verdict: string | null, reasons: string[] }> }} AccountDetail
 * @typedef {Account & { risk: number | null, action: string | null, decidedAt: string | null, lastActivityAt: string | null }} ListedAccount
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
  const historyBox = h("div", {});
  const overrideBox = h("div", {});
  const chartBox = h("div", { class: "chart-box" }, h("p", { class: "muted" }, "Loading…"));

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
      usageCard(d),
      riskCard(d),
    ),
    h("h2", {}, "Decisions over the last 24 hours"),
    chartBox,
    h("h2", {}, "Overrides"),
    overrideBox,
    h("h2", {}, "Clusters"),
    table(
      ["cluster", "verdict", "reasons", `cap / ${duration(state.usage.windowSeconds)}`, "decided"],
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
    h("h2", {}, "History (audit log) ", h("a", { class: "small", href: auditHref({ account: account.id }) }, "open in the audit view")),
    h("p", { class: "hint" }, `Runs of one decision are folded into one line. Times in ${timeZone()}.`),
    historyBox,
  );

  renderOverrides(overrideBox, account.id, state.overrides, () => void accountsView(root, id));
  await Promise.all([loadAudit(historyBox, { account: account.id }, null, [], false), loadChart(chartBox, account.id)]);
}

/** One value against its limit, with a bar: "3 / 60" rather than a bare 0 when the account is idle. @param {number} used @param {number | undefined} limit */
function meter(used, limit) {
  if (limit === undefined) return num(used);
  const share = limit > 0 ? Math.min(1, used / limit) : 1;
  return h(
    "span",
    { class: "meter" },
    h("span", { class: "meter-bar" }, h("span", { class: share >= 0.9 ? "meter-fill hot" : "meter-fill", style: `width:${Math.round(share * 100)}%` })),
    ` ${num(used)} / ${num(limit)}`,
  );
}

/** @param {AccountDetail} d */
function usageCard(d) {
  const { state } = d;
  const limits = d.limits;
  return h(
    "section",
    { class: "card" },
    h("h2", {}, `Usage and limits (${duration(state.usage.windowSeconds)} window)`),
    facts([
      ["requests", meter(state.usage.requests, limits?.requests ?? state.limits?.requests.limit)],
      ["input tokens", meter(state.usage.inputTokens, limits?.inputTokens ?? state.limits?.inputTokens.limit)],
      ["output tokens", meter(state.usage.outputTokens, limits?.outputTokens ?? state.limits?.outputTokens.limit)],
      [`exchanges / ${limits ? duration(limits.dayWindowSeconds) : "day"}`, meter(state.usage.exchangesToday, limits?.exchangesPerDay)],
      ["in flight", meter(state.usage.inFlight, limits?.concurrency)],
    ]),
    h("p", { class: "hint" }, "Limits as the policy gives this account now: tier × verification × org type × risk × any quota override. A cluster cap comes on top."),
  );
}

/** The risk score on a 0–100 scale with each action's threshold marked. @param {AccountDetail} d */
function riskCard(d) {
  const score = d.state.risk.score;
  const t = d.thresholds;
  const marks = t
    ? /** @type {Array<[string, number]>} */ ([["tag", t.tag], ["degrade", t.degrade], ["throttle", t.throttle], ["block", t.block]])
    : [];
  const next = marks.find(([, at]) => score < at);
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Risk"),
    h("p", { class: "score" }, num(score), h("span", { class: "muted" }, " / 100")),
    h(
      "div",
      { class: "risk-scale", role: "img", "aria-label": `risk ${num(score)} of 100; thresholds ${marks.map(([a, at]) => `${a} ${at}`).join(", ")}` },
      h("span", { class: "risk-fill", style: `width:${Math.min(100, Math.max(0, score))}%` }),
      marks.map(([action, at]) => h("span", { class: `risk-mark seg-${action}`, style: `left:${at}%`, title: `${action} from ${at}` }, h("span", { class: "risk-mark-label" }, `${action} ${at}`))),
    ),
    h("p", { class: "hint" }, next ? `Below the ${next[0]} threshold (${next[1]}).` : t ? `At or above the block threshold (${t.block}).` : ""),
    table(["signal", "points", "seen", "last"], d.state.risk.reasons, (r) => [h("code", {}, r.signal), num(r.points), num(r.count), time(r.lastAt)], "No risk signals."),
  );
}

const ACTION_LABELS = /** @type {Record<string, string>} */ ({ allow: "allowed", tag: "tagged", degrade: "degraded", throttle: "throttled", block: "blocked" });

/** The account's audited decisions per 15 minutes over a day (`GET /admin/stats/decisions?account=`). @param {HTMLElement} box @param {string} id */
async function loadChart(box, id) {
  const until = new Date();
  const since = new Date(until.getTime() - 24 * 3_600_000);
  const query = new URLSearchParams({ account: id, since: since.toISOString(), until: until.toISOString(), bucket: "15m" });
  try {
    /** @type {import("./traffic.js").Stats} */
    const stats = await api("GET", `/stats/decisions?${query}`);
    const series = stats.actions.filter((a) => a !== "allow").map((key) => ({ key, label: ACTION_LABELS[key] ?? key }));
    replace(
      box,
      stackedBars(stats.series.map((p) => ({ start: p.start, values: p.enforced })), series, {
        unit: `decisions / ${duration(stats.bucketSeconds)}`,
        emptyText: "No audited decisions in the last 24 hours",
      }),
      h("ul", { class: "legend" }, series.map((s) => h("li", {}, h("span", { class: `swatch seg-${s.key}` }), s.label))),
      h("p", { class: "hint" }, `From the audit log: every decision but a plain allow (allowed requests are counted for the whole gateway only). Times in ${timeZone()}.`),
    );
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

// The list's state survives leaving and coming back, like the other views' filters.
const list = { prefix: "", sort: "id", order: "asc" };

const COLUMNS = /** @type {Array<[string, string | null]>} */ ([
  ["account", "id"],
  ["tier", "tier"],
  ["verified", "verified"],
  ["risk", "risk"],
  ["latest decision", "action"],
  ["last activity", "activity"],
  ["keys", null],
]);

/** @param {HTMLElement} root */
async function accountList(root) {
  const input = h("input", { type: "search", id: "account-search", placeholder: "id prefix", spellcheck: "false", value: list.prefix, "aria-label": "account id prefix" });
  const form = h("form", { class: "toolbar", id: "account-search-form" }, h("label", {}, "Search ", input), h("button", { type: "submit" }, "Search"));
  const listBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  /** @type {ListedAccount[]} */
  let rows = [];
  /** @type {string | null} */
  let cursor = null;

  /** @param {boolean} more */
  async function load(more) {
    const query = new URLSearchParams({ sort: list.sort, order: list.order, limit: "50" });
    if (list.prefix) query.set("prefix", list.prefix);
    if (more && cursor) query.set("cursor", cursor);
    try {
      /** @type {{ accounts: ListedAccount[], nextCursor: string | null }} */
      const page = await api("GET", `/accounts?${query}`);
      rows = more ? [...rows, ...page.accounts] : page.accounts;
      cursor = page.nextCursor;
    } catch (err) {
      replace(listBox, errorBox(err));
      return;
    }
    if (rows.length === 0) {
      replace(listBox, h("p", { class: "muted" }, list.prefix ? `No account id starts with “${list.prefix}”.` : "No accounts yet: create them with PUT /admin/accounts/{id}."));
      return;
    }
    const header = COLUMNS.map(([title, key]) => {
      if (key === null) return h("th", {}, title);
      const active = list.sort === key;
      const arrow = active ? (list.order === "asc" ? " ▲" : " ▼") : "";
      return h(
        "th",
        { "aria-sort": active ? (list.order === "asc" ? "ascending" : "descending") : "none" },
        h(
          "button",
          {
            type: "button",
            class: "link sort",
            "data-sort": key,
            onclick: () => {
              list.order = active ? (list.order === "asc" ? "desc" : "asc") : key === "id" || key === "tier" ? "asc" : "desc";
              list.sort = key;
              void load(false);
            },
          },
          title,
          arrow,
        ),
      );
    });
    replace(
      listBox,
      h(
        "table",
        { class: "accounts" },
        h("thead", {}, h("tr", {}, header)),
        h(
          "tbody",
          {},
          rows.map((a) =>
            h(
              "tr",
              {},
              h("td", {}, accountLink(a.id)),
              h("td", {}, a.tier),
              h("td", {}, a.verified ? "yes" : "no"),
              h("td", {}, num(a.risk)),
              h("td", {}, a.action ? [badge(a.action), h("span", { class: "muted" }, ` ${time(a.decidedAt)}`)] : h("span", { class: "muted" }, "none audited")),
              h("td", {}, time(a.lastActivityAt)),
              h("td", {}, num(a.keyCount)),
            ),
          ),
        ),
      ),
      h("p", { class: "hint" }, `${num(rows.length)} shown. Risk and latest decision are the latest audited decision's (allowed requests are not audited); last activity is the later of that and the freshest fingerprint edge (refreshed hourly). Times in ${timeZone()}.`),
      cursor ? h("button", { type: "button", id: "accounts-more", onclick: () => void load(true) }, "More") : null,
    );
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    list.prefix = input.value.trim();
    void load(false);
  });
  replace(root, h("h1", {}, "Accounts"), form, listBox);
  await load(false);
}
