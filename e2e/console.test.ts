/**
 * The operator console in a real headless Chromium (Debian's, driven by
 * playwright-core; never a downloaded browser) against the real local gateway.
 * One browser page walks through the views in order, as an operator would.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { ACCOUNTS, HYDRA, PAIR, XSS, seedSql } from "./seed.ts";
import { startStack, type Stack } from "./stack.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = new URL("../docs/", import.meta.url);
const TARGET = HYDRA.members[0] ?? "hydra-01";

let stack: Stack;
let browser: Browser;
let page: Page;
/** Start of the minute the run began in: the seeded counts all end before it, so what follows is real traffic. */
let runMinute = 0;
/** Errors the page threw or logged: a console that works must not produce any. */
const pageErrors: string[] = [];

async function adminGet<T>(path: string): Promise<T> {
  const res = await fetch(`${stack.url}/admin${path}`, { headers: { authorization: `Bearer ${stack.token}` } });
  assert.equal(res.status, 200, `GET /admin${path}`);
  return (await res.json()) as T;
}

function message(key: string): Promise<Response> {
  return fetch(`${stack.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "demo-model-1", max_tokens: 32, messages: [{ role: "user", content: "Hello from the e2e run" }] }),
  });
}

/** Waits for something that happens in the background (an account object's alarm flush). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: new URL(`console-${name}.png`, SCREENSHOTS).pathname, fullPage: true });
}

async function go(hash: string): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
}

before(async () => {
  const now = Date.now();
  runMinute = Math.floor(now / 60_000) * 60_000;
  stack = await startStack(seedSql(now));
  for (const [id, key] of Object.entries(ACCOUNTS)) {
    const res = await fetch(`${stack.url}/admin/accounts/${id}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.token}`, "content-type": "application/json" },
      body: JSON.stringify({ keys: [key], tier: "build", billingCountry: "US" }),
    });
    assert.equal(res.status, 201, `creating ${id}: ${await res.text()}`);
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    // The wrong-token step answers 401 on purpose; anything else (a CSP violation, say) counts.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) pageErrors.push(msg.text());
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("operator console", () => {
  it("should serve the console at /console/ without shadowing the gateway's routes", async () => {
    const html = await fetch(`${stack.url}/console/`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-type") ?? "", /text\/html/);
    assert.match(html.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.equal((await fetch(`${stack.url}/console`, { redirect: "manual" })).headers.get("location"), "/console/");
    assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
    // The README fragment sits in console/ but is not deployed.
    assert.equal((await fetch(`${stack.url}/console/README-section.md`)).status, 404);
    const icon = await fetch(`${stack.url}/favicon.ico`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get("content-type"), "image/svg+xml");
    assert.match(icon.headers.get("cache-control") ?? "", /max-age=/);
    assert.equal((await fetch(`${stack.url}/console/policy-help.json`)).status, 200);
    for (const [path, status] of [["/admin/policy", 401], ["/v1/messages", 401], ["/", 404], ["/index.html", 404]] as const) {
      const res = await fetch(`${stack.url}${path}`);
      assert.equal(res.status, status, path);
      assert.equal(((await res.json()) as { type: string }).type, "error", path);
    }
  });

  it("should refuse a wrong admin token with a clear error and keep nothing", async () => {
    await page.goto(`${stack.url}/console/`);
    await page.fill("#token", "not-the-admin-token");
    await page.click("#login-form button[type=submit]");
    const error = page.locator("#login-error");
    await error.waitFor({ state: "visible" });
    assert.match(await error.innerText(), /refused \(401\)/);
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
    assert.equal(await page.locator("#nav").isVisible(), false);
  });

  it("should sign in with the token kept in sessionStorage only, never in the URL or localStorage", async () => {
    await page.fill("#token", stack.token);
    await page.click("#login-form button[type=submit]");
    await page.locator("#nav").waitFor({ state: "visible" });
    const storage = await page.evaluate(() => ({
      session: Object.values(sessionStorage),
      local: localStorage.length,
      cookie: document.cookie,
      url: location.href,
    }));
    assert.deepEqual(storage.session, [stack.token]);
    assert.equal(storage.local, 0);
    assert.equal(storage.cookie, "");
    assert.ok(!page.url().includes(stack.token) && !storage.url.includes(stack.token));
  });

  it("should chart decisions over time by action", async () => {
    await page.locator("svg.chart rect").first().waitFor();
    const bars = await page.locator("svg.chart rect.seg-block").count();
    assert.ok(bars >= 8, `expected the seeded burst of blocks, got ${bars} bars`);
    const totals = await page.locator(".view-traffic table").first().innerText();
    assert.match(totals, /blocked/);
    assert.match(totals, /throttled/);
    // The y axis says what a bar counts, and the range names its time zone.
    assert.equal(await page.locator("svg.chart text.unit").textContent(), "decisions / 60 s");
    assert.match(await page.locator("#traffic-updated").innerText(), /UTC[+−]\d\d:\d\d/);
    assert.equal(await page.locator("#auto-refresh").isChecked(), true);
    await screenshot("traffic");
  });

  it("should show the range's top accounts, reasons and clusters, each linking to the audit entries behind it", async () => {
    const accounts = page.locator("#top-accounts");
    await accounts.locator("tbody tr").first().waitFor();
    // hydra-05 throttled 7 × 7 times and was blocked twice: the most audited decisions.
    assert.match(await accounts.locator("tbody tr").first().innerText(), /hydra-05\s+51/);
    assert.match(await page.locator("#top-reasons").innerText(), /cluster_verdict\s+162/);
    assert.match(await page.locator("#top-clusters").innerText(), new RegExp(`${HYDRA.id}\\s+162\\s+4`));
    await page.locator("#top-clusters").screenshot({ path: new URL("console-traffic-top.png", SCREENSHOTS).pathname });

    await page.locator("#top-reasons tr", { hasText: "cluster_cap" }).locator("a", { hasText: "audit" }).click();
    await page.locator(".view-audit table.audit").waitFor();
    const audit = await page.locator(".view-audit").innerText();
    assert.match(audit, /reason = cluster_cap/);
    // Seven rows of one account's same throttle are one line with their repeats summed.
    assert.match(audit, /throttled ×49, \d\d:\d\d–\d\d:\d\d/);
    assert.equal(await page.locator(".view-audit tbody tr").count(), 4);
    // The detail is fields, not JSON.
    assert.match(audit, /retryAfterSeconds\s+20/);
    assert.ok(!audit.includes('{"rule"'));
    await screenshot("audit");
  });

  it("should rank clusters by size with their shared fingerprints, data shown as text", async () => {
    await go("#/clusters");
    const rows = page.locator(".view-clusters tbody tr");
    await rows.first().waitFor();
    const firstRow = await rows.first().innerText();
    assert.match(firstRow, new RegExp(HYDRA.id));
    assert.match(firstRow, /confirmed/);
    assert.match(firstRow, /tls:9f2c4a1be07d3356/);
    const sizes = (await page.locator(".view-clusters tbody tr td:nth-child(3)").allInnerTexts()).map(Number);
    assert.deepEqual(sizes, [14, 12, 11, 9, 2]);
    assert.match(await rows.last().innerText(), new RegExp(PAIR.id));
    // The seeded reason is markup: it must appear literally and never run.
    assert.ok((await page.locator(".view-clusters").innerText()).includes(XSS));
    assert.equal(await page.locator(".view-clusters img").count(), 0);
    assert.equal(await page.evaluate(() => "__xss" in window), false);
    await screenshot("clusters");

    await page.click(`a[href="#/clusters/${encodeURIComponent(HYDRA.id)}"]`);
    await page.locator(".view-clusters h2", { hasText: "Members" }).waitFor();
    const detail = await page.locator(".view-clusters").innerText();
    for (const member of HYDRA.members) assert.ok(detail.includes(member), member);
    assert.ok(detail.includes(`headers:${XSS}`));
    assert.match(detail, /82 %/); // the tls key's synchrony from its roll-up
    // Why it exists and why it has its verdict, with the window next to every rate.
    assert.match(detail, /linked through 4 shared fingerprint keys: tls:9f2c4a1be07d3356 \(12 of 14 members\)/);
    assert.match(detail, /9 more on a suspect one; the policy confirms a component from 50 %/);
    assert.match(detail, /at least 391 requests \/ 60 s \(its busiest linking key\)/);
    assert.match(detail, /Summed over its 3 keys with a roll-up: 984 \/ 60 s/);
    await screenshot("cluster");

    await page.click(`.view-clusters a[href="#/clusters/${encodeURIComponent("tls:9f2c4a1be07d3356")}"]`);
    await page.locator(".view-clusters h2", { hasText: "Why this verdict" }).waitFor();
    const why = await page.locator(".view-clusters .why").innerText();
    assert.match(why, /confirmed: score 97 % against 50 % for suspect and 90 % for confirmed/);
    assert.match(why, /synchrony\s+0\.8\s+2\.9\s+synchronized/);
    await screenshot("cluster-key");
    await go(`#/clusters/${encodeURIComponent(HYDRA.id)}`);
    await page.locator(".view-clusters h2", { hasText: "Members" }).waitFor();
  });

  it("should apply a block override from the account page, and the gateway should enforce it", async () => {
    const key = ACCOUNTS[TARGET] ?? "";
    assert.equal((await message(key)).status, 200, "the account works before the override");

    await page.click(`a[href="#/accounts/${TARGET}"]`);
    await page.locator("#override-form").waitFor();
    assert.match(await page.locator(".view-accounts").innerText(), /No overrides/);
    await page.selectOption("#override-kind", "block");
    await page.fill("#override-reason", "e2e: confirmed hydra member");
    await page.click("#override-form button[type=submit]");
    await page.locator("button[data-remove=block]").waitFor();

    const blocked = await message(key);
    assert.equal(blocked.status, 403);
    assert.equal(((await blocked.json()) as { error: { type: string } }).error.type, "permission_error");
    // Another member of the same cluster is untouched.
    assert.equal((await message(ACCOUNTS[HYDRA.members[1] ?? ""] ?? "")).status, 200);

    // The refused request reaches the audit log with the account object's next hand-off to its collector
    // (5 s) and that collector's next flush (one report interval, 10 s).
    await eventually("the block decision in the audit log", async () => {
      const page = await adminGet<{ entries: Array<{ reasons: string[] }> }>(`/audit?account=${TARGET}&kind=decision`);
      return page.entries.some((e) => e.reasons.includes("override.block")) ? true : undefined;
    });
    // A reload re-reads the account, and shows the tab keeps its sign-in.
    await page.reload();
    await page.locator(".view-accounts td", { hasText: "override.block" }).first().waitFor();
    const view = await page.locator(".view-accounts").innerText();
    assert.match(view, /e2e: confirmed hydra member/);
    assert.match(view, new RegExp(HYDRA.id));
    // Limits are shown with usage, and the risk scale marks every action's threshold.
    assert.match(view, /requests\s+\d+ \/ 60/);
    assert.equal(await page.locator(".risk-mark").count(), 4);
    assert.match(view, /tag 10[\s\S]*degrade 35[\s\S]*throttle 60[\s\S]*block 85/);
    await screenshot("account");
  });

  it("should remove the override from the page, and the account should work again", async () => {
    await page.fill("input[aria-label='reason for removing the block override']", "e2e: cleared");
    await page.click("button[data-remove=block]");
    await page.locator(".view-accounts", { hasText: "No overrides" }).waitFor();
    assert.equal((await message(ACCOUNTS[TARGET] ?? "")).status, 200);
    const audit = await adminGet<{ entries: Array<{ action: string; detail: { reason?: string } }> }>(`/audit?account=${TARGET}&kind=override`);
    assert.deepEqual(audit.entries.map((e) => e.action), ["clear_block", "block"]);
    assert.equal(audit.entries[0]?.detail.reason, "e2e: cleared");
  });

  it("should count the run's own requests in the decision stats", async () => {
    const since = new Date(runMinute).toISOString();
    // Three allowed requests and one override block above. Counts alone wait up to 30 s in an account object,
    // then up to one report interval (10 s) in its collector.
    const totals = await eventually(
      "the e2e requests in decision_counts",
      async () => {
        const stats = await adminGet<{ totals: { enforced: Record<string, number> } }>(`/stats/decisions?since=${since}&bucket=1m`);
        const { allow = 0, block = 0 } = stats.totals.enforced;
        return allow >= 3 && block >= 1 ? stats.totals.enforced : undefined;
      },
      60_000,
    );
    assert.deepEqual(totals, { allow: 3, tag: 0, degrade: 0, throttle: 0, block: 1 });
  });

  it("should search accounts by id prefix and sort them by risk", async () => {
    await go("#/accounts");
    await page.locator("#account-search").waitFor();
    await page.fill("#account-search", "hydra-0");
    await page.click("#account-search-form button[type=submit]");
    // The unfiltered list is already there: wait for the search's answer to replace it.
    await page.locator(".view-accounts tbody tr", { hasText: "pair-01" }).waitFor({ state: "detached" });
    assert.equal(await page.locator(".view-accounts tbody tr").count(), 9);
    await page.click("button[data-sort=risk]");
    await page.locator("th[aria-sort=descending] button[data-sort=risk]").waitFor();
    const first = await page.locator(".view-accounts tbody tr").first().innerText();
    assert.match(first, /hydra-0[2-5]\s+build\s+no\s+88\s+block/);
    await page.click("button[data-sort=risk]");
    await page.locator("th[aria-sort=ascending] button[data-sort=risk]").waitFor();
    assert.doesNotMatch(await page.locator(".view-accounts tbody tr").first().innerText(), /block/);
    await screenshot("accounts");
  });

  it("should chart one account's decisions and fold its repeated decisions in the history", async () => {
    await go("#/accounts/hydra-03");
    await page.locator(".view-accounts svg.chart").waitFor();
    assert.ok((await page.locator(".view-accounts svg.chart rect.seg-throttle").count()) >= 1, "the seeded throttles in the chart");
    assert.equal(await page.locator(".view-accounts svg.chart text.unit").textContent(), "decisions / 15 min");
    await page.locator(".view-accounts table.audit").waitFor();
    const history = await page.locator(".view-accounts table.audit").innerText();
    assert.match(history, /throttled ×35, \d\d:\d\d–\d\d:\d\d/);
    assert.match(history, /blocked ×2/);
    await screenshot("account-history");
  });

  it("should list imported indicator sets with how many requests matched them", async () => {
    const res = await fetch(`${stack.url}/admin/indicators/imports`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        source: "peer-lab-feed",
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        document: { format: "distillguard-indicators", version: 1, indicators: [{ type: "prefix", value: "198.18.7.0/24" }] },
      }),
    });
    assert.equal(res.status, 201, await res.text());
    const matched = await fetch(`${stack.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": ACCOUNTS["hydra-10"] ?? "", "content-type": "application/json", "cf-connecting-ip": "198.18.7.9" },
      body: JSON.stringify({ model: "demo-model-1", max_tokens: 16, messages: [{ role: "user", content: "Hello" }] }),
    });
    assert.equal(matched.status, 200);
    await eventually("the match counted", async () => {
      const list = await adminGet<{ imports: Array<{ source: string; matches: number }> }>("/indicators/imports");
      return list.imports.some((i) => i.source === "peer-lab-feed" && i.matches >= 1) ? true : undefined;
    });
    await go("#/indicators");
    const row = page.locator(".view-indicators tbody tr", { hasText: "peer-lab-feed" });
    await row.waitFor();
    assert.match(await row.innerText(), /peer-lab-feed\s+imp_[0-9a-f]{32}\s+1\s+0\s+1\s/);
    await screenshot("indicators");
  });

  it("should validate the policy inline as it is edited, and save it", async () => {
    await go("#/policy");
    const editor = page.locator("#policy-editor");
    await editor.waitFor();
    const original = await editor.inputValue();
    const doc = JSON.parse(original) as { version: number; defaultTier: string };
    assert.equal(doc.defaultTier, "free");
    assert.equal(await page.locator("#policy-save").isDisabled(), true, "nothing to save yet");

    await editor.fill(original.replace('"mode": "enforce"', '"mode": "loud"').replace('"windowSeconds": 60', '"windowSeconds": -5'));
    const problems = page.locator("#policy-problems .problems li");
    await problems.first().waitFor();
    const text = await page.locator("#policy-problems").innerText();
    assert.equal(await problems.count(), 2, text);
    assert.match(text, /line \d+ · mode/);
    assert.match(text, /line \d+ · limits\.windowSeconds/);
    assert.equal(await page.locator("#policy-save").isDisabled(), true);
    // A problem's line number selects that line in the editor.
    await page.click("#policy-problems li:nth-child(2) button");
    const selected = await editor.evaluate((el) => (el instanceof HTMLTextAreaElement ? el.value.slice(el.selectionStart, el.selectionEnd) : ""));
    assert.match(selected, /"windowSeconds": -5/);
    // …and explains that field.
    await page.locator("#policy-help", { hasText: "limits.windowSeconds" }).waitFor();
    await screenshot("policy");

    await editor.fill("{ not json");
    await page.locator("#policy-problems", { hasText: "not JSON" }).waitFor();

    // Line numbers follow the text, and the cursor on a field shows its help from the schema.
    await editor.fill(original);
    const lines = original.split("\n").length;
    assert.equal((await page.locator("#policy-lines").textContent())?.split("\n").length, lines);
    await editor.evaluate((el) => {
      if (!(el instanceof HTMLTextAreaElement)) return;
      const at = el.value.indexOf('"windowSeconds"') + 3;
      el.focus();
      el.setSelectionRange(at, at);
      el.dispatchEvent(new Event("click"));
    });
    await page.locator("#policy-help", { hasText: "limits.windowSeconds" }).waitFor();
    assert.match(await page.locator("#policy-help").innerText(), /Length of the sliding window/);

    const rule = '"entitlements": [{"when": {"tiers": ["free"], "verified": false, "orgTypes": ["education"]}, "maxTokens": 1024, "thinkingBudgetTokens": 0, "streaming": false}]';
    await editor.fill(original.replace(`"version": ${doc.version}`, '"version": 7').replace('"entitlements": []', rule));
    await page.locator("#policy-problems .ok").waitFor();
    await page.click("#policy-save");
    // Saving shows the change against what KV holds first.
    const diff = page.locator("#policy-diff");
    await diff.waitFor();
    const changes = await diff.innerText();
    assert.match(changes, /- {3}"version": 0,/);
    assert.match(changes, /\+ {3}"version": 7,/);
    assert.match(changes, /\+ {7}"maxTokens": 1024/);
    await screenshot("policy-diff");
    await page.click("#policy-confirm");
    await page.locator("#policy-status", { hasText: "Saved policy version 7" }).waitFor();
    const entitlements = await page.locator("#policy-entitlements").innerText();
    assert.match(entitlements, /Unverified education accounts on the free tier: answers up to 1,024 tokens; no extended thinking; no streaming\. Beyond it: refused with 403/);
    const saved = await adminGet<{ fromKv: boolean; version: number }>("/policy");
    assert.deepEqual([saved.fromKv, saved.version], [true, 7]);

    // An invalid document never reached KV on the way.
    const audit = await adminGet<{ entries: unknown[] }>("/audit?kind=admin&action=policy_put");
    assert.equal(audit.entries.length, 1);
  });

  it("should sign out and forget the token", async () => {
    await page.click("#sign-out");
    await page.locator("#login-form").waitFor({ state: "visible" });
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.deepEqual(pageErrors, []);
  });
});
