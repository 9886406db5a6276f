/**
 * Gateway overhead against a bare pass-through Worker in front of the same
 * origin, measured in the same run: sequential requests for latency, then
 * `clients` concurrent loops for throughput. Phases alternate between the two
 * targets in slices (A-B, B-A, ...) so background load on a shared machine
 * hits both alike. Added latency is the difference of the percentiles.
 */
import type { Clock } from "./replay.ts";

/** Sends one request; resolves with its HTTP status. */
export type Send = () => Promise<number>;

export type OverheadOptions = { sequential: number; concurrent: number; clients: number };

export type TargetStats = { p50Ms: number; p99Ms: number; rps: number; requests: number; non200: number };

export type OverheadResult = {
  bare: TargetStats;
  gateway: TargetStats;
  addedP50Ms: number;
  addedP99Ms: number;
  /** Gateway throughput ÷ bare throughput. */
  throughputRatio: number;
  clients: number;
};

const ROUNDS = 6;
const WARMUP = 30;

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

export async function measureOverhead(bare: Send, gateway: Send, options: OverheadOptions, clock: Clock): Promise<OverheadResult> {
  const bareTarget = { send: bare, latencies: [] as number[], ms: 0, n: 0, non200: 0 };
  const gatewayTarget = { send: gateway, latencies: [] as number[], ms: 0, n: 0, non200: 0 };
  const targets = [bareTarget, gatewayTarget];
  for (const t of targets) for (let i = 0; i < WARMUP; i++) await t.send();
  const slice = (total: number) => Math.max(1, Math.floor(total / ROUNDS));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      for (let i = 0; i < slice(options.sequential); i++) {
        const t0 = clock.now();
        if ((await t.send()) !== 200) t.non200++;
        t.latencies.push(clock.now() - t0);
      }
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const todo = slice(options.concurrent);
      let next = 0;
      const t0 = clock.now();
      await Promise.all(
        Array.from({ length: options.clients }, async () => {
          while (next < todo) {
            next++;
            if ((await t.send()) !== 200) t.non200++;
          }
        }),
      );
      t.ms += clock.now() - t0;
      t.n += todo;
    }
  }
  const stats = (t: (typeof targets)[number]): TargetStats => {
    const sorted = Float64Array.from(t.latencies).sort();
    return {
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      rps: t.ms === 0 ? 0 : t.n / (t.ms / 1000),
      requests: t.latencies.length + t.n,
      non200: t.non200,
    };
  };
  const bareStats = stats(bareTarget);
  const gatewayStats = stats(gatewayTarget);
  return {
    bare: bareStats,
    gateway: gatewayStats,
    addedP50Ms: gatewayStats.p50Ms - bareStats.p50Ms,
    addedP99Ms: gatewayStats.p99Ms - bareStats.p99Ms,
    throughputRatio: bareStats.rps === 0 ? 0 : gatewayStats.rps / bareStats.rps,
    clients: options.clients,
  };
}
