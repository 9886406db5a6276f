/**
 * The report as one self-contained HTML file (inline CSS and SVG, no scripts,
 * nothing fetched), plus the chart the README shows on its own.
 */
import type { Report } from "./metrics.ts";
import { compact, escapeXml as esc, lineChart, type Marker, type Series } from "./svg.ts";

const PALETTE = ["#dc2626", "#ea580c", "#9333ea", "#0891b2", "#65a30d", "#db2777"];

function pct(part: number, whole: number): string {
  if (whole === 0) return "–";
  const v = (100 * part) / whole;
  return `${v < 0.1 && v > 0 ? v.toFixed(3) : v.toFixed(1)}%`;
}

function secs(value: number | null): string {
  if (value === null) return "not detected";
  if (value >= 3600) return `${(value / 3600).toFixed(2)} h`;
  if (value >= 120) return `${(value / 60).toFixed(1)} min`;
  return `${value.toFixed(0)} s`;
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} ms` : "–";
}

function markers(report: Report): Marker[] {
  const out: Marker[] = [];
  report.detection.forEach((d, i) => {
    if (d.firstDenialS !== null) out.push({ x: d.firstDenialS, label: `${d.population} first denied`, color: PALETTE[i % PALETTE.length] });
  });
  const pivot = report.scenario.pivotAtS;
  if (pivot !== null) out.push({ x: pivot, label: "new model released", color: "#374151" });
  return out;
}

/** Attack exchanges that reached the origin, per population, over campaign time: the README's chart. */
export function leakageChart(report: Report): string {
  const x = report.timeline.bins.map((b) => b.t / 60);
  const series: Series[] = Object.entries(report.timeline.attackOkByPopulation).map(([name, values], i) => ({
    name: `${name}: reached origin`,
    values,
    color: PALETTE[i % PALETTE.length] ?? "#dc2626",
  }));
  series.push({ name: "attack sent (all)", values: report.timeline.bins.map((b) => b.attackSent), color: "#9ca3af", dashed: true });
  return lineChart({
    title: `${report.scenario.name}: attack exchanges reaching the origin per ${compact(report.timeline.binSeconds)} s of campaign`,
    xLabel: "campaign time (minutes)",
    yLabel: "exchanges per bin",
    x,
    series,
    markers: markers(report).map((m) => ({ ...m, x: m.x / 60 })),
  });
}

function tokensChart(report: Report): string {
  let total = 0;
  const cumulative = report.timeline.bins.map((b) => (total += b.attackTokens));
  return lineChart({
    title: "Attack output tokens that reached the origin (cumulative)",
    xLabel: "campaign time (minutes)",
    yLabel: "output tokens",
    x: report.timeline.bins.map((b) => b.t / 60),
    series: [{ name: "cumulative leaked output tokens", values: cumulative, color: "#dc2626" }],
    markers: markers(report).map((m) => ({ ...m, x: m.x / 60 })),
  });
}

function legitChart(report: Report): string {
  const bins = report.timeline.bins;
  return lineChart({
    title: "Legitimate requests: sent, denied (429/403), degraded",
    xLabel: "campaign time (minutes)",
    yLabel: "requests per bin",
    x: bins.map((b) => b.t / 60),
    series: [
      { name: "legit sent", values: bins.map((b) => b.legitSent), color: "#2563eb" },
      { name: "legit denied", values: bins.map((b) => b.legitDenied), color: "#dc2626" },
      { name: "legit degraded", values: bins.map((b) => b.legitDegraded), color: "#f59e0b" },
    ],
  });
}

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

export function headline(report: Report): { label: string; value: string; note: string }[] {
  const { attack, legit } = report.totals;
  const legitGroups = report.groups.filter((g) => g.label === "legit" && (g.kind === "legit" || g.kind === "service"));
  const pureLegit = legitGroups.reduce((s, g) => ({ sent: s.sent + g.sent, denied: s.denied + g.throttled + g.blocked, blocked: s.blocked + g.blocked, degraded: s.degraded + g.degraded }), { sent: 0, denied: 0, blocked: 0, degraded: 0 });
  const burned = report.detection.reduce((s, d) => s + d.accountsBurned, 0);
  const obtained = report.detection.reduce((s, d) => s + d.exchangesObtained, 0);
  const out = [
    { label: "attack exchanges that reached the origin", value: `${compact(attack.ok)} / ${compact(attack.sent)}`, note: pct(attack.ok, attack.sent) },
    { label: "attack output tokens leaked", value: compact(attack.outputTokens), note: `${compact(attack.degraded)} attack answers degraded` },
    { label: "legit requests denied (legit populations)", value: `${pureLegit.denied} / ${compact(pureLegit.sent)}`, note: `${pct(pureLegit.denied, pureLegit.sent)}; ${pureLegit.blocked} blocked (403)` },
    { label: "legit requests degraded", value: String(pureLegit.degraded), note: pct(pureLegit.degraded, pureLegit.sent) },
    { label: "all legit-labelled requests denied (incl. reseller customers)", value: `${legit.throttled + legit.blocked} / ${compact(legit.sent)}`, note: pct(legit.throttled + legit.blocked, legit.sent) },
    { label: "accounts burned per 1M exchanges obtained", value: obtained > 0 ? compact((burned / obtained) * 1e6) : "–", note: `${burned} burned, ${compact(obtained)} exchanges` },
  ];
  for (const d of report.detection) {
    out.push({
      label: `time to detect: ${d.population}`,
      value: secs(d.timeToFirstDenialS),
      note: `first denial; confirmed verdict: ${d.timeToConfirmedS === null ? "none seen" : secs(d.timeToConfirmedS)}`,
    });
  }
  if (report.overhead) {
    const o = report.overhead;
    out.push({
      label: "gateway overhead vs bare pass-through",
      value: `+${ms(o.addedP50Ms)} p50, +${ms(o.addedP99Ms)} p99`,
      note: `throughput ${(o.throughputRatio * 100).toFixed(0)}% of bare (${o.gateway.rps.toFixed(0)} vs ${o.bare.rps.toFixed(0)} req/s, ${o.clients} clients)`,
    });
  }
  out.push({
    label: "hottest Durable Object (model)",
    value: pct(report.doLoad.hottest.share, 1),
    note: `${report.doLoad.hottest.name}; one object per key would put ${pct(report.doLoad.unsharded.share, 1)} on one object`,
  });
  return out;
}

export function renderHtml(report: Report): string {
  const cards = headline(report)
    .map((h) => `<div class="card"><div class="v">${esc(h.value)}</div><div class="l">${esc(h.label)}</div><div class="n">${esc(h.note)}</div></div>`)
    .join("");
  const detection = table(
    ["population", "kind", "accounts used", "first request (campaign s)", "time to first denial", "time to confirmed verdict", "leaked before / after first denial", "200-share first → last third", "accounts burned", "burned / 1M exchanges"],
    report.detection.map((d) => [
      d.population,
      d.kind,
      d.accountsUsed,
      d.firstRequestS === null ? "–" : d.firstRequestS.toFixed(0),
      secs(d.timeToFirstDenialS),
      d.timeToConfirmedS === null ? "none seen" : secs(d.timeToConfirmedS),
      `${d.leakedBeforeDenial.exchanges} / ${d.leakedAfterDenial.exchanges}`,
      `${d.okShareFirstThird === null ? "–" : pct(d.okShareFirstThird, 1)} → ${d.okShareLastThird === null ? "–" : pct(d.okShareLastThird, 1)}`,
      d.accountsBurned,
      d.burnedPerMillionExchanges === null ? "–" : compact(d.burnedPerMillionExchanges),
    ]),
  );
  const groups = table(
    ["population", "kind", "label", "accounts", "sent", "200", "degraded", "429", "403", "other", "output tokens", "accounts denied", "accounts blocked"],
    report.groups.map((g) => [g.population, g.kind, g.label, g.accounts, g.sent, g.ok, g.degraded, g.throttled, g.blocked, g.other, compact(g.outputTokens), g.accountsDenied, g.accountsBlocked]),
  );
  const actionNames = ["tag", "degrade", "throttle", "block"];
  const actions = report.actions
    ? table(
        ["population", "label", "requests", ...actionNames, "shadow", "top reasons"],
        report.actions.map((a) => [
          a.population,
          a.label,
          a.requests,
          ...actionNames.map((n) => a.byAction[n] ?? 0),
          Object.entries(a.byAction)
            .filter(([n]) => n.endsWith(";shadow"))
            .reduce((sum, [, c]) => sum + c, 0),
          a.topReasons.map((r) => `${r.reason} ×${r.count}`).join(", "),
        ]),
      )
    : "<p>Not available: against a running gateway the decision log goes to that gateway's terminal.</p>";
  const d = report.doLoad;
  const load = table(
    ["object", "calls", "share of all DO calls", "peak calls/s"],
    [d.hottestAccount, d.hottestCollector, d.hottestRoot].map((h) => [h.name, h.calls, pct(h.share, 1), h.peakPerSecond]),
  );
  const overhead = report.overhead
    ? table(
        ["target", "p50", "p99", "req/s", "requests", "non-200"],
        [
          ["bare pass-through worker", ms(report.overhead.bare.p50Ms), ms(report.overhead.bare.p99Ms), report.overhead.bare.rps.toFixed(0), report.overhead.bare.requests, report.overhead.bare.non200],
          ["distillguard gateway", ms(report.overhead.gateway.p50Ms), ms(report.overhead.gateway.p99Ms), report.overhead.gateway.rps.toFixed(0), report.overhead.gateway.requests, report.overhead.gateway.non200],
        ],
      )
    : "<p>Not measured in this run.</p>";
  const scaled = table(
    ["policy field", "campaign seconds", "written (wall s)", "stands for (campaign s)", "clamped"],
    report.policy.scaled.map((f) => [f.field, f.campaignSeconds, f.wallSeconds, f.effectiveCampaignSeconds, f.clamped ? "yes (schema minimum)" : ""]),
  );
  const tasks = table(
    ["side task", "runs", "failures", "mean ms", "last error"],
    Object.entries(report.run.tasks).map(([name, t]) => [name, t.runs, t.failures, t.runs ? (t.totalMs / t.runs).toFixed(0) : "–", t.lastError ?? ""]),
  );
  const r = report.run;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>distillguard simulation: ${esc(report.scenario.name)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#111;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#555;font-size:13px}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px;margin:16px 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}.card .v{font-size:20px;font-weight:600}.card .l{font-size:12px;color:#333;margin-top:2px}.card .n{font-size:11px;color:#6b7280;margin-top:4px}
table{border-collapse:collapse;font-size:12px;margin:8px 0;width:100%}th,td{border:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f9fafb}
.note{font-size:12px;color:#555}svg{max-width:100%;height:auto;display:block;margin:12px 0}
</style></head><body>
<h1>distillguard simulation: ${esc(report.scenario.name)}</h1>
<div class="meta">${esc(report.scenario.description)}</div>
<div class="meta">${esc(r.mode)} against ${esc(r.gateway)} · started ${esc(r.startedAt)} · ${report.scenario.durationSeconds} s of campaign compressed ${report.scenario.timeCompression}× · replay ${r.replayWallSeconds.toFixed(1)} s wall (setup ${r.setupSeconds.toFixed(1)} s, ${r.accountsCreated} accounts created in ${r.accountCreateSeconds.toFixed(1)} s) · max lag behind schedule ${r.maxLagSeconds.toFixed(2)} s · transport errors ${r.transportErrors} · seed ${report.scenario.seed}</div>
<div class="cards">${cards}</div>
<h2>Leakage over time</h2>
${leakageChart(report)}
${tokensChart(report)}
<h2>False positives</h2>
${legitChart(report)}
<h2>Detection per campaign</h2>
<p class="note">Time to detect = the population's first attack request denied (429/403) minus its first request, in campaign time; a confirmed verdict is the first GET /admin/clusters poll listing a confirmed key that population owns (≥ 80% of the key's accounts). A burned account's last request was denied, or it was blocked at least once.</p>
${detection}
<h2>Requests by population and label</h2>
<p class="note">Statuses over all requests: ${esc(Object.entries(report.totals.statuses).map(([k, v]) => `${k === "0" ? "no answer" : k}: ${v}`).join(" · "))}</p>
<p class="note">Labels are the simulator's ground truth. "Reached origin" = 200; degraded = a 200 whose output tokens are below what the demo origin answers unclamped.</p>
${groups}
<h2>Why the gateway acted</h2>
<p class="note">From the gateway's own decision log (one JSON line per decision), joined to the simulator's labels by request id. Reasons are the gateway's codes: evidence (region.*, content.*, cluster.*) and the rule that acted (risk.*, quota.*).</p>
${actions}
<h2>Durable Object load</h2>
<p class="note"><strong>Computed from the traffic model, not measured in workerd</strong>: 1 admit per decided request and 1 settle per forwarded one on the account's object; 1 report per account per report interval on its collector (${d.objects.collectors} collectors used); per interval, 1 rollup per collector on the root of each key shared by 2+ accounts. Total ${d.totalCalls} calls (admits ${d.calls.admits}, settles ${d.calls.settles}, reports ${d.calls.reports}, rollups ${d.calls.rollups}) over ${d.objects.accounts} account objects and ${d.objects.roots} roots. Hottest object overall: <strong>${esc(d.hottest.name)}</strong> with ${pct(d.hottest.share, 1)} of all calls. For contrast, one object per fingerprint key called on every request would put ${pct(d.unsharded.share, 1)} of requests (${d.unsharded.callsOnHottest} calls, peak ${d.unsharded.peakPerSecond}/s) on <code>${esc(d.unsharded.key)}</code>.</p>
${load}
<h2>Gateway overhead</h2>
<p class="note">Same run, same origin, same machine: a bare Worker that forwards to ORIGIN_URL, against the gateway with an enterprise-tier benchmark account. Sequential requests for latency, ${report.overhead?.clients ?? "–"} concurrent clients for throughput, alternating slices. Added latency is the difference of the percentiles.</p>
${overhead}
<h2>Policy under time compression</h2>
${scaled}
<h2>Run notes</h2>
${tasks}
<ul class="note">${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>
</body></html>
`;
}
