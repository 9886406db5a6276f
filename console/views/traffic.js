// @ts-check
/** Decisions over time: `GET /admin/stats/decisions`, stacked by action. */
import { api } from "../api.js";
import { stackedBars } from "../chart.js";
import { badge, duration, errorBox, h, num, replace, table, time, timeZone } from "../dom.js";
import { accountLink, auditHref, clusterLink } from "./audit.js";

/**
 * @typedef {Record<string, number>} Counts
 * @typedef {{ since: string, until: string, bucket: string, bucketSeconds: number, actions: string[],
 *   series: Array<{ start: string, enforced: Counts, shadow: Counts }>, totals: { enforced: Counts, shadow: Counts } }} Stats
 * @typedef {{ decisions: number, lastAt: string, actions: Counts }} Tally
 * @typedef {{ since: string, until: string, decisions: number, complete: boolean,
 *   accounts: Array<Tally & { account: string }>, reasons: Array<Tally & { reason: string }>,
 *   clusters: Array<Tally & { cluster: string, accounts: number }> }} Top
 */

// Auto-refresh period: the account objects flush counts within seconds, so this shows new traffic about as soon as D1 has it.
const REFRESH_MS = 30_000;

// Ranges and their buckets: 60 to 168 bars, enough to see a burst without drawing thousands of rects.
const RANGES = [
  { label: "1 hour", ms: 3_600_000, bucket: "1m" },
  { label: "6 hours", ms: 6 * 3_600_000, bucket: "5m" },
  { label: "24 hours", ms: 24 * 3_600_000, bucket: "15m" },
  { label: "7 days", ms: 7 * 24 * 3_600_000, bucket: "1h" },
];

const LABELS = { allow: "allowed", tag: "tagged", degrade: "degraded", throttle: "throttled", block: "blocked" };

/** @param {string} action */
const label = (action) => (action in LABELS ? LABELS[/** @type {keyof typeof LABELS} */ (action)] : action);

let rangeIndex = 0;
let showAllowed = true;
let autoRefresh = true;

/** The harshest action a tally holds, for its badge. @param {Counts} actions */
function worst(actions) {
  return ["block", "throttle", "degrade", "tag", "allow"].find((a) => (actions[a] ?? 0) > 0) ?? "none";
}

