// @ts-check
/** Clusters ranked by size or rate (`GET /admin/clusters`), and one cluster (`GET /admin/clusters/{id}`). */
import { api, seg } from "../api.js";
import { badge, codes, errorBox, facts, h, num, pct, replace, table, time } from "../dom.js";

/**
 * @typedef {{ id: string, type: "component" | "key", kind: string | null, size: number, requestsPerWindow: number,
 *   verdict: string, reasons: string[], allowlisted: boolean, sharedKeys: string[] | null, sharedKeyCount: number | null,
 *   updatedAt: string | null }} ClusterItem
 * @typedef {{ id: string, type: "key", kind?: string, size?: number, requestsPerWindow?: number, synchrony?: number,
 *   templateShare?: number, elicitationShare?: number, topModel?: string | null, verdict?: string, reasons?: string[],
 *   allowlisted?: boolean, updatedAt?: string | null, rollup?: null }} KeyRollup
 * @typedef {{ id: string, at: string, kind: string, account: string | null, action: string | null, enforced: boolean | null,
 *   reasons: string[], risk: number | null, country: string | null, detail: unknown }} AuditEntry
 * @typedef {{ cluster: { id: string, size: number, requestsPerWindow: number, verdict: string, reasons: string[],
 *   createdAt: string | null, updatedAt: string | null }, sharedKeys: KeyRollup[],
 *   members: Array<{ account: string, tier: string | null, verified: boolean | null, createdAt: string | null }>,
 *   nextCursor: string | null, timeline: AuditEntry[] }} ComponentDetail
 * @typedef {{ cluster: KeyRollup, accounts: Array<{ account: string, firstSeen: string | null, lastSeen: string | null }>,
 *   nextCursor: string | null, components: string[] }} KeyDetail
 */

/** @param {string} id */
export const clusterLink = (id) => h("a", { href: `#/clusters/${seg(id)}`, class: "mono" }, id);
/** @param {string} id */
export const accountLink = (id) => h("a", { href: `#/accounts/${seg(id)}`, class: "mono" }, id);

const filters = { sort: "size", type: "", verdict: "" };

/** @param {HTMLElement} root @param {string | null} id */
export async function clustersView(root, id) {
  if (id !== null) return clusterDetail(root, id);

  const listBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  /** @type {ClusterItem[]} */
  let items = [];
  /** @type {string | null} */
  let cursor = null;

  /** @param {boolean} more */
  async function load(more) {
    const query = new URLSearchParams({ sort: filters.sort, limit: "50" });
    if (filters.type) query.set("type", filters.type);
    if (filters.verdict) query.set("verdict", filters.verdict);
    if (more && cursor) query.set("cursor", cursor);
    try {
      /** @type {{ clusters: ClusterItem[], nextCursor: string | null }} */
      const page = await api("GET", `/clusters?${query}`);
      items = more ? [...items, ...page.clusters] : page.clusters;
      cursor = page.nextCursor;
    } catch (err) {
      replace(listBox, errorBox(err));
      return;
    }
    replace(
      listBox,
      table(
        ["cluster", "type", "accounts", "requests / window", "verdict", "reasons", "shared fingerprints"],
        items,
        (c) => [
          clusterLink(c.id),
          c.type === "component" ? "component" : `key · ${c.kind ?? "?"}`,
          num(c.size),
          num(c.requestsPerWindow),
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
      select("rank by", "sort", [["size", "size (accounts)"], ["rate", "rate (requests / window)"], ["updated", "last update"]]),
      select("type", "type", [["", "all"], ["component", "components (linked accounts)"], ["key", "fingerprint keys"]]),
      select("verdict", "verdict", [["", "any"], ["confirmed", "confirmed"], ["suspect", "suspect"], ["none", "none"]]),
    ),
    listBox,
  );
  await load(false);
}

/** @param {HTMLElement} root @param {string} id */
async function clusterDetail(root, id) {
  const back = h("p", {}, h("a", { href: "#/clusters" }, "← all clusters"));
  if (id.startsWith("cc:")) {
    /** @type {ComponentDetail} */
    const d = await api("GET", `/clusters/${seg(id)}?limit=200`);
    replace(
      root,
      back,
      h("h1", {}, "Cluster ", h("span", { class: "mono" }, d.cluster.id)),
      facts([
        ["verdict", badge(d.cluster.verdict)],
        ["reasons", codes(d.cluster.reasons)],
        ["accounts", num(d.cluster.size)],
        ["requests / window", num(d.cluster.requestsPerWindow)],
        ["first linked", time(d.cluster.createdAt)],
        ["updated", time(d.cluster.updatedAt)],
      ]),
      h("h2", {}, "Shared fingerprints"),
      keyTable(d.sharedKeys),
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
    d.cluster.rollup === null ? h("p", { class: "muted" }, "No roll-up yet: only account edges are known.") : keyTable([d.cluster]),
    h("h2", {}, "In components"),
    d.components.length === 0 ? h("p", { class: "muted" }, "none") : h("ul", {}, d.components.map((c) => h("li", {}, clusterLink(c)))),
    h("h2", {}, `Accounts seen with this key (${num(d.accounts.length)}${d.nextCursor ? "+" : ""})`),
    table(["account", "first seen", "last seen"], d.accounts, (a) => [accountLink(a.account), time(a.firstSeen), time(a.lastSeen)]),
  );
}

/** @param {KeyRollup[]} keys */
function keyTable(keys) {
  return table(
    ["fingerprint key", "accounts", "requests / window", "synchrony", "template share", "eliciting", "top model", "verdict"],
    keys,
    (k) =>
      k.rollup === null
        ? [clusterLink(k.id), h("span", { class: "muted" }, "no roll-up yet"), "", "", "", "", "", ""]
        : [
            clusterLink(k.id),
            num(k.size),
            num(k.requestsPerWindow),
            pct(k.synchrony),
            pct(k.templateShare),
            pct(k.elicitationShare),
            k.topModel ?? "–",
            [badge(k.verdict), k.allowlisted ? h("span", { class: "muted" }, " allow-listed") : null],
          ],
    "No shared keys.",
  );
}

/** @param {AuditEntry[]} entries @param {boolean} [withAccount] */
export function auditTable(entries, withAccount = true) {
  return table(
    ["time", ...(withAccount ? ["account"] : []), "kind", "action", "reasons", "risk", "country", "detail"],
    entries,
    (e) => [
      time(e.at),
      ...(withAccount ? [e.account ? accountLink(e.account) : "–"] : []),
      e.kind,
      [badge(e.action), e.enforced === false ? h("span", { class: "muted" }, " shadow") : null],
      codes(e.reasons),
      num(e.risk),
      e.country ?? "–",
      e.detail === null ? "" : h("code", { class: "detail" }, typeof e.detail === "string" ? e.detail : JSON.stringify(e.detail)),
    ],
    "No entries.",
  );
}
