/**
 * What every benchmark shares: percentiles, rounding, the workerd binary to run
 * Miniflare on, and "run when executed directly". Node only.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);

/** Nearest-rank percentile of an ascending array, `p` in 0..1. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

export function round(x: number, digits = 3): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

/**
 * Miniflare 4's own workerd only accepts compatibility dates up to mid-2026;
 * the repo's top-level workerd (the one wrangler uses) accepts ours.
 */
export function workerdBinary(): { path?: string; version: string } {
  if (process.env.MINIFLARE_WORKERD_PATH) return { path: process.env.MINIFLARE_WORKERD_PATH, version: "MINIFLARE_WORKERD_PATH" };
  try {
    const pkg = require.resolve("workerd/package.json");
    const bin = join(dirname(pkg), "bin", "workerd");
    const version = (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
    if (existsSync(bin)) return { path: bin, version };
  } catch {
    // Fall back to Miniflare's bundled workerd.
  }
  return { version: "miniflare-bundled" };
}

/** Runs `main` when `moduleUrl` is the script Node was started with (`npx tsx bench/x.ts`). */
export function runIfMain(moduleUrl: string, main: () => Promise<unknown>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
