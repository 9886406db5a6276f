/**
 * The local gateway as `npm start` runs it (wrangler dev in front of the demo
 * origin, D1 migrated, accounts created through the admin API), but on free
 * ports, with its own token and its own state directory: an e2e run never
 * touches `.wrangler/state`, `.dev.vars` or a running `npm start`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../bench/harness.ts";
import { startDemoOrigin, type RunningOrigin } from "../demo-origin/server.ts";

export type Stack = {
  url: string;
  token: string;
  /** The last lines wrangler dev printed, for a failing test's message. */
  logTail: () => string;
  stop: () => Promise<void>;
};


function wrangler(args: string[], dir: string): void {
  const run = spawnSync("wrangler", args, { encoding: "utf8", env: { ...process.env, CI: "true" } });
  if (run.status !== 0) {
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (${run.status}):\n${run.stdout}\n${run.stderr}\n(state in ${dir})`);
  }
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`gateway did not answer ${url}/healthz within ${timeoutMs / 1000}s`);
}

/**
 * @param seedSql D1 rows the cluster machinery would write in production (components, roll-ups,
 *   per-minute counts), applied after the migrations and before the gateway starts.
 */
export async function startStack(seedSql: string): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "distillguard-e2e-"));
  const state = join(dir, "state");
  const token = `e2e-${randomBytes(18).toString("hex")}`;
  // Its own vars file: the developer's .dev.vars (and its token) play no part in the run.
  const vars = join(dir, "e2e.vars");
  writeFileSync(vars, `ADMIN_TOKEN=${token}\n`);

  wrangler(["d1", "migrations", "apply", "distillguard", "--local", "--persist-to", state], dir);
  const seedFile = join(dir, "seed.sql");
  writeFileSync(seedFile, seedSql);
  wrangler(["d1", "execute", "distillguard", "--local", "--persist-to", state, "--file", seedFile], dir);

  let origin: RunningOrigin | undefined;
  let child: ChildProcess | undefined;
  const log = join(dir, "wrangler.log");
  const stop = async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    origin = await startDemoOrigin(await freePort());
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const fd = openSync(log, "a");
    child = spawn(
      "wrangler",
      [
        "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()),
        "--persist-to", state, "--env-file", vars, "--var", `ORIGIN_URL:${origin.url}`,
        "--show-interactive-dev-session=false",
      ],
      { stdio: ["ignore", fd, fd], env: { ...process.env, CI: "true" } },
    );
    closeSync(fd);
    await waitForHealth(url, child, 120_000);
    return { url, token, logTail: () => readFileSync(log, "utf8").split("\n").slice(-40).join("\n"), stop };
  } catch (err) {
    const tail = (() => {
      try {
        return readFileSync(log, "utf8").split("\n").slice(-40).join("\n");
      } catch {
        return "(no wrangler log)";
      }
    })();
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- wrangler dev ---\n${tail}`);
  }
}
