// @ts-check
/**
 * The active policy (`GET /admin/policy`), checked as the operator types
 * (`POST /admin/policy/validate`, the gateway's own validator, so the page
 * never disagrees with what PUT would accept) and saved with `PUT /admin/policy`.
 */
import { ApiError, api } from "../api.js";
import { h, num, replace } from "../dom.js";

/**
 * @typedef {{ path: string, message: string }} Problem
 * @typedef {{ fromKv: boolean, version: number, policy: Record<string, unknown>, kvProblems?: Problem[] }} PolicyAnswer
 * @typedef {{ ok: true, policy: Record<string, unknown> & { version: number, mode: string } } | { ok: false, problems: Problem[] }} Validation
 * @typedef {{ when?: { tiers?: string[], verified?: boolean, orgTypes?: string[] }, maxTokens?: number, thinkingBudgetTokens?: number,
 *   streaming?: boolean, batches?: boolean, maxTools?: number, models?: string[], beyond?: "clamp" | "refuse" }} Entitlement
 */

/** Field help generated from the schema's doc comments (scripts/policy-help.ts); fetched once per page load. */
/** @type {Promise<Record<string, string>> | null} */
let helpText = null;
function fieldHelp() {
  helpText ??= fetch("./policy-help.json", { cache: "no-cache", credentials: "omit" })
    .then((res) => (res.ok ? res.json() : {}))
    .catch(() => ({}));
  return helpText;
}

/**
 * The path of the field at a place in JSON text (`limits.windowSeconds`, `entitlements.0.maxTokens`),
 * read to the end of that place's line so the caret anywhere on `"maxTokens": 1024` names the field.
 * A reading aid over text being edited: it never throws, whatever the text.
 * @param {string} text @param {number} at
 * @returns {string[]}
 */
export function pathAt(text, at) {
  const end = text.indexOf("\n", at);
  let stop = end < 0 ? text.length : end;
  // A line's trailing comma ends its field: reading it would leave the field before the caret.
  const rest = text.slice(at, stop).trimEnd();
  if (rest.endsWith(",")) stop = at + rest.length - 1;
  /** @type {Array<{ array: boolean, key: string | null, index: number }>} */
  const stack = [];
  /** @type {string | null} */
  let lastString = null;
  for (let i = 0; i < stop; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      let value = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\") j++;
        value += text[j] ?? "";
        j++;
      }
      lastString = value;
      i = j;
      continue;
    }
    const top = stack[stack.length - 1];
    if (ch === ":" && top && !top.array) top.key = lastString;
    else if (ch === "," && top) {
      if (top.array) top.index++;
      else top.key = null;
    } else if (ch === "{" || ch === "[") stack.push({ array: ch === "[", key: null, index: 0 });
    else if (ch === "}" || ch === "]") stack.pop();
  }
  return stack.flatMap((level) => (level.array ? [String(level.index)] : level.key === null ? [] : [level.key]));
}

/** The help for a path: its own, else its nearest documented parent's; `*` in a help key stands for any one segment. */
function helpFor(/** @type {Record<string, string>} */ help, /** @type {string[]} */ path) {
  for (let n = path.length; n > 0; n--) {
    const want = path.slice(0, n);
    const key = Object.keys(help).find((k) => {
      const parts = k.split(".");
      return parts.length === want.length && parts.every((p, i) => p === "*" || p === want[i]);
    });
    if (key !== undefined) return { field: want.join("."), text: help[key] ?? "" };
  }
  return null;
}

/**
 * A line diff (longest common subsequence): what saving would change, as kept, removed and added
 * lines. A policy is a few hundred lines, so the quadratic table stays small.
 * @param {string[]} a @param {string[]} b
 * @returns {Array<{ op: " " | "-" | "+", line: string }>}
 */
export function lineDiff(a, b) {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const lcs = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * cols + j] = a[i] === b[j] ? (lcs[(i + 1) * cols + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * cols + j] ?? 0, lcs[i * cols + j + 1] ?? 0);
    }
  }
  /** @type {Array<{ op: " " | "-" | "+", line: string }>} */
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ op: " ", line: a[i] ?? "" });
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || (lcs[(i + 1) * cols + j] ?? 0) >= (lcs[i * cols + j + 1] ?? 0))) {
      // Removals before additions, as a unified diff reads.
      out.push({ op: "-", line: a[i] ?? "" });
      i++;
    } else {
      out.push({ op: "+", line: b[j] ?? "" });
      j++;
    }
  }
  return out;
}

