// @ts-check
/**
 * Building the page from API data without ever parsing it as HTML: strings
 * become text nodes or attribute values, never markup, so an account id or a
 * fingerprint key like `<img onerror=…>` shows as the text it is.
 */

/** @typedef {Node | string | number | null | undefined | false} Leaf */
/** @typedef {Leaf | Leaf[] | Array<Leaf | Leaf[]>} Child */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>} Props */

/**
 * @param {Element} el
 * @param {Props} props
 */
function applyProps(el, props) {
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === "function") {
      el.addEventListener(name.replace(/^on/, ""), value);
    } else if (name === "style" && typeof value === "string" && (el instanceof HTMLElement || el instanceof SVGElement)) {
      // Through the CSSOM: the CSP (style-src 'self') refuses a style attribute, not a property set from a script.
      for (const rule of value.split(";")) {
        const at = rule.indexOf(":");
        if (at > 0) el.style.setProperty(rule.slice(0, at).trim(), rule.slice(at + 1).trim());
      }
    } else if (value === true) {
      el.setAttribute(name, "");
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
}

/**
 * @param {Node} parent
 * @param {Child[]} children
 */
function appendAll(parent, children) {
  for (const child of children) {
    if (Array.isArray(child)) appendAll(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else if (typeof child === "string" || typeof child === "number") parent.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  appendAll(el, children);
  return el;
}

/**
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {Child[]} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, props = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  applyProps(el, props);
  appendAll(el, children);
  return el;
}

/** @param {Element} el @param {Child[]} children */
export function replace(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
}

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** @param {number | null | undefined} n */
export function num(n) {
  return n === null || n === undefined ? "–" : numberFormat.format(n);
}

/** @param {number | null | undefined} share 0..1 */
export function pct(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)} %`;
}

/** @param {string | number | null | undefined} t ISO text or epoch ms */
export function time(t) {
  if (t === null || t === undefined) return "–";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A verdict or action as a coloured label. @param {string | null | undefined} value */
export function badge(value) {
  return h("span", { class: `badge badge-${(value ?? "none").replace(/[^a-z_]/g, "")}` }, value ?? "none");
}

/** @param {string[]} items */
export function codes(items) {
  return items.length === 0 ? h("span", { class: "muted" }, "none") : items.map((item) => h("code", { class: "tag" }, item));
}

/** @param {unknown} err */
export function errorBox(err) {
  const message = err instanceof Error ? err.message : String(err);
  return h("p", { class: "error", role: "alert" }, message);
}

/**
 * A table from rows; `cells` turns one row into its cells.
 * @template R
 * @param {string[]} head
 * @param {R[]} rows
 * @param {(row: R) => Child[]} cells
 * @param {string} [empty]
 */
export function table(head, rows, cells, empty = "Nothing yet.") {
  if (rows.length === 0) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, head.map((title) => h("th", {}, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, cells(row).map((cell) => h("td", {}, cell))))),
  );
}

/** Label / value pairs. @param {Array<[string, Child]>} pairs */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}

/** The browser's time zone and UTC offset, named wherever a time is shown: "Europe/Paris, UTC+01:00". */
export function timeZone() {
  const offset = -new Date().getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "−";
  const abs = Math.abs(offset);
  const hm = `${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${Intl.DateTimeFormat().resolvedOptions().timeZone}, UTC${sign}${hm}`;
}

/** A length of time in words: 60 → "60 s", 900 → "15 min", 86400 → "24 h". @param {number} seconds */
export function duration(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 600) return `${seconds / 60} min`;
  return `${num(seconds)} s`;
}

/**
 * A JSON value as label / value fields (nested objects indented, lists joined), so an audit entry's
 * detail reads as facts, not as raw JSON. @param {unknown} value
 * @returns {Child}
 */
export function fields(value) {
  if (value === null || value === undefined) return "";
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) {
    return value.every((v) => typeof v !== "object" || v === null) ? value.map(String).join(", ") : h("ol", { class: "fields-list" }, value.map((v) => h("li", {}, fields(v))));
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "";
  return h("dl", { class: "fields" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, fields(v))]));
}
