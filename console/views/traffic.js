// @ts-check
/** Decisions over time: `GET /admin/stats/decisions`, stacked by action. */
import { api } from "../api.js";
import { stackedBars } from "../chart.js";
import { errorBox, h, num, replace, table, time } from "../dom.js";

/**
 * @typedef {Record<string, number>} Counts
 * @typedef {{ since: string, until: string, bucket: string, bucketSeconds: number, actions: string[],
 *   series: Array<{ start: string, enforced: Counts, shadow: Counts }>, totals: { enforced: Counts, shadow: Counts } }} Stats
 */

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

/** @param {HTMLElement} root */
export async function trafficView(root) {
  const chartBox = h("div", { class: "chart-box" }, h("p", { class: "muted" }, "Loading…"));
  const totalsBox = h("div", {});
  const updated = h("span", { class: "muted" });

  async function load() {
    const range = RANGES[rangeIndex] ?? RANGES[0];
    if (!range) return;
    const until = new Date();
    const since = new Date(until.getTime() - range.ms);
    const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString(), bucket: range.bucket });
    /** @type {Stats} */
    let stats;
    try {
      stats = await api("GET", `/stats/decisions?${query}`);
    } catch (err) {
      replace(chartBox, errorBox(err));
      return;
    }
    const shown = stats.actions.filter((a) => showAllowed || a !== "allow");
    const series = shown.map((key) => ({ key, label: label(key) }));
    replace(
      chartBox,
      stackedBars(stats.series.map((p) => ({ start: p.start, values: p.enforced })), series),
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
    updated.textContent = `${time(stats.since)} – ${time(stats.until)}, ${stats.bucket} buckets · updated ${time(Date.now())}`;
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

  replace(
    root,
    h("h1", {}, "Traffic and decisions"),
    h(
      "div",
      { class: "toolbar" },
      rangeButtons,
      h("label", { class: "check" }, allowedBox, "show allowed"),
      h("button", { type: "button", onclick: () => void load() }, "Refresh"),
      updated,
    ),
    chartBox,
    h("h2", {}, "Totals"),
    totalsBox,
    h("p", { class: "hint" }, "Account objects flush their per-minute counts to D1 with their audit batch, within seconds."),
  );
  await load();
}
