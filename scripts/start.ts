/**
 * `npm start`: everything a newcomer needs, nothing to configure.
 *   1. a dev ADMIN_TOKEN in .dev.vars when missing;
 *   2. D1 migrations applied to the local database;
 *   3. the demo origin (Messages API imitation) on 127.0.0.1:8788;
 *   4. `wrangler dev` on 127.0.0.1:8787 in front of it;
 *   5. demo accounts seeded through the admin API.
 *
 * Quiet by design: wrangler's migration output (a table per migration applied) is kept unless it
 * fails, and offline the request.cf download wrangler dev tries (and whose failure it prints with
 * two stack traces before using its placeholder anyway) is skipped up front.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { lookup } from "node:dns/promises";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { startDemoOrigin } from "../demo-origin/server.ts";
import { DEMO_ACCOUNTS } from "./demo-accounts.ts";

const GATEWAY = "http://127.0.0.1:8787";
const DEV_ADMIN_TOKEN = "dev-admin-token";

function adminToken(): string {
  if (!existsSync(".dev.vars")) {
    writeFileSync(".dev.vars", `ADMIN_TOKEN=${DEV_ADMIN_TOKEN}\n`);
    console.log("created .dev.vars with a development ADMIN_TOKEN");
  }
  const match = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(".dev.vars", "utf8"));
  return match?.[1]?.trim().replace(/^"|"$/g, "") || DEV_ADMIN_TOKEN;
}

async function waitForHealth(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${GATEWAY}/healthz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`gateway did not answer ${GATEWAY}/healthz within ${timeoutMs / 1000}s`);
}

async function seed(token: string): Promise<void> {
  for (const account of DEMO_ACCOUNTS) {
    const { id, ...fields } = account;
    const res = await fetch(`${GATEWAY}/admin/accounts/${id}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(fields),
    });
    if (!res.ok) throw new Error(`seeding ${id} failed: ${res.status} ${await res.text()}`);
  }
}

/** Applies the D1 migrations; prints one line, or wrangler's whole output when it failed. */
function migrate(): void {
  const result = spawnSync("wrangler", ["d1", "migrations", "apply", "distillguard", "--local"], {
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    process.stderr.write(output);
    console.error("D1 migrations failed (wrangler's output above)");
    process.exit(result.status ?? 1);
  }
  const total = readdirSync("migrations").filter((f) => f.endsWith(".sql")).length;
  // wrangler redraws the whole table after each migration: the names, once each, are what was applied.
  const applied = new Set(output.match(/\d{4}_[\w-]+\.sql/g) ?? []);
  console.log(applied.size === 0 ? `D1: ${total} migrations, all applied already` : `D1: applied ${applied.size} of ${total} migrations (${[...applied].join(", ")})`);
}

// The sample request.cf wrangler dev downloads once and caches; only its absence makes it try.
const CF_SAMPLE_HOST = "workers.cloudflare.com";
const CF_LOOKUP_TIMEOUT_MS = 2_000;

/** False when the sample request.cf cannot be downloaded (no DNS, no network): then wrangler should not try. */
async function online(): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), CF_LOOKUP_TIMEOUT_MS).unref());
  return Promise.race([lookup(CF_SAMPLE_HOST).then(() => true, () => false), timeout]);
}

const token = adminToken();
migrate();

const origin = await startDemoOrigin(8788);
console.log(`demo origin on ${origin.url}`);

const devEnv = { ...process.env };
if (!(await online())) {
  // Miniflare's own switch: it then uses its placeholder request.cf straight away, as it does after a failed download.
  devEnv.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  console.log(`offline (no ${CF_SAMPLE_HOST}): wrangler dev runs with a placeholder request.cf; requests that send MF-CF-Blob set their own`);
}

// --test-scheduled exposes /__scheduled, so the cron linker can be run by hand (and by the simulator).
const wrangler: ChildProcess = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", "8787", "--test-scheduled"], { stdio: "inherit", env: devEnv });
const stop = () => {
  wrangler.kill("SIGINT");
  void origin.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
wrangler.on("exit", (code) => {
  void origin.close().then(() => process.exit(code ?? 0));
});

await waitForHealth(120_000);
await seed(token);
const first = DEMO_ACCOUNTS[0];
console.log(`
distillguard is up on ${GATEWAY} in front of the demo origin.
Demo accounts: ${DEMO_ACCOUNTS.map((a) => `${a.id} (${a.tier})`).join(", ")}
Try:
  curl -s ${GATEWAY}/v1/messages -H 'x-api-key: ${first?.keys[0]}' -H 'content-type: application/json' \\
    -d '{"model":"demo-model-1","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'
Admin token: ${token === DEV_ADMIN_TOKEN ? DEV_ADMIN_TOKEN : "(from .dev.vars)"}
`);
