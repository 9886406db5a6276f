// @ts-check
/**
 * The audit log (`GET /admin/audit`), filtered as the route says (`#/audit/account=a&reason=tor`), with
 * an account's runs of one decision folded into one line ("throttled ×33, 06:31–06:37") and each
 * entry's detail shown as fields. Other views link here for "the entries behind this number".
 */
import { api, seg } from "../api.js";
import { badge, codes, errorBox, fields, h, num, replace, time, timeZone } from "../dom.js";

/**
 * @typedef {{ id: number, at: string, kind: string, requestId: string | null, account: string | null, action: string | null,
 *   enforced: boolean | null, reasons: string[], risk: number | null, country: string | null, cluster: string | null,
 *   detail: unknown, count?: number }} AuditEntry
 * @typedef {{ first: AuditEntry, last: AuditEntry, decisions: number, rows: number, riskMin: number | null, riskMax: number | null }} AuditRun
 */

// The filters `GET /admin/audit` takes, in the order the toolbar shows them.
const FILTERS = ["account", "kind", "action", "reason", "cluster", "since", "until"];

const ACTION_WORDS = /** @type {Record<string, string>} */ ({ allow: "allowed", tag: "tagged", degrade: "degraded", throttle: "throttled", block: "blocked" });

/** @param {string} id */
export const accountLink = (id) => h("a", { href: `#/accounts/${seg(id)}`, class: "mono" }, id);
/** @param {string} id */
export const clusterLink = (id) => h("a", { href: `#/clusters/${seg(id)}`, class: "mono" }, id);

/** The hash route of the audit entries matching these filters. @param {Record<string, string>} filters */
export function auditHref(filters) {
  return `#/audit/${seg(new URLSearchParams(filters).toString())}`;
}

/** @param {AuditEntry} a @param {AuditEntry} b */
function sameDecision(a, b) {
  return a.kind === "decision" && b.kind === "decision" && a.account === b.account && a.action === b.action
    && a.enforced === b.enforced && a.reasons.join(",") === b.reasons.join(",");
}

/**
 * Folds consecutive entries (newest first, as the API pages them) that are one account's same decision
 * (action, enforcement, reasons) into runs; operator entries stay one each.
 * @param {AuditEntry[]} entries
 * @returns {AuditRun[]}
 */
export function groupRuns(entries) {
  /** @type {AuditRun[]} */
  const runs = [];
  for (const entry of entries) {
    const run = runs[runs.length - 1];
    const n = entry.count ?? 1;
    if (run && sameDecision(run.first, entry)) {
      run.first = entry;
      run.decisions += n;
      run.rows++;
      if (entry.risk !== null) {
        run.riskMin = run.riskMin === null ? entry.risk : Math.min(run.riskMin, entry.risk);
        run.riskMax = run.riskMax === null ? entry.risk : Math.max(run.riskMax, entry.risk);
      }
    } else {
      runs.push({ first: entry, last: entry, decisions: n, rows: 1, riskMin: entry.risk, riskMax: entry.risk });
    }
  }
  return runs;
}

/** "throttled ×33, 06:31–06:37" @param {AuditRun} run */
function runLabel(run) {
  const word = run.first.action ? (ACTION_WORDS[run.first.action] ?? run.first.action) : run.first.kind;
  if (run.decisions === 1) return word;
  const from = time(run.first.at).slice(11, 16);
  const to = time(run.last.at).slice(11, 16);
  return `${word} ×${num(run.decisions)}, ${from === to ? from : `${from}–${to}`}`;
}

/** @param {AuditRun} run */
function riskText(run) {
  if (run.riskMin === null || run.riskMax === null) return "–";
  return run.riskMin === run.riskMax ? num(run.riskMin) : `${num(run.riskMin)}–${num(run.riskMax)}`;
}

/** @param {AuditEntry[]} entries @param {boolean} [withAccount] */
export function auditTable(entries, withAccount = true) {
  const runs = groupRuns(entries);
  if (runs.length === 0) return h("p", { class: "muted" }, "No entries.");
  const head = ["time", ...(withAccount ? ["account"] : []), "decision", "reasons", "risk", "country", "detail"];
  return h(
    "table",
    { class: "audit" },
    h("thead", {}, h("tr", {}, head.map((title) => h("th", {}, title)))),
    h(
      "tbody",
      {},
      runs.map((run) =>
        h(
          "tr",
          { class: run.decisions > 1 ? "run" : "" },
          h("td", {}, time(run.last.at)),
          withAccount ? h("td", {}, run.first.account ? accountLink(run.first.account) : "–") : null,
          h(
            "td",
            {},
            run.first.action ? badge(run.first.action) : h("span", { class: "muted" }, run.first.kind),
            " ",
            h("span", { class: "run-label" }, runLabel(run)),
            run.first.enforced === false ? h("span", { class: "muted" }, " shadow") : null,
            run.first.kind !== "decision" ? h("span", { class: "muted" }, ` (${run.first.kind})`) : null,
          ),
          h("td", {}, codes(run.first.reasons)),
          h("td", {}, riskText(run)),
          h("td", {}, run.first.country ?? "–"),
          h(
            "td",
            {},
            run.first.cluster ? h("div", {}, "cluster ", clusterLink(run.first.cluster)) : null,
            fields(run.first.detail),
            run.rows > 1 ? h("div", { class: "muted" }, `detail of the first of ${num(run.rows)} rows`) : null,
          ),
        ),
      ),
    ),
  );
}

/** @param {HTMLElement} root @param {string | null} param URL-encoded filters */
export async function auditView(root, param) {
  const given = new URLSearchParams(param ?? "");
  /** @type {Record<string, string>} */
  const filters = {};
  for (const name of FILTERS) {
    const value = given.get(name);
    if (value) filters[name] = value;
  }
  const box = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  replace(
    root,
    h("h1", {}, "Audit log"),
    h(
      "p",
      { class: "toolbar" },
      Object.keys(filters).length === 0
        ? h("span", { class: "muted" }, "All entries, newest first.")
        : Object.entries(filters).map(([k, v]) => h("code", { class: "tag" }, `${k} = ${v}`)),
      Object.keys(filters).length === 0 ? null : h("a", { href: "#/audit" }, "clear filters"),
      h("span", { class: "muted" }, `Times in ${timeZone()}.`),
    ),
    box,
  );
  await loadAudit(box, filters, null, []);
}

/**
 * @param {HTMLElement} box @param {Record<string, string>} filters @param {string | null} cursor @param {AuditEntry[]} shown
 * @param {boolean} [withAccount]
 */
export async function loadAudit(box, filters, cursor, shown, withAccount = !filters.account) {
  const query = new URLSearchParams({ ...filters, limit: "100" });
  if (cursor) query.set("cursor", cursor);
  try {
    /** @type {{ entries: AuditEntry[], nextCursor: string | null }} */
    const page = await api("GET", `/audit?${query}`);
    const entries = [...shown, ...page.entries];
    const next = page.nextCursor;
    replace(
      box,
      auditTable(entries, withAccount),
      next ? h("button", { type: "button", class: "older", onclick: () => void loadAudit(box, filters, next, entries, withAccount) }, "Older") : null,
    );
  } catch (err) {
    replace(box, errorBox(err));
  }
}
