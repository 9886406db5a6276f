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
