// @ts-check
/** Clusters ranked by size or rate (`GET /admin/clusters`), and one cluster (`GET /admin/clusters/{id}`). */
import { api, seg } from "../api.js";
import { badge, codes, duration, errorBox, facts, h, num, pct, replace, table, time } from "../dom.js";
import { accountLink, auditHref, auditTable, clusterLink } from "./audit.js";

/**
 * @typedef {{ id: string, type: "component" | "key", kind: string | null, size: number, requestsPerWindow: number,
 *   verdict: string, reasons: string[], allowlisted: boolean, sharedKeys: string[] | null, sharedKeyCount: number | null,
 *   updatedAt: string | null }} ClusterItem
 * @typedef {{ evidence: string, value: number | null, points: number, reason: string | null, implied: boolean }} Evidence
 * @typedef {{ id: string, type: "key", kind?: string, size?: number, requestsPerWindow?: number, synchrony?: number,
 *   templateShare?: number, elicitationShare?: number, topModel?: string | null, verdict?: string, reasons?: string[],
 *   score?: number | null, evidence?: Evidence[], allowlisted?: boolean, updatedAt?: string | null, rollup?: null,
 *   members?: number }} KeyRollup
 * @typedef {import("./audit.js").AuditEntry} AuditEntry
 * @typedef {{ members: number, onConfirmedKeys: number, onSuspectKeys: number, confirmShare: number, minAccounts: number }} VerdictBasis
 * @typedef {{ windowSeconds: number, cluster: { id: string, size: number, requestsPerWindow: number, verdict: string, reasons: string[],
 *   keyRates?: { busiest: number | null, sum: number, keys: number }, verdictBasis?: VerdictBasis, basisComplete?: boolean,
 *   createdAt: string | null, updatedAt: string | null }, sharedKeys: KeyRollup[],
 *   members: Array<{ account: string, tier: string | null, verified: boolean | null, createdAt: string | null }>,
 *   nextCursor: string | null, timeline: AuditEntry[] }} ComponentDetail
 * @typedef {{ windowSeconds: number, thresholds?: { suspectScore: number, confirmScore: number, minAccounts: number, minRequestsPerWindow: number },
 *   cluster: KeyRollup, accounts: Array<{ account: string, firstSeen: string | null, lastSeen: string | null }>,
 *   nextCursor: string | null, components: string[] }} KeyDetail
 */

export { accountLink, clusterLink };

const filters = { sort: "size", type: "", verdict: "" };

/** @param {HTMLElement} root @param {string | null} id */
export async function clustersView(root, id) {
  if (id !== null) return clusterDetail(root, id);

  const listBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  /** @type {ClusterItem[]} */
  let items = [];
  /** @type {string | null} */
  let cursor = null;
  let windowSeconds = 60;

  /** @param {boolean} more */
  async function load(more) {
    const query = new URLSearchParams({ sort: filters.sort, limit: "50" });
    if (filters.type) query.set("type", filters.type);
    if (filters.verdict) query.set("verdict", filters.verdict);
    if (more && cursor) query.set("cursor", cursor);
    try {
      /** @type {{ clusters: ClusterItem[], nextCursor: string | null, windowSeconds?: number }} */
      const page = await api("GET", `/clusters?${query}`);
      items = more ? [...items, ...page.clusters] : page.clusters;
      windowSeconds = page.windowSeconds ?? windowSeconds;
      cursor = page.nextCursor;
    } catch (err) {
      replace(listBox, errorBox(err));
      return;
    }
    replace(
      listBox,
      table(
        ["cluster", "type", "accounts", `requests / ${duration(windowSeconds)}`, "verdict", "reasons", "shared fingerprints"],
        items,
        (c) => [
          clusterLink(c.id),
          c.type === "component" ? "component" : `key · ${c.kind ?? "?"}`,
          num(c.size),
          c.type === "component" && c.requestsPerWindow > 0 ? `≥ ${num(c.requestsPerWindow)}` : num(c.requestsPerWindow),
          [badge(c.verdict), c.allowlisted ? h("span", { class: "muted" }, " allow-listed") : null],
          codes(c.reasons),
          c.sharedKeys === null
            ? h("span", { class: "muted" }, "(the key itself)")
            : [
                c.sharedKeys.slice(0, 3).map((k) => h("code", { class: "tag" }, k)),
                (c.sharedKeyCount ?? 0) > 3 ? h("span", { class: "muted" }, ` +${(c.sharedKeyCount ?? 0) - 3} more`) : null,
              ],
        ],
        "No clusters yet: the linker (cron) and the cluster objects fill this list.",
      ),
      cursor ? h("button", { type: "button", onclick: () => void load(true) }, "More") : null,
    );
  }

  /** @param {string} name @param {keyof typeof filters} key @param {Array<[string, string]>} options */
  const select = (name, key, options) =>
    h(
      "label",
      {},
      `${name} `,
      h(
        "select",
        {
          onchange: (event) => {
            if (event.target instanceof HTMLSelectElement) filters[key] = event.target.value;
            void load(false);
          },
        },
        options.map(([value, text]) => h("option", { value, selected: filters[key] === value }, text)),
      ),
    );

  replace(
    root,
    h("h1", {}, "Clusters"),
    h(
      "div",
      { class: "toolbar" },
      select("rank by", "sort", [["size", "size (accounts)"], ["rate", "rate (requests per window)"], ["updated", "last update"]]),
      select("type", "type", [["", "all"], ["component", "components (linked accounts)"], ["key", "fingerprint keys"]]),
      select("verdict", "verdict", [["", "any"], ["confirmed", "confirmed"], ["suspect", "suspect"], ["none", "none"]]),
    ),
    listBox,
  );
  await load(false);
}