/** The changed lines with two lines of context around each, the rest folded. @param {Array<{ op: string, line: string }>} diff */
function diffView(diff) {
  const near = diff.map((_, i) => diff.slice(Math.max(0, i - 2), i + 3).some((d) => d.op !== " "));
  /** @type {HTMLElement[]} */
  const lines = [];
  let folded = 0;
  diff.forEach((d, i) => {
    if (!near[i]) {
      folded++;
      return;
    }
    if (folded > 0) lines.push(h("span", { class: "ctx" }, `  … ${folded} unchanged lines`));
    folded = 0;
    lines.push(h("span", { class: d.op === "+" ? "add" : d.op === "-" ? "del" : "ctx" }, `${d.op} ${d.line}`));
  });
  if (folded > 0) lines.push(h("span", { class: "ctx" }, `  … ${folded} unchanged lines`));
  return h("div", { class: "diff", id: "policy-diff" }, lines);
}

/** Who a rule is for, in words (as lib/entitlements.ts describeScope words it for refusals). @param {Entitlement} rule */
function scope(rule) {
  const when = rule.when ?? {};
  if (when.verified === undefined && !when.orgTypes?.length && !when.tiers?.length) return "Any account";
  const words = [];
  if (when.verified === false) words.push("Unverified");
  if (when.verified === true) words.push("Verified");
  if (when.orgTypes?.length) words.push(when.orgTypes.join(" or "));
  words.push(words.length === 0 ? "Accounts" : "accounts");
  if (when.tiers?.length) words.push(`on the ${when.tiers.join(" or ")} tier${when.tiers.length > 1 ? "s" : ""}`);
  return words.join(" ");
}

/** What a rule allows, in words. @param {Entitlement} rule */
function grants(rule) {
  const parts = [];
  if (rule.maxTokens !== undefined) parts.push(`answers up to ${num(rule.maxTokens)} tokens`);
  if (rule.thinkingBudgetTokens !== undefined) parts.push(rule.thinkingBudgetTokens === 0 ? "no extended thinking" : `thinking up to ${num(rule.thinkingBudgetTokens)} tokens`);
  if (rule.streaming !== undefined) parts.push(rule.streaming ? "streaming" : "no streaming");
  if (rule.batches !== undefined) parts.push(rule.batches ? "batches" : "no batches");
  if (rule.maxTools !== undefined) parts.push(rule.maxTools === 0 ? "no tools" : `at most ${num(rule.maxTools)} tools`);
  if (rule.models?.length) parts.push(`models ${rule.models.join(", ")}`);
  return parts.length === 0 ? "no limits" : parts.join("; ");
}

/** The policy's entitlement rules (and the launch guard's) as sentences. @param {Record<string, unknown>} policy */
function entitlementsCard(policy) {
  const rules = /** @type {Entitlement[]} */ (Array.isArray(policy.entitlements) ? policy.entitlements : []);
  const guard = /** @type {{ models?: Array<{ model: string, releasedAt: string }>, hours?: number, rule?: Entitlement } | undefined} */ (policy.launchGuard);
  const beyond = (/** @type {Entitlement} */ r) => ((r.beyond ?? "refuse") === "clamp" ? "lowered to fit (what cannot be lowered is refused)" : "refused with 403 naming the entitlement");
  return h(
    "section",
    { class: "card", id: "policy-entitlements" },
    h("h2", {}, "Entitlements"),
    rules.length === 0
      ? h("p", { class: "muted" }, "No entitlement rules: every account may ask for anything its quota allows.")
      : h(
          "ol",
          {},
          rules.map((r) => h("li", {}, h("strong", {}, `${scope(r)}: `), `${grants(r)}. Beyond it: ${beyond(r)}.`)),
        ),
    rules.length > 0 ? h("p", { class: "hint" }, "First matching rule wins; an account no rule matches has no entitlement limits.") : null,
    guard?.models?.length && guard.rule
      ? h(
          "p",
          {},
          h("strong", {}, "Launch guard: "),
          `for ${num(guard.hours ?? 72)} h after the release of ${guard.models.map((m) => `${m.model} (${m.releasedAt})`).join(", ")}, `,
          `${scope(guard.rule).toLowerCase()} get ${grants(guard.rule)}; beyond it: ${beyond(guard.rule)}.`,
        )
      : h("p", { class: "muted" }, "Launch guard: no model listed."),
  );
}

