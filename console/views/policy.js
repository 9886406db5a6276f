// @ts-check
/**
 * The active policy (`GET /admin/policy`), checked as the operator types
 * (`POST /admin/policy/validate`, the gateway's own validator, so the page
 * never disagrees with what PUT would accept) and saved with `PUT /admin/policy`.
 */
import { ApiError, api } from "../api.js";
import { h, replace } from "../dom.js";

/**
 * @typedef {{ path: string, message: string }} Problem
 * @typedef {{ fromKv: boolean, version: number, policy: Record<string, unknown>, kvProblems?: Problem[] }} PolicyAnswer
 * @typedef {{ ok: true, policy: { version: number, mode: string } } | { ok: false, problems: Problem[] }} Validation
 */

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

  const editor = h("textarea", { id: "policy-editor", spellcheck: "false", rows: 32, "aria-describedby": "policy-problems" }, original);
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
    save.disabled = true;
    status.textContent = "";
    clearTimeout(timer);
    timer = setTimeout(() => void validate(), VALIDATE_DELAY_MS);
  });

  revert.addEventListener("click", () => {
    editor.value = original;
    status.textContent = "";
    showProblems([], original);
  });

  save.addEventListener("click", async () => {
    if (!valid) return;
    save.disabled = true;
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
  });

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
    h("div", { class: "editor" }, editor, h("div", { class: "side" }, h("h2", {}, "Validation"), problemsBox, h("div", { class: "toolbar" }, save, revert), status)),
  );
  showProblems([], original);
}
