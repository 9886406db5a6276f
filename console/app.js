// @ts-check
/** Sign-in, navigation and the hash router (`#/clusters/<id>`): no server-side routes to keep in step. */
import { ApiError, api, clearToken, getToken, setToken, setUnauthorizedHandler } from "./api.js";
import { errorBox, h, replace } from "./dom.js";
import { accountsView } from "./views/accounts.js";
import { auditView } from "./views/audit.js";
import { clustersView } from "./views/clusters.js";
import { indicatorsView } from "./views/indicators.js";
import { policyView } from "./views/policy.js";
import { trafficView } from "./views/traffic.js";

/** @typedef {(root: HTMLElement, param: string | null) => Promise<void>} View */

/** @type {Record<string, View>} */
const VIEWS = { traffic: trafficView, clusters: clustersView, accounts: accountsView, audit: auditView, indicators: indicatorsView, policy: policyView };

/** @template {HTMLElement} T @param {string} id @param {new () => T} type @returns {T} */
function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`page is missing #${id}`);
  return el;
}

const loginPane = byId("login", HTMLElement);
const loginForm = byId("login-form", HTMLFormElement);
const loginError = byId("login-error", HTMLElement);
const tokenInput = byId("token", HTMLInputElement);
const viewPane = byId("view", HTMLElement);
const nav = byId("nav", HTMLElement);
const signOut = byId("sign-out", HTMLButtonElement);

/** @param {string} [message] */
function showLogin(message) {
  loginPane.hidden = false;
  viewPane.hidden = true;
  nav.hidden = true;
  signOut.hidden = true;
  loginError.hidden = !message;
  loginError.textContent = message ?? "";
  tokenInput.focus();
}

function showApp() {
  loginPane.hidden = true;
  viewPane.hidden = false;
  nav.hidden = false;
  signOut.hidden = false;
  void route();
}

/** `#/clusters/cc%3Aab12` → ["clusters", "cc:ab12"] */
function parseHash() {
  const [name = "", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const param = rest.length > 0 ? rest.join("/") : null;
  let decoded = null;
  try {
    decoded = param === null || param === "" ? null : decodeURIComponent(param);
  } catch {
    decoded = null;
  }
  return { name: name in VIEWS ? name : "traffic", param: decoded };
}

async function route() {
  if (!getToken()) return;
  const { name, param } = parseHash();
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("active", link.dataset.view === name);
  // Each navigation renders into its own element: a slow answer for a view the operator has
  // already left lands in a detached node instead of over the current page.
  const root = h("section", { class: `view view-${name}` }, h("p", { class: "muted" }, "Loading…"));
  replace(viewPane, root);
  const view = VIEWS[name];
  if (!view) return;
  try {
    await view(root, param);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    replace(root, errorBox(err));
  }
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) return;
  loginError.hidden = true;
  try {
    // A cheap authenticated call tells a wrong token from a right one before anything is kept.
    await api("GET", "/stats/decisions?bucket=1h", { token });
  } catch (err) {
    const refused = err instanceof ApiError && err.status === 401;
    showLogin(refused ? "That admin token was refused (401). Check ADMIN_TOKEN and try again." : `Sign-in failed: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  setToken(token);
  tokenInput.value = "";
  showApp();
});

signOut.addEventListener("click", () => {
  clearToken();
  showLogin();
});

setUnauthorizedHandler(() => {
  clearToken();
  showLogin("The gateway no longer accepts this admin token. Sign in again.");
});

window.addEventListener("hashchange", () => void route());

if (getToken()) showApp();
else showLogin();
