/**
 * Which workerd binary Miniflare should run. Miniflare 4.20260730's bundled
 * workerd rejects compatibility_date 2026-11-01 (it supports dates up to
 * 2026-08-06), so, as bench/do-rpc/run.ts does, the repository's top-level
 * `workerd` package is used unless MINIFLARE_WORKERD_PATH already says otherwise.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

export type WorkerdChoice = { path: string | null; version: string };

export function chooseWorkerd(): WorkerdChoice {
  const fromEnv = process.env.MINIFLARE_WORKERD_PATH;
  if (fromEnv) return { path: fromEnv, version: "MINIFLARE_WORKERD_PATH" };
  try {
    // The top-level workerd, not miniflare's nested (older) one.
    const pkg = require.resolve("workerd/package.json");
    const bin = join(dirname(pkg), "bin", "workerd");
    const version = (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
    if (existsSync(bin)) return { path: bin, version };
  } catch {
    // fall through to Miniflare's bundled workerd
  }
  return { path: null, version: "miniflare-bundled" };
}

/** Points Miniflare at the chosen binary; returns a function that restores the environment. */
export function useWorkerd(choice: WorkerdChoice): () => void {
  const previous = process.env.MINIFLARE_WORKERD_PATH;
  if (choice.path) process.env.MINIFLARE_WORKERD_PATH = choice.path;
  return () => {
    if (previous === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = previous;
  };
}