/** @param {string} verdict */
const verdictWord = (verdict) => (verdict === "confirmed" ? "confirmed" : verdict === "suspect" ? "suspect" : "not judged a campaign");

/** @param {ComponentDetail} d */
function componentWhy(d) {
  const c = d.cluster;
  const linking = d.sharedKeys.filter((k) => (k.members ?? 0) > 0).sort((a, b) => (b.members ?? 0) - (a.members ?? 0));
  const exists = h(
    "p",
    {},
    `Why it exists: ${num(c.size)} accounts linked through ${num(d.sharedKeys.length)} shared fingerprint ${d.sharedKeys.length === 1 ? "key" : "keys"}`,
    linking.length === 0 ? "." : ": ",
    linking.slice(0, 6).map((k, i) => [i > 0 ? ", " : null, h("code", {}, k.id), ` (${num(k.members)} of ${num(c.size)} members)`]),
    linking.length > 6 ? ` and ${num(linking.length - 6)} more` : null,
    linking.length > 0 ? ". No key need be shared by all: accounts that share any one are linked, and links chain." : null,
  );
  const b = c.verdictBasis;
  const verdict = b
    ? h(
        "p",
        {},
        `Why ${verdictWord(c.verdict)}: ${num(b.onConfirmedKeys)} of ${num(b.members)} members (${pct(b.members ? b.onConfirmedKeys / b.members : 0)}) sit on a confirmed key, `,
        `${num(b.onSuspectKeys)} more on a suspect one; the policy confirms a component from ${pct(b.confirmShare)} (clusters.componentConfirmShare) `,
        `and makes it suspect with any member on a judged key or from ${num(b.minAccounts)} members (clusters.minAccounts). `,
        "Broad keys (an SDK build, a TLS stack, an ASN) are not counted: honest customers share them.",
        c.basisComplete === false ? h("span", { class: "muted" }, " (counted over the first 20,000 member edges)") : null,
      )
    : null;
  const r = c.keyRates;
  const rate = r && r.busiest !== null
    ? h(
        "p",
        {},
        `Rate: at least ${num(r.busiest)} requests / ${duration(d.windowSeconds)} (its busiest linking key). `,
        `Summed over its ${num(r.keys)} keys with a roll-up: ${num(r.sum)} / ${duration(d.windowSeconds)}, an upper bound, since one request carries several keys.`,
      )
    : h("p", { class: "muted" }, "Rate: no linking key has a roll-up yet.");
  return h("section", { class: "card why" }, h("h2", {}, "Why this cluster"), exists, verdict, rate);
}

/** @param {KeyDetail} d */
function keyWhy(d) {
  const k = d.cluster;
  if (k.rollup === null || k.score === undefined) return null;
  const t = d.thresholds;
  const scoreText =
    k.score === null || k.score === undefined
      ? `not scored: below ${t ? `${num(t.minAccounts)} accounts or ${num(t.minRequestsPerWindow)} requests / ${duration(d.windowSeconds)}` : "the judging minimums"}, or allow-listed`
      : `score ${num(k.score * 100)} % against ${t ? `${num(t.suspectScore * 100)} % for suspect and ${num(t.confirmScore * 100)} % for confirmed` : "the policy's thresholds"}`;
  const evidence = [...(k.evidence ?? [])].sort((a, b) => b.points - a.points);
  return h(
    "section",
    { class: "card why" },
    h("h2", {}, "Why this verdict"),
    h(
      "p",
      {},
      `${verdictWord(k.verdict ?? "none")}: ${scoreText}. ${num(k.size)} accounts share the key, sending ${num(k.requestsPerWindow)} requests / ${duration(d.windowSeconds)}.`,
    ),
    table(
      ["evidence", "measured", "points (log-odds)", "reason earned"],
      evidence,
      (e) => [h("code", {}, e.evidence), e.value === null ? "–" : num(e.value), [num(e.points), e.implied ? h("span", { class: "muted" }, " implied") : null], e.reason ? h("code", {}, e.reason) : "–"],
      "No evidence items stored for this key (judged before scores were kept, or not judged).",
    ),
  );
}

