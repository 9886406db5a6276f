/**
 * Points Miniflare at the repository's top-level workerd for the length of a
 * run. Miniflare 4.20260730's bundled workerd rejects compatibility_date
 * 2026-11-01; the choice of binary is the benchmarks' (bench/harness.ts), so
 * the simulator and the benchmarks always run the same runtime.
 */
import { workerdBinary } from "../../bench/harness.ts";

export function useWorkerd(): { version: string; restore: () => void } {
  const choice = workerdBinary();
  const previous = process.env.MINIFLARE_WORKERD_PATH;
  // Miniflare reads the variable when it spawns workerd.
  if (choice.path) process.env.MINIFLARE_WORKERD_PATH = choice.path;
  return {
    version: choice.version,
    restore: () => {
      if (previous === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
      else process.env.MINIFLARE_WORKERD_PATH = previous;
    },
  };
}
