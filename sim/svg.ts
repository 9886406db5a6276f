/**
 * Hand-rolled SVG line charts for the report: no chart library is installed,
 * and a report that works offline, in any browser, from one file, needs none.
 */

export type Series = { name: string; values: readonly number[]; color: string; dashed?: boolean };
export type Marker = { x: number; label: string; color?: string };

export type ChartOptions = {
  title: string;
  xLabel: string;
  yLabel: string;
  x: readonly number[];
  series: readonly Series[];
  markers?: readonly Marker[];
  width?: number;
  height?: number;
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

/** 1, 2, 5 × 10^k steps: axis ticks a reader can add up in their head. */
function niceStep(range: number, ticks: number): number {
  if (range <= 0) return 1;
  const rough = range / ticks;
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

export function compact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${+(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(abs < 10 && abs % 1 !== 0 ? 1 : 0)}`;
}

const PAD = { left: 64, right: 16, top: 36, bottom: 64 } as const;

type Frame = { parts: string[]; plotW: number; plotH: number; sy: (y: number) => number };

/** The chart's box, title and y axis (gridlines and labels from 0 to a round top above every value). */
function frame(title: string, width: number, height: number, series: readonly { values: readonly number[] }[]): Frame {
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  let yMax = 0;
  for (const s of series) for (const v of s.values) if (Number.isFinite(v) && v > yMax) yMax = v;
  const yStep = niceStep(yMax || 1, 5);
  const yTop = Math.max(yStep, Math.ceil((yMax || 1) / yStep) * yStep);
  const sy = (y: number) => PAD.top + plotH - (y / yTop) * plotH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${PAD.left}" y="20" font-size="14" font-weight="600" fill="#111">${escapeXml(title)}</text>`,
  ];
  for (let y = 0; y <= yTop + yStep / 2; y += yStep) {
    const py = sy(y).toFixed(1);
    parts.push(
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${py}" y2="${py}" stroke="#e5e7eb"/>`,
      `<text x="${PAD.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="#555">${compact(y)}</text>`,
    );
  }
  return { parts, plotW, plotH, sy };
}

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 760;
  const height = o.height ?? 300;
  const pad = PAD;
  const { parts, plotW, plotH, sy } = frame(o.title, width, height, o.series);
  const xMin = o.x[0] ?? 0;
  const xMax = Math.max(xMin + 1, o.x[o.x.length - 1] ?? 1);
  const sx = (x: number) => pad.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const xStep = niceStep(xMax - xMin, 8);
  for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax + 1e-9; x += xStep) {
    const px = sx(x).toFixed(1);
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 4}" stroke="#555"/>`,
      `<text x="${px}" y="${pad.top + plotH + 16}" text-anchor="middle" fill="#555">${compact(x)}</text>`,
    );
  }
  parts.push(
    `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${pad.top + plotH}" y2="${pad.top + plotH}" stroke="#555"/>`,
    `<text x="${pad.left + plotW / 2}" y="${pad.top + plotH + 32}" text-anchor="middle" fill="#333">${escapeXml(o.xLabel)}</text>`,
    `<text transform="translate(14 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${escapeXml(o.yLabel)}</text>`,
  );
  (o.markers ?? []).forEach((m, k) => {
    if (m.x < xMin || m.x > xMax) return;
    const px = sx(m.x);
    const color = m.color ?? "#6b7280";
    // Labels step down one line per marker, so markers close together stay readable.
    parts.push(
      `<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="${color}" stroke-dasharray="4 3"/>`,
      `<text x="${(px + 4).toFixed(1)}" y="${pad.top + 10 + k * 13}" fill="${color}">${escapeXml(m.label)}</text>`,
    );
  });
  for (const s of o.series) {
    const points = s.values
      .map((v, i) => (Number.isFinite(v) && o.x[i] !== undefined ? `${sx(o.x[i] ?? 0).toFixed(1)},${sy(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null);
    if (points.length === 0) continue;
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" ${s.dashed ? 'stroke-dasharray="6 4" ' : ""}stroke-linejoin="round" points="${points.join(" ")}"/>`,
    );
  }
  let lx = pad.left;
  const ly = height - 12;
  for (const s of o.series) {
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2" ${s.dashed ? 'stroke-dasharray="6 4"' : ""}/>`,
      `<text x="${lx + 22}" y="${ly}" fill="#333">${escapeXml(s.name)}</text>`,
    );
    lx += 30 + s.name.length * 6.2;
  }
  parts.push("</svg>");
  return parts.join("\n");
}

export type BarChartOptions = {
  title: string;
  xLabel: string;
  yLabel: string;
  /** One label per group of bars (a histogram bucket). */
  groups: readonly string[];
  series: readonly Series[];
  /** Vertical lines at a position in group units (2.5: halfway through the third group). */
  markers?: readonly Marker[];
  width?: number;
  height?: number;
};

/** Grouped bars, one group per label and one bar per series: the report's risk histogram. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 760;
  const height = o.height ?? 280;
  const pad = PAD;
  const { parts, plotW, plotH, sy } = frame(o.title, width, height, o.series);
  const groupW = plotW / Math.max(1, o.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, o.series.length);
  o.groups.forEach((label, g) => {
    const x0 = pad.left + g * groupW + groupW * 0.1;
    o.series.forEach((s, k) => {
      const v = s.values[g] ?? 0;
      if (v <= 0) return;
      const y = sy(v);
      parts.push(`<rect x="${(x0 + k * barW).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(pad.top + plotH - y).toFixed(1)}" fill="${s.color}"/>`);
    });
    parts.push(`<text x="${(pad.left + (g + 0.5) * groupW).toFixed(1)}" y="${pad.top + plotH + 16}" text-anchor="middle" fill="#555">${escapeXml(label)}</text>`);
  });
  parts.push(
    `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${pad.top + plotH}" y2="${pad.top + plotH}" stroke="#555"/>`,
    `<text x="${pad.left + plotW / 2}" y="${pad.top + plotH + 32}" text-anchor="middle" fill="#333">${escapeXml(o.xLabel)}</text>`,
    `<text transform="translate(14 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${escapeXml(o.yLabel)}</text>`,
  );
  (o.markers ?? []).forEach((m, k) => {
    const px = pad.left + m.x * groupW;
    const color = m.color ?? "#6b7280";
    parts.push(
      `<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="${color}" stroke-dasharray="4 3"/>`,
      `<text x="${(px + 4).toFixed(1)}" y="${pad.top + 10 + k * 13}" fill="${color}">${escapeXml(m.label)}</text>`,
    );
  });
  let lx = pad.left;
  const ly = height - 12;
  for (const s of o.series) {
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="10" fill="${s.color}"/>`, `<text x="${lx + 18}" y="${ly}" fill="#333">${escapeXml(s.name)}</text>`);
    lx += 30 + s.name.length * 6.2;
  }
  parts.push("</svg>");
  return parts.join("\n");
}