/** @param {HTMLElement} root @param {string} id */
async function clusterDetail(root, id) {
  const back = h("p", {}, h("a", { href: "#/clusters" }, "← all clusters"));
  if (id.startsWith("cc:")) {
    /** @type {ComponentDetail} */
    const d = await api("GET", `/clusters/${seg(id)}?limit=200`);
    const per = duration(d.windowSeconds ?? 60);
    replace(
      root,
      back,
      h("h1", {}, "Cluster ", h("span", { class: "mono" }, d.cluster.id)),
      facts([
        ["verdict", badge(d.cluster.verdict)],
        ["reasons", codes(d.cluster.reasons)],
        ["accounts", num(d.cluster.size)],
        [`requests / ${per}`, d.cluster.keyRates?.busiest ? `≥ ${num(d.cluster.keyRates.busiest)}` : num(d.cluster.requestsPerWindow)],
        ["first linked", time(d.cluster.createdAt)],
        ["updated", time(d.cluster.updatedAt)],
        ["audit", h("a", { href: auditHref({ cluster: d.cluster.id }) }, "entries naming this cluster")],
      ]),
      componentWhy(d),
      h("h2", {}, "Shared fingerprints"),
      keyTable(d.sharedKeys, d.windowSeconds ?? 60, d.cluster.size),
      h("h2", {}, `Members (${num(d.members.length)}${d.nextCursor ? "+" : ""})`),
      table(["account", "tier", "verified", "created"], d.members, (m) => [
        accountLink(m.account),
        m.tier ?? "–",
        m.verified === null ? "–" : m.verified ? "yes" : "no",
        time(m.createdAt),
      ]),
      h("h2", {}, "Timeline"),
      auditTable(d.timeline),
    );
    return;
  }
  /** @type {KeyDetail} */
  const d = await api("GET", `/clusters/${seg(id)}?limit=200`);
  replace(
    root,
    back,
    h("h1", {}, "Fingerprint key ", h("span", { class: "mono" }, d.cluster.id)),
    d.cluster.rollup === null ? h("p", { class: "muted" }, "No roll-up yet: only account edges are known.") : keyTable([d.cluster], d.windowSeconds ?? 60, null),
    keyWhy(d),
    h("p", {}, h("a", { href: auditHref({ cluster: d.cluster.id }) }, "Audit entries naming this key")),
    h("h2", {}, "In components"),
    d.components.length === 0 ? h("p", { class: "muted" }, "none") : h("ul", {}, d.components.map((c) => h("li", {}, clusterLink(c)))),
    h("h2", {}, `Accounts seen with this key (${num(d.accounts.length)}${d.nextCursor ? "+" : ""})`),
    table(["account", "first seen", "last seen"], d.accounts, (a) => [accountLink(a.account), time(a.firstSeen), time(a.lastSeen)]),
  );
}

/** @param {KeyRollup[]} keys @param {number} windowSeconds @param {number | null} componentSize */
function keyTable(keys, windowSeconds, componentSize) {
  const head = ["fingerprint key", ...(componentSize === null ? [] : ["members"]), "accounts", `requests / ${duration(windowSeconds)}`, "synchrony", "template share", "eliciting", "score", "top model", "verdict"];
  return table(
    head,
    keys,
    (k) => {
      const members = componentSize === null ? [] : [`${num(k.members ?? 0)} of ${num(componentSize)}`];
      return k.rollup === null
        ? [clusterLink(k.id), ...members, h("span", { class: "muted" }, "no roll-up yet"), "", "", "", "", "", "", ""]
        : [
            clusterLink(k.id),
            ...members,
            num(k.size),
            num(k.requestsPerWindow),
            pct(k.synchrony),
            pct(k.templateShare),
            pct(k.elicitationShare),
            k.score === null || k.score === undefined ? "–" : pct(k.score),
            k.topModel ?? "–",
            [badge(k.verdict), k.allowlisted ? h("span", { class: "muted" }, " allow-listed") : null],
          ];
    },
    "No shared keys.",
  );
}

export { auditTable };
