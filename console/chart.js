// @ts-check
/** A stacked bar chart in plain SVG: a few hundred rects, no library to ship or vendor. */
import { num, svg, time } from "./dom.js";

/** @typedef {{ key: string, label: string }} Series */
/** @typedef {{ start: string, values: Record<string, number> }} Point */

const WIDTH = 960;
const HEIGHT = 260;
const MARGIN = { top: 10, right: 8, bottom: 26, left: 64 };

/** The smallest 1/2/4/5 × 10^k at or above n, so the y axis reads in round numbers (4: quarters that are whole). @param {number} n */
function niceCeil(n) {
  if (n <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 4, 5, 10]) if (step * magnitude >= n) return step * magnitude;
  return 10 * magnitude;
}

/** @param {string} iso @param {boolean} withDate */
function tickLabel(iso, withDate) {
  const full = time(iso);
  return withDate ? full.slice(5, 16) : full.slice(11, 16);
}

/**
 * @param {Point[]} points one per bucket, oldest first
 * @param {Series[]} series bottom to top; each rect gets the class `seg-<key>`
 * @param {{ unit?: string, emptyText?: string }} [options] `unit`: what one bar counts, written on the y axis ("decisions / 15 min")
 */
export function stackedBars(points, series, options = {}) {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const totals = points.map((p) => series.reduce((sum, s) => sum + (p.values[s.key] ?? 0), 0));
  // At least 4, so the quarter grid lines of a quiet chart fall on whole decisions.
  const max = niceCeil(Math.max(4, ...totals));
  const y = (/** @type {number} */ v) => MARGIN.top + plotH - (v / max) * plotH;
  const slot = points.length > 0 ? plotW / points.length : plotW;
  const barW = Math.max(1, slot > 4 ? slot - 1 : slot);

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const value = max * f;
    return svg(
      "g",
      { class: "grid" },
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, num(value)),
    );
  });

  const spanMs = points.length > 1 ? Date.parse(points[points.length - 1]?.start ?? "") - Date.parse(points[0]?.start ?? "") : 0;
  const withDate = spanMs >= 86_400_000;
  const every = Math.max(1, Math.ceil(points.length / 8));
  const ticks = points.flatMap((p, i) =>
    i % every === 0
      ? [svg("text", { class: "tick", x: MARGIN.left + i * slot + slot / 2, y: HEIGHT - 8, "text-anchor": "middle" }, tickLabel(p.start, withDate))]
      : [],
  );

  const bars = points.map((p, i) => {
    let base = 0;
    const x = MARGIN.left + i * slot;
    return svg(
      "g",
      { class: "bar" },
      series.flatMap((s) => {
        const value = p.values[s.key] ?? 0;
        if (value <= 0) return [];
        const top = y(base + value);
        const rect = svg(
          "rect",
          { class: `seg-${s.key}`, x, y: top, width: barW, height: Math.max(0.5, y(base) - top) },
          svg("title", {}, `${time(p.start)} · ${s.label}: ${num(value)}`),
        );
        base += value;
        return [rect];
      }),
    );
  });

  const empty =
    totals.every((t) => t === 0) &&
    svg("text", { class: "empty", x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH / 2, "text-anchor": "middle" }, options.emptyText ?? "No decisions in this range");
  const unit =
    options.unit &&
    svg("text", { class: "unit", x: 12, y: MARGIN.top + plotH / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${MARGIN.top + plotH / 2})` }, options.unit);

  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": "Decisions per bucket, stacked by action" },
    grid,
    bars,
    ticks,
    empty,
    unit,
  );
}
