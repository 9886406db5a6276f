/**
 * The report as one self-contained HTML file (inline CSS and SVG, no scripts,
 * nothing fetched), plus the chart the README shows on its own.
 */
import { reasonShifts, type Report, type Rise, type RiseWindow, type Spread } from "./metrics/index.ts";
import { barChart, compact, escapeXml as esc, lineChart, type Marker, type Series } from "./svg.ts";

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

/**
 * Markers sit on the campaign clock; their labels count from the campaign's own first request, the
 * zero the cards' "time to detect" use, so a marker and its card show the same number.
 */
function markers(report: Report): Marker[] {
  const out: Marker[] = [];
  report.detection.forEach((d, i) => {
    const color = PALETTE[i % PALETTE.length];
    if (d.firstRequestS === null) return;
    out.push({ x: d.firstRequestS, label: `${d.population} starts (t0)`, color });
    if (d.firstDenialS !== null) out.push({ x: d.firstDenialS, label: `${d.population} first denied, t0+${secs(d.timeToFirstDenialS)}`, color });
    if (d.firstConfirmedS !== null) out.push({ x: d.firstConfirmedS, label: `${d.population} confirmed, t0+${secs(d.timeToConfirmedS)}`, color });
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

export type Card = { label: string; value: string; note: string; section: "security" | "engineering" };

export function headline(report: Report): Card[] {
  const { attack, legit } = report.totals;
  const legitGroups = report.groups.filter((g) => g.label === "legit" && (g.kind === "legit" || g.kind === "service"));
  const pureLegit = legitGroups.reduce((s, g) => ({ sent: s.sent + g.sent, denied: s.denied + g.throttled + g.blocked, blocked: s.blocked + g.blocked, degraded: s.degraded + g.degraded }), { sent: 0, denied: 0, blocked: 0, degraded: 0 });
  const burned = report.detection.reduce((s, d) => s + d.accountsBurned, 0);
  const obtained = report.detection.reduce((s, d) => s + d.exchangesObtained, 0);
  const a = report.accounts;
  const security = "security" as const;
  const out: Card[] = [
    { section: security, label: "attack exchanges that reached the origin", value: `${compact(attack.ok)} / ${compact(attack.sent)}`, note: `${pct(attack.ok, attack.sent)}; without the gateway: all ${compact(report.baseline.attackExchanges)}` },
    { section: security, label: "attack output tokens leaked", value: compact(attack.outputTokens), note: `${pct(attack.outputTokens, report.baseline.attackOutputTokens)} of ${compact(report.baseline.attackOutputTokens)} without the gateway; ${compact(attack.degraded)} answers degraded` },
    { section: security, label: "legit requests denied (legit populations)", value: `${pureLegit.denied} / ${compact(pureLegit.sent)}`, note: `${pct(pureLegit.denied, pureLegit.sent)}; ${pureLegit.blocked} blocked (403)` },
    { section: security, label: "legit requests degraded", value: String(pureLegit.degraded), note: pct(pureLegit.degraded, pureLegit.sent) },
    { section: security, label: "all legit-labelled requests denied (incl. reseller customers)", value: `${legit.throttled + legit.blocked} / ${compact(legit.sent)}`, note: pct(legit.throttled + legit.blocked, legit.sent) },
    {
      section: security,
      label: "accounts flagged: precision / recall",
      value: `${a.precision === null ? "–" : pct(a.precision, 1)} / ${a.recall === null ? "–" : pct(a.recall, 1)}`,
      note: `${a.flaggedAttack} of ${a.labelledAttack} attack accounts, ${a.flaggedHonest} of ${a.labelledHonest} honest (${a.source})`,
    },
    { section: security, label: "accounts burned per 1M exchanges obtained", value: obtained > 0 ? compact((burned / obtained) * 1e6) : "–", note: `${burned} burned, ${compact(obtained)} exchanges` },
  ];
  for (const d of report.detection) {
    out.push({
      section: security,
      label: `time to detect: ${d.population}`,
      value: secs(d.timeToFirstEnforcementS),
      note: `first enforcement${d.firstEnforcement === null ? "" : ` (${d.firstEnforcement})`}; first denial: ${d.timeToFirstDenialS === null ? "none" : secs(d.timeToFirstDenialS)}; confirmed verdict: ${d.timeToConfirmedS === null ? "none seen" : secs(d.timeToConfirmedS)} (all from its first request)`,
    });
  }
  if (report.overhead) {
    const o = report.overhead;
    out.push({
      section: "engineering",
      label: "gateway overhead vs bare pass-through",
      value: `+${ms(o.addedP50Ms)} p50, +${ms(o.addedP99Ms)} p99`,
      note: `throughput ${(o.throughputRatio * 100).toFixed(0)}% of bare (${o.gateway.rps.toFixed(0)} vs ${o.bare.rps.toFixed(0)} req/s, ${o.clients} clients)`,
    });
  }
  out.push({
    section: "engineering",
    label: "hottest Durable Object (model)",
    value: pct(report.doLoad.hottest.share, 1),
    note: `${report.doLoad.hottest.name}; one object per key would put ${pct(report.doLoad.unsharded.share, 1)} on one object`,
  });
  return out;
}

/** The report's first paragraph: pass or fail against the targets, and what would have leaked without the gateway. */
export function summaryParagraph(report: Report): string {
  const { verdict, baseline } = report;
  const { attack } = report.totals;
  const failed = verdict.checks.filter((c) => !c.pass);
  const head = verdict.pass
    ? `PASS: all ${verdict.checks.length} of the scenario's targets met.`
    : `FAIL: ${failed.length} of ${verdict.checks.length} targets missed (${failed.map((c) => `${c.name}: ${c.actual}, target ${c.target}`).join("; ")}).`;
  const without = `Without the gateway every attack request would have reached the origin: ${baseline.attackExchanges.toLocaleString("en-US")} exchanges, ${baseline.attackOutputTokens.toLocaleString("en-US")} output tokens.`;
  const withIt = `With it, ${attack.ok.toLocaleString("en-US")} reached the origin (${pct(attack.ok, attack.sent)}; ${attack.degraded.toLocaleString("en-US")} of them degraded) and ${attack.outputTokens.toLocaleString("en-US")} output tokens leaked (${pct(attack.outputTokens, baseline.attackOutputTokens)}).`;
  return `${head} ${without} ${withIt}`;
}

function actionList(w: RiseWindow): string {
  return Object.entries(w.actions)
    .sort((x, y) => y[1] - x[1])
    .map(([a, n]) => `${a} ×${n}`)
    .join(", ");
}

function windowText(label: string, w: RiseWindow): string {
  const risk = w.meanRisk === null ? "" : `, mean risk ${w.meanRisk.toFixed(0)}`;
  const model = w.newModelShare === null ? "" : `, ${pct(w.newModelShare, 1)} on the new model`;
  return `${label} (${secs(w.fromS)}–${secs(w.toS)}, ${w.requests} requests, ${w.ok} answered, ${w.degraded} of them degraded): ${actionList(w) || "no decisions"}${risk}${model}.`;
}

/** Why a campaign's leakage climbed back, in the gateway's own terms: its actions, risk and reasons before and after. */
export function explainRise(rise: Rise, thresholds: Report["accounts"]["thresholds"]): string[] {
  const { before, after } = rise;
  const lines = [
    `${rise.population}: the share of its requests answered fell to ${pct(rise.troughShare, 1)} (from ${secs(rise.fallS)} on the campaign clock, as on the chart) and rose again to ${pct(rise.riseShare, 1)} from ${secs(rise.riseS)}.`,
    windowText("Before the rise", before),
    windowText("During the rise", after),
  ];
  const shifts = reasonShifts(before, after);
  if (shifts.length > 0) lines.push(`Reasons that changed (share of the requests): ${shifts.map((r) => `${r.reason} ${pct(r.before, 1)} → ${pct(r.after, 1)}`).join(", ")}.`);
  const why: string[] = [];
  if (before.meanRisk !== null && after.meanRisk !== null) {
    const crossed = (["block", "throttle", "degrade", "tag"] as const).find((k) => before.meanRisk !== null && after.meanRisk !== null && before.meanRisk >= thresholds[k] && after.meanRisk < thresholds[k]);
    if (crossed) why.push(`mean risk fell from ${before.meanRisk.toFixed(0)} to ${after.meanRisk.toFixed(0)}, below the ${crossed} threshold (${thresholds[crossed]})`);
    else if (after.meanRisk < before.meanRisk - 5) why.push(`mean risk fell from ${before.meanRisk.toFixed(0)} to ${after.meanRisk.toFixed(0)}`);
  }
  // Evidence codes (region.*, content.*, cluster.*) say what the gateway saw; risk.* and quota.* only which rule acted.
  const rule = (reason: string) => reason.startsWith("risk.") || reason.startsWith("quota.");
  const fell = shifts.filter((r) => r.after < r.before);
  const lessEvidence = fell.filter((r) => !rule(r.reason));
  const lessRules = fell.filter((r) => rule(r.reason));
  const moved = (list: typeof shifts) => list.map((r) => `${r.reason} ${pct(r.before, 1)} → ${pct(r.after, 1)}`).join(", ");
  if (lessEvidence.length > 0) why.push(`evidence cited on fewer requests: ${moved(lessEvidence)}`);
  if (lessRules.length > 0) why.push(`rules that acted on fewer requests: ${moved(lessRules)}`);
  if (before.newModelShare !== null && after.newModelShare !== null && after.newModelShare - before.newModelShare >= 0.15) {
    why.push(`more of the traffic was on the new model (${pct(before.newModelShare, 1)} → ${pct(after.newModelShare, 1)})`);
  }
  if (after.ok > 0 && after.degraded / after.ok >= 0.5) why.push(`most answers that came back were degraded (max_tokens clamped), so tokens leaked rose less than exchanges`);
  if ((after.actions.unlogged ?? 0) > after.requests / 2) why.push("most of these requests have no decision line joined (a running gateway logs to its own terminal)");
  lines.push(why.length > 0 ? `Why, from the gateway's decisions: ${why.join("; ")}.` : "The gateway's decisions do not show a change that explains it.");
  return lines;
}

function riskHistogram(report: Report): string {
  const h = report.accounts.risk;
  if (!h) return "<p>Risk per account is not available: against a running gateway the decision log goes to that gateway's terminal.</p>";
  const groups = h.honest.map((_, b) => `${b * h.bucketWidth}–${(b + 1) * h.bucketWidth - (b === h.honest.length - 1 ? 0 : 1)}`);
  const t = report.accounts.thresholds;
  const at = (v: number) => v / h.bucketWidth;
  return barChart({
    title: "Peak risk per account (the highest risk any of its decisions carried)",
    xLabel: "peak risk",
    yLabel: "accounts",
    groups,
    series: [
      { name: "honest accounts", values: h.honest, color: "#2563eb" },
      { name: "attack accounts", values: h.attack, color: "#dc2626" },
    ],
    markers: [
      { x: at(t.tag), label: `tag ${t.tag}`, color: "#6b7280" },
      { x: at(t.degrade), label: `degrade ${t.degrade}`, color: "#f59e0b" },
      { x: at(t.throttle), label: `throttle ${t.throttle}`, color: "#ea580c" },
      { x: at(t.block), label: `block ${t.block}`, color: "#991b1b" },
    ],
  });
}

// A key's evidence list runs to a dozen items, most adding nothing; the ones that moved the score say why.
const EVIDENCE_ITEMS = 6;

function evidenceText(evidence: Report["evidence"]["byPopulation"][number]["clusters"][number]["evidence"]): string {
  const moving = evidence.filter((x) => x.points !== 0).sort((a, b) => Math.abs(b.points) - Math.abs(a.points));
  const shown = moving.slice(0, EVIDENCE_ITEMS).map((x) => `${x.evidence}${x.value === null ? "" : `=${+x.value.toFixed(3)}`} ${x.points >= 0 ? "+" : ""}${+x.points.toFixed(2)}`);
  if (moving.length > EVIDENCE_ITEMS) shown.push(`${moving.length - EVIDENCE_ITEMS} more`);
  return shown.join(", ") || "–";
}

function evidenceSection(report: Report): string {
  const e = report.evidence;
  const parts: string[] = [];
  if (e.note) parts.push(`<p class="note">${esc(e.note)}</p>`);
  for (const p of e.byPopulation) {
    parts.push(`<h3>${esc(p.population)}</h3>`);
    parts.push(
      table(
        ["cluster", "type", "verdict", "accounts", "campaign's share", "score", "evidence (points)", "reasons"],
        p.clusters.map((c) => [
          c.type === "component" && c.keys.length > 0 ? `${c.id} (keys: ${c.keys.slice(0, 6).join(", ")}${c.keys.length > 6 ? ", …" : ""})` : c.id,
          c.type,
          c.verdict,
          c.size,
          Object.keys(c.members).length > 1
            ? `${pct(c.ownerShare, 1)} (members: ${Object.entries(c.members).map(([name, n]) => `${name} ${n}`).join(", ")})`
            : pct(c.ownerShare, 1),
          c.score === null ? "–" : c.score.toFixed(2),
          evidenceText(c.evidence),
          c.reasons.join(", "),
        ]),
      ),
    );
  }
  const ind = e.indicators;
  if (ind) {
    parts.push(`<h3>Indicator export (GET /admin/indicators)</h3><p class="note">${ind.total} indicators over ${ind.clusters} confirmed components; omitted: ${esc(Object.entries(ind.omitted).map(([k, v]) => `${k} ${v}`).join(", ") || "none")}. The first ${ind.sample.length}, by accounts:</p>`);
    parts.push(table(["type", "value", "accounts", "clusters"], ind.sample.map((i) => [i.type, i.value, i.accounts, i.clusters.join(", ")])));
  }
  return parts.join("\n");
}

function cardsHtml(cards: readonly Card[]): string {
  return `<div class="cards">${cards
    .map((h) => `<div class="card"><div class="v">${esc(h.value)}</div><div class="l">${esc(h.label)}</div><div class="n">${esc(h.note)}</div></div>`)
    .join("")}</div>`;
}

const STYLE = `<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#111;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}h3{font-size:14px;margin-top:18px}
.meta{color:#555;font-size:13px}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px;margin:16px 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}.card .v{font-size:20px;font-weight:600}.card .l{font-size:12px;color:#333;margin-top:2px}.card .n{font-size:11px;color:#6b7280;margin-top:4px}
table{border-collapse:collapse;font-size:12px;margin:8px 0;width:100%}th,td{border:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f9fafb}
.note{font-size:12px;color:#555}svg{max-width:100%;height:auto;display:block;margin:12px 0}
.verdict{font-size:15px;padding:10px 12px;border-radius:8px;margin:14px 0}.pass{background:#ecfdf5;border:1px solid #10b981}.fail{background:#fef2f2;border:1px solid #ef4444}
pre{font-size:11px;background:#f9fafb;border:1px solid #e5e7eb;padding:8px;overflow:auto;max-height:600px}
</style>`;

export function renderHtml(report: Report): string {
  const allCards = headline(report);
  const securityCards = cardsHtml(allCards.filter((c) => c.section === "security"));
  const engineeringCards = cardsHtml(allCards.filter((c) => c.section === "engineering"));
  const targetsTable = table(
    ["target", "required", "this run", "result"],
    report.verdict.checks.map((c) => [c.name, c.target, c.actual, c.pass ? "pass" : "FAIL"]),
  );
  const rises =
    report.rises.length === 0
      ? "<p class=\"note\">No campaign's leakage rose again after falling in this run.</p>"
      : report.rises.map((r) => `<ul class="note">${explainRise(r, report.accounts.thresholds).map((l) => `<li>${esc(l)}</li>`).join("")}</ul>`).join("\n");
  const acc = report.accounts;
  const accountsTable = table(
    ["population", "label", "accounts", "flagged", "share flagged"],
    acc.byPopulation.map((p) => [p.population, p.label, p.accounts, p.flagged, pct(p.flagged, p.accounts)]),
  );
  const detection = table(
    ["population", "kind", "accounts used", "first request (campaign s)", "time to first enforcement", "time to first denial", "time to confirmed verdict", "leaked before / after first denial", "200-share first → last third", "accounts burned", "burned / 1M exchanges"],
    report.detection.map((d) => [
      d.population,
      d.kind,
      d.accountsUsed,
      d.firstRequestS === null ? "–" : d.firstRequestS.toFixed(0),
      d.firstEnforcement === null ? secs(null) : `${secs(d.timeToFirstEnforcementS)} (${d.firstEnforcement})`,
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
${STYLE}</head><body>
<h1>distillguard simulation: ${esc(report.scenario.name)}</h1>
<p class="verdict ${report.verdict.pass ? "pass" : "fail"}">${esc(summaryParagraph(report))}</p>
<div class="meta">${esc(report.scenario.description)}</div>
<div class="meta">${esc(r.mode)} against ${esc(r.gateway)} · started ${esc(r.startedAt)} · ${report.scenario.durationSeconds} s of campaign compressed ${report.scenario.timeCompression}× · replay ${r.replayWallSeconds.toFixed(1)} s wall (setup ${r.setupSeconds.toFixed(1)} s, ${r.accountsCreated} accounts created in ${r.accountCreateSeconds.toFixed(1)} s) · max lag behind schedule ${r.maxLagSeconds.toFixed(2)} s · transport errors ${r.transportErrors} · seed ${report.scenario.seed}</div>
<h2>Security results</h2>
${targetsTable}
${securityCards}
<h2>Leakage over time</h2>
<p class="note">Markers sit on the campaign clock. Each campaign's times are counted from its own first request ("t0"), as in the cards: "first denied" is its first request refused (429/403), "confirmed" the first GET /admin/clusters poll listing a confirmed key it owns.</p>
${leakageChart(report)}
${tokensChart(report)}
<h3>When leakage rose again</h3>
${rises}
<h2>False positives</h2>
${legitChart(report)}
<h2>Detection per campaign</h2>
<p class="note">Time to detect = the population's first attack request denied (429/403) minus its first request, in campaign time; a confirmed verdict is the first GET /admin/clusters poll listing a confirmed key that population owns (≥ 80% of the key's accounts). A burned account's last request was denied, or it was blocked at least once.</p>
${detection}
<h2>Per-account results</h2>
<p class="note">An account is labelled attack when its population is a campaign (a reseller's pooled accounts included). ${
    acc.source === "decision log"
      ? "Flagged: the gateway enforced degrade, throttle or block on it at least once for a reason other than a plain limit (quota.*), from its decision log."
      : "Flagged: refused or degraded at least once (no decision log from a running gateway, so a plain quota counts too)."
  } Precision ${acc.precision === null ? "–" : pct(acc.precision, 1)} (${acc.flaggedAttack} of ${acc.flaggedAttack + acc.flaggedHonest} flagged accounts are attack accounts), recall ${acc.recall === null ? "–" : pct(acc.recall, 1)} (${acc.flaggedAttack} of ${acc.labelledAttack} attack accounts flagged); ${acc.flaggedHonest} of ${acc.labelledHonest} honest accounts flagged.</p>
${accountsTable}
${riskHistogram(report)}
${acc.risk ? `<p class="note">Accounts with no logged decision: ${acc.risk.unknown.honest} honest, ${acc.risk.unknown.attack} attack.</p>` : ""}
<h2>Evidence: what identified each campaign</h2>
<p class="note">The admin API's confirmed and suspect clusters at the end of the run (GET /admin/clusters, then each key's detail with its verdict score and the evidence that moved it, largest first), attributed to a campaign: a key to the campaign holding ≥ 80% of its accounts by the simulator's own fingerprints, a component to the population most of its members belong to (members of other populations listed).</p>
${evidenceSection(report)}
<h2>Requests by population and label</h2>
<p class="note">Statuses over all requests: ${esc(Object.entries(report.totals.statuses).map(([k, v]) => `${k === "0" ? "no answer" : k}: ${v}`).join(" · "))}</p>
<p class="note">Labels are the simulator's ground truth. "Reached origin" = 200; degraded = a 200 whose output tokens are below what the demo origin answers unclamped.</p>
${groups}
<h2>Why the gateway acted</h2>
<p class="note">From the gateway's own decision log (one JSON line per decision), joined to the simulator's labels by request id. Reasons are the gateway's codes: evidence (region.*, content.*, cluster.*) and the rule that acted (risk.*, quota.*).</p>
${actions}
<h2>Engineering figures</h2>
${engineeringCards}
<h3>Gateway overhead</h3>
<p class="note">Same run, same origin, same machine: a bare Worker that forwards to ORIGIN_URL, against the gateway with an enterprise-tier benchmark account. Sequential requests for latency, ${report.overhead?.clients ?? "–"} concurrent clients for throughput, alternating slices. Added latency is the difference of the percentiles.</p>
${overhead}
<h3>Durable Object load</h3>
<p class="note"><strong>Computed from the traffic model, not measured in workerd</strong>: 1 admit per decided request and 1 settle per forwarded one on the account's object; 1 report per account per report interval on its collector (${d.objects.collectors} collectors used); per interval, 1 rollup per collector on the root of each key shared by 2+ accounts. Total ${d.totalCalls} calls (admits ${d.calls.admits}, settles ${d.calls.settles}, reports ${d.calls.reports}, rollups ${d.calls.rollups}) over ${d.objects.accounts} account objects and ${d.objects.roots} roots. Hottest object overall: <strong>${esc(d.hottest.name)}</strong> with ${pct(d.hottest.share, 1)} of all calls. For contrast, one object per fingerprint key called on every request would put ${pct(d.unsharded.share, 1)} of requests (${d.unsharded.callsOnHottest} calls, peak ${d.unsharded.peakPerSecond}/s) on <code>${esc(d.unsharded.key)}</code>.</p>
${load}
<h3>Run notes</h3>
${tasks}
<ul class="note">${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>
<h2>Appendix: the policy used</h2>
<h3>Policy under time compression</h3>
${scaled}
<h3>The policy in full</h3>
<p class="note">What the gateway ran: the scenario's policy over the built-in defaults, time fields scaled (wall seconds).</p>
<pre>${esc(JSON.stringify(report.policy.effective, null, 2))}</pre>
</body></html>
`;
}

/** The figures of repeated runs side by side: min, median and max of each; `reports` are links relative to this page. */
export function renderRepeatHtml(scenario: string, seeds: readonly number[], passes: readonly boolean[], figures: readonly Spread[], reports: readonly string[]): string {
  const value = (s: Spread, v: number | null) => (v === null ? "–" : s.unit === "share" ? pct(v, 1) : s.unit === "seconds" ? secs(v) : compact(v));
  const rows = figures.map((f) => [f.name, value(f, f.min), value(f, f.median), value(f, f.max), f.missing > 0 ? `${f.missing} of ${f.runs} runs without it` : ""]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>distillguard simulation: ${esc(scenario)} × ${seeds.length}</title>
${STYLE}</head><body>
<h1>distillguard simulation: ${esc(scenario)}, ${seeds.length} runs</h1>
<p class="verdict ${passes.every(Boolean) ? "pass" : "fail"}">${passes.filter(Boolean).length} of ${passes.length} runs passed the scenario's targets (seeds ${seeds.join(", ")}).</p>
${table(["figure", "min", "median", "max", ""], rows)}
<ul class="note">${reports.map((r, i) => `<li>seed ${seeds[i] ?? "?"}: ${passes[i] ? "pass" : "fail"}, <a href="${esc(r)}">${esc(r)}</a></li>`).join("")}</ul>
</body></html>
`;
}