/** @param {HTMLElement} root */
export async function trafficView(root) {
  const chartBox = h("div", { class: "chart-box" }, h("p", { class: "muted" }, "Loading…"));
  const totalsBox = h("div", {});
  const topBox = h("div", { class: "tops" });
  const updated = h("span", { class: "muted", id: "traffic-updated" });

  async function load() {
    const range = RANGES[rangeIndex] ?? RANGES[0];
    if (!range) return;
    const until = new Date();
    const since = new Date(until.getTime() - range.ms);
    const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString(), bucket: range.bucket });
    /** @type {Stats} */
    let stats;
    /** @type {Top} */
    let top;
    try {
      [stats, top] = await Promise.all([
        api("GET", `/stats/decisions?${query}`),
        api("GET", `/stats/top?${new URLSearchParams({ since: since.toISOString(), until: until.toISOString(), limit: "10" })}`),
      ]);
    } catch (err) {
      replace(chartBox, errorBox(err));
      return;
    }
    renderTop(topBox, top);
    const shown = stats.actions.filter((a) => showAllowed || a !== "allow");
    const series = shown.map((key) => ({ key, label: label(key) }));
    replace(
      chartBox,
      stackedBars(stats.series.map((p) => ({ start: p.start, values: p.enforced })), series, { unit: `decisions / ${duration(stats.bucketSeconds)}` }),
      h("ul", { class: "legend" }, series.map((s) => h("li", {}, h("span", { class: `swatch seg-${s.key}` }), s.label))),
    );
    const total = (/** @type {Counts} */ c) => Object.values(c).reduce((a, b) => a + b, 0);
    replace(
      totalsBox,
      table(
        ["decision", "enforced", "shadow (decided, not enforced)"],
        [...stats.actions, "total"],
        (a) =>
          a === "total"
            ? [h("strong", {}, "total"), h("strong", {}, num(total(stats.totals.enforced))), num(total(stats.totals.shadow))]
            : [h("span", {}, h("span", { class: `swatch seg-${a}` }), label(a)), num(stats.totals.enforced[a]), num(stats.totals.shadow[a])],
      ),
    );
    updated.textContent = `${time(stats.since)} – ${time(stats.until)} (${timeZone()}), one bar per ${duration(stats.bucketSeconds)} · updated ${time(Date.now())}`;
  }

  const rangeButtons = RANGES.map((range, i) =>
    h(
      "button",
      {
        type: "button",
        class: i === rangeIndex ? "toggle on" : "toggle",
        onclick: () => {
          rangeIndex = i;
          rangeButtons.forEach((b, j) => b.classList.toggle("on", j === i));
          void load();
        },
      },
      range.label,
    ),
  );
  const allowedBox = h("input", {
    type: "checkbox",
    id: "show-allowed",
    checked: showAllowed,
    onchange: (event) => {
      showAllowed = event.target instanceof HTMLInputElement && event.target.checked;
      void load();
    },
  });

  const autoBox = h("input", {
    type: "checkbox",
    id: "auto-refresh",
    checked: autoRefresh,
    onchange: (event) => (autoRefresh = event.target instanceof HTMLInputElement && event.target.checked),
  });
  // One timer per rendering, gone once the operator has left the view (its root is detached).
  const timer = setInterval(() => {
    if (!root.isConnected) clearInterval(timer);
    else if (autoRefresh && document.visibilityState === "visible") void load();
  }, REFRESH_MS);

  replace(
    root,
    h("h1", {}, "Traffic and decisions"),
    h(
      "div",
      { class: "toolbar" },
      rangeButtons,
      h("label", { class: "check" }, allowedBox, "show allowed"),
      h("label", { class: "check" }, autoBox, `auto-refresh every ${REFRESH_MS / 1000} s`),
      h("button", { type: "button", onclick: () => void load() }, "Refresh"),
      updated,
    ),
    chartBox,
    h("h2", {}, "Totals"),
    totalsBox,
    h("h2", {}, "Top in this range"),
    topBox,
    h("p", { class: "hint" }, "Account objects flush their per-minute counts to D1 with their audit batch, within seconds."),
  );
  await load();
}

/** @param {HTMLElement} box @param {Top} top */
function renderTop(box, top) {
  const range = { since: top.since, until: top.until };
  const behind = (/** @type {Record<string, string>} */ filter) => h("a", { href: auditHref({ ...filter, ...range, kind: "decision" }), class: "small" }, "audit");
  replace(
    box,
    h(
      "section",
      { class: "card", id: "top-accounts" },
      h("h3", {}, "Accounts"),
      table(["account", "decisions", "harshest", ""], top.accounts, (t) => [accountLink(t.account), num(t.decisions), badge(worst(t.actions)), behind({ account: t.account })], "No audited decisions."),
    ),
    h(
      "section",
      { class: "card", id: "top-reasons" },
      h("h3", {}, "Reasons"),
      table(["reason", "decisions", ""], top.reasons, (t) => [h("code", {}, t.reason), num(t.decisions), behind({ reason: t.reason })], "No reasons."),
    ),
    h(
      "section",
      { class: "card", id: "top-clusters" },
      h("h3", {}, "Clusters"),
      table(["cluster", "decisions", "accounts", ""], top.clusters, (t) => [clusterLink(t.cluster), num(t.decisions), num(t.accounts), behind({ cluster: t.cluster })], "No decision named a cluster."),
    ),
    h(
      "p",
      { class: "hint" },
      `From the audit log: ${num(top.decisions)} decisions other than a plain allow.`,
      top.complete ? null : " The range reaches past the newest 200,000 audit rows; the lists cover those only.",
    ),
  );
}