// Validate after a pause in typing, not on every keystroke.
const VALIDATE_DELAY_MS = 300;

// Survives the re-render after a save, so the operator sees what happened.
let flash = "";

/**
 * The line a dotted path (`tiers.free.requests`) most likely sits on: each segment's key is searched
 * after the previous one's. A hint for the eye, not a JSON parser.
 * @param {string} text @param {string} path
 */
export function lineOf(text, path) {
  if (!path) return null;
  let at = 0;
  for (const part of path.split(".")) {
    if (/^\d+$/.test(part)) continue;
    const found = text.indexOf(JSON.stringify(part), at);
    if (found < 0) return null;
    at = found + 1;
  }
  return text.slice(0, at).split("\n").length;
}

/** @param {HTMLElement} root */
export async function policyView(root) {
  /** @type {PolicyAnswer} */
  const active = await api("GET", "/policy");
  const original = JSON.stringify(active.policy, null, 2);

  const editor = h("textarea", { id: "policy-editor", spellcheck: "false", rows: 32, wrap: "off", "aria-describedby": "policy-problems policy-help" }, original);
  const gutter = h("pre", { class: "line-numbers", "aria-hidden": "true", id: "policy-lines" });
  const helpBox = h("div", { id: "policy-help", class: "policy-help", "aria-live": "polite" }, h("p", { class: "muted" }, "Put the cursor on a field to see what it does."));
  const diffBox = h("div", { id: "policy-diff-box" });
  const help = await fieldHelp();

  function numberLines() {
    const count = editor.value.split("\n").length;
    gutter.textContent = Array.from({ length: count }, (_, i) => String(i + 1)).join("\n");
    gutter.scrollTop = editor.scrollTop;
  }
  function showHelp() {
    const found = helpFor(help, pathAt(editor.value, editor.selectionStart));
    replace(helpBox, found ? [h("p", {}, h("code", {}, found.field)), h("p", {}, found.text)] : h("p", { class: "muted" }, "No help for this place in the document."));
  }
  editor.addEventListener("scroll", () => (gutter.scrollTop = editor.scrollTop));
  for (const type of ["click", "keyup", "focus"]) editor.addEventListener(type, showHelp);
  const problemsBox = h("div", { id: "policy-problems", "aria-live": "polite" });
  const status = h("p", { id: "policy-status", class: "status", role: "status" }, flash);
  flash = "";
  const save = h("button", { type: "button", id: "policy-save", disabled: true }, "Save policy");
  const revert = h("button", { type: "button", class: "link" }, "Revert");

  /** Selects a line of the editor and scrolls it into view. @param {number} line 1-based */
  function jumpTo(line) {
    const lines = editor.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, (line - 4) * lineHeight);
    // The field a problem names is the one the operator wants explained.
    showHelp();
  }

  let seq = 0;
  let valid = true;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  /** @param {Problem[]} problems @param {string} text */
  function showProblems(problems, text) {
    valid = problems.length === 0;
    editor.setAttribute("aria-invalid", String(!valid));
    save.disabled = !valid || text === original;
    if (valid) {
      replace(problemsBox, h("p", { class: "ok" }, "✓ valid"));
      return;
    }
    replace(
      problemsBox,
      h(
        "ul",
        { class: "problems" },
        problems.map((p) => {
          const line = lineOf(text, p.path);
          return h(
            "li",
            {},
            line === null ? null : h("button", { type: "button", class: "link muted", onclick: () => jumpTo(line) }, `line ${line}`),
            line === null ? null : " · ",
            h("code", {}, p.path || "(document)"),
            " ",
            p.message,
          );
        }),
      ),
    );
  }

  async function validate() {
    const text = editor.value;
    const mine = ++seq;
    /** @type {unknown} */
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      showProblems([{ path: "", message: `not JSON: ${err instanceof Error ? err.message : String(err)}` }], text);
      return;
    }
    try {
      /** @type {Validation} */
      const result = await api("POST", "/policy/validate", { body: doc });
      // An older answer arriving after a newer edit must not overwrite it.
      if (mine !== seq) return;
      showProblems(result.ok ? [] : result.problems, text);
    } catch (err) {
      if (mine === seq) replace(problemsBox, h("p", { class: "error" }, `could not validate: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  editor.addEventListener("input", () => {
    numberLines();
    replace(diffBox);
    save.disabled = true;
    status.textContent = "";
    clearTimeout(timer);
    timer = setTimeout(() => void validate(), VALIDATE_DELAY_MS);
  });

  revert.addEventListener("click", () => {
    editor.value = original;
    numberLines();
    replace(diffBox);
    status.textContent = "";
    showProblems([], original);
  });

  // Saving is two steps: the diff against what KV holds now (another operator may have saved since
  // this page loaded), then the write.
  save.addEventListener("click", async () => {
    if (!valid) return;
    save.disabled = true;
    try {
      /** @type {[PolicyAnswer, Validation]} */
      const [stored, edited] = await Promise.all([api("GET", "/policy"), api("POST", "/policy/validate", { body: JSON.parse(editor.value) })]);
      if (!edited.ok) {
        showProblems(edited.problems, editor.value);
        return;
      }
      // Both as the gateway reads them (defaults filled in), so a diff shows what would change in effect.
      const diff = lineDiff(JSON.stringify(stored.policy, null, 2).split("\n"), JSON.stringify(edited.policy, null, 2).split("\n"));
      const changed = diff.filter((d) => d.op !== " ").length;
      const confirm = h("button", { type: "button", id: "policy-confirm", disabled: changed === 0 }, "Confirm and save");
      const cancel = h("button", { type: "button", class: "link", onclick: () => { replace(diffBox); save.disabled = !valid; } }, "Cancel");
      confirm.addEventListener("click", () => void write());
      replace(
        diffBox,
        h("h2", {}, "Changes against the stored policy"),
        h("p", { class: "hint" }, changed === 0 ? "Nothing would change in effect." : `${num(changed)} changed lines, stored (−) → yours (+), defaults filled in.`),
        diffView(diff),
        h("div", { class: "toolbar" }, confirm, cancel),
      );
    } catch (err) {
      status.textContent = `Could not compare: ${err instanceof Error ? err.message : String(err)}`;
      save.disabled = !valid;
    }
  });

  async function write() {
    try {
      /** @type {{ ok: true, version: number }} */
      const saved = await api("PUT", "/policy", { body: JSON.parse(editor.value) });
      flash = `Saved policy version ${saved.version}. Other isolates pick it up within cache.policyTtlSeconds.`;
      await policyView(root);
    } catch (err) {
      if (err instanceof ApiError && err.problems.length > 0) showProblems(err.problems, editor.value);
      else status.textContent = `Not saved: ${err instanceof Error ? err.message : String(err)}`;
      save.disabled = !valid;
    }
  }

  replace(
    root,
    h("h1", {}, "Policy"),
    h(
      "p",
      {},
      active.fromKv ? `Active: version ${active.version}, from KV.` : "Active: the built-in defaults (no valid policy document in KV).",
      " Every field has a default; see README “The policy”.",
    ),
    active.kvProblems
      ? h("div", { class: "error" }, "The document in KV is invalid and is ignored:", h("ul", {}, active.kvProblems.map((p) => h("li", {}, h("code", {}, p.path || "(document)"), " ", p.message))))
      : null,
    h(
      "div",
      { class: "editor" },
      h("div", { class: "editor-lines" }, gutter, editor),
      h(
        "div",
        { class: "side" },
        h("h2", {}, "Validation"),
        problemsBox,
        h("div", { class: "toolbar" }, save, revert),
        status,
        diffBox,
        h("h2", {}, "Field help"),
        helpBox,
      ),
    ),
    entitlementsCard(active.policy),
  );
  numberLines();
  showProblems([], original);
}
