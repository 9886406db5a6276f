// @ts-check
/** Indicator sets imported from other gateways and providers (`GET /admin/indicators/imports`), with how often each matched. */
import { api } from "../api.js";
import { badge, h, num, replace, table, time, timeZone } from "../dom.js";
import { auditHref } from "./audit.js";

/**
 * @typedef {{ id: string, source: string, indicators: number, rejected: number, createdAt: string, expiresAt: string,
 *   active: boolean, matches?: number, lastMatchedAt?: string | null }} IndicatorImport
 */

/** @param {HTMLElement} root */
export async function indicatorsView(root) {
  /** @type {{ imports: IndicatorImport[] }} */
  const page = await api("GET", "/indicators/imports");
  const live = page.imports.filter((i) => i.active);
  replace(
    root,
    h("h1", {}, "Imported indicators"),
    h(
      "p",
      {},
      `${num(live.length)} active ${live.length === 1 ? "set" : "sets"}, ${num(live.reduce((n, i) => n + i.indicators, 0))} indicators. `,
      "A request carrying one gets the shared_indicator risk signal: evidence, never a block by itself. ",
      h("a", { href: auditHref({ reason: "shared_indicator" }) }, "Audited decisions with that signal"),
    ),
    table(
      ["source", "import", "indicators", "rejected", "matches", "last match", "imported", "expires", ""],
      page.imports,
      (i) => [
        i.source,
        h("code", {}, i.id),
        num(i.indicators),
        num(i.rejected),
        num(i.matches ?? 0),
        time(i.lastMatchedAt ?? null),
        time(i.createdAt),
        time(i.expiresAt),
        i.active ? badge("active") : badge("expired"),
      ],
      "Nothing imported yet: POST /admin/indicators/imports with another gateway's export.",
    ),
    h(
      "p",
      { class: "hint" },
      `Matches are requests that carried one of the set's indicators, added by the edge in batches every few seconds (a lower bound). Times in ${timeZone()}.`,
    ),
  );
}
