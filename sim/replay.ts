/**
 * Replays a generated schedule against a gateway through a transport: HTTP to
 * a running gateway or Miniflare (CLI), or `exports.default.fetch` in-process
 * (the workerd test). Requests leave at their campaign time divided by the time
 * compression, never more than `concurrency` at once; when the gateway is
 * slower than the schedule, requests queue and the lag is reported, because a
 * replay that silently stretches time would misstate time-to-detect.
 *
 * Pure: no Node imports. Results live in typed arrays (100k+ requests).
 */
import type { Generated } from "./generate.ts";
import { buildRequest, type SimRequest } from "./requests.ts";

export type SimResponse = {
  status: number;
  /** usage.output_tokens of the answer (last value in a stream); null when the answer had none. */
  outputTokens: number | null;
  /** The gateway's request-id header: joins a response to its decision log line. */
  requestId: string | null;
};

export type Transport = (request: SimRequest) => Promise<SimResponse>;

export type Clock = { now: () => number; sleep: (ms: number) => Promise<void> };

/** Work the simulator does on the side while traffic runs: the cron linker, polling verdicts, flushing collectors in tests. */
export type PeriodicTask = { name: string; everyMs: number; run: (elapsedMs: number) => Promise<void> };

export type Progress = { done: number; total: number; inFlight: number; elapsedMs: number; lagMs: number };

export type ReplayOptions = {
  transport: Transport;
  clock: Clock;
  concurrency: number;
  tasks?: PeriodicTask[];
  onProgress?: (p: Progress) => void;
  progressEveryMs?: number;
};

export type TaskStats = { runs: number; failures: number; totalMs: number; lastError: string | null };

export type ReplayResults = {
  count: number;
  /** Wall ms since the replay started, when the request was sent. */
  sentAt: Float64Array;
  latencyMs: Float32Array;
  /** HTTP status; 0 when the transport failed (connection refused, reset). */
  status: Uint16Array;
  /** -1 when the answer carried no usage. */
  outputTokens: Int32Array;
  expectedTokens: Int32Array;
  requestIds: (string | null)[];
  wallMs: number;
  /** The furthest behind schedule a request left. */
  maxLagMs: number;
  tasks: Record<string, TaskStats>;
  transportErrors: number;
  firstTransportError: string | null;
};

/** Results for n scheduled requests before any was sent: no status, no tokens (-1), no request id. */
export function emptyResults(n: number): ReplayResults {
  return {
    count: n,
    sentAt: new Float64Array(n),
    latencyMs: new Float32Array(n),
    status: new Uint16Array(n),
    outputTokens: new Int32Array(n).fill(-1),
    expectedTokens: new Int32Array(n),
    requestIds: new Array<string | null>(n).fill(null),
    wallMs: 0,
    maxLagMs: 0,
    tasks: {},
    transportErrors: 0,
    firstTransportError: null,
  };
}

// Sleeping for less than this costs more in timer overhead than it buys in pacing accuracy.
const MIN_SLEEP_MS = 2;

export async function replay(gen: Generated, options: ReplayOptions): Promise<ReplayResults> {
  const { schedule, scenario } = gen;
  const n = schedule.count;
  const factor = scenario.timeCompression;
  const { clock, transport } = options;
  const results = emptyResults(n);
  const start = clock.now();
  let inFlight = 0;
  let done = 0;
  let lastProgress = 0;
  let wake: (() => void) | null = null;
  let finished = false;
  let stopTasks: () => void = () => {};
  // Lets task loops stop mid-sleep when traffic ends, instead of one more full period.
  const stopped = new Promise<void>((resolve) => (stopTasks = resolve));
  let lagMs = 0;

  const report = (force: boolean) => {
    if (!options.onProgress) return;
    const now = clock.now();
    if (!force && now - lastProgress < (options.progressEveryMs ?? 250)) return;
    lastProgress = now;
    options.onProgress({ done, total: n, inFlight, elapsedMs: now - start, lagMs });
  };

  const taskLoops = (options.tasks ?? []).map(async (task) => {
    const stats: TaskStats = { runs: 0, failures: 0, totalMs: 0, lastError: null };
    results.tasks[task.name] = stats;
    while (!finished) {
      await Promise.race([clock.sleep(task.everyMs), stopped]);
      if (finished) break;
      const t0 = clock.now();
      try {
        await task.run(t0 - start);
      } catch (err) {
        stats.failures++;
        stats.lastError = String(err);
      }
      stats.runs++;
      stats.totalMs += clock.now() - t0;
    }
  });

  const send = async (i: number, request: SimRequest) => {
    const t0 = clock.now();
    results.sentAt[i] = t0 - start;
    results.expectedTokens[i] = request.expectedOutputTokens;
    try {
      const response = await transport(request);
      results.status[i] = response.status;
      results.outputTokens[i] = response.outputTokens ?? -1;
      results.requestIds[i] = response.requestId;
    } catch (err) {
      results.status[i] = 0;
      results.transportErrors++;
      results.firstTransportError ??= String(err);
    }
    results.latencyMs[i] = clock.now() - t0;
  };

  for (let i = 0; i < n; i++) {
    const due = start + (schedule.at[i] ?? 0) / factor;
    const wait = due - clock.now();
    if (wait >= MIN_SLEEP_MS) await clock.sleep(wait);
    while (inFlight >= options.concurrency) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
    lagMs = Math.max(0, clock.now() - due);
    results.maxLagMs = Math.max(results.maxLagMs, lagMs);
    inFlight++;
    void send(i, buildRequest(gen, i)).finally(() => {
      inFlight--;
      done++;
      report(false);
      const w = wake;
      wake = null;
      w?.();
    });
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  finished = true;
  stopTasks();
  await Promise.all(taskLoops);
  results.wallMs = clock.now() - start;
  report(true);
  return results;
}

/**
 * usage.output_tokens from an answer's text: the last occurrence, because an
 * SSE stream reports a placeholder in message_start and the real count in its
 * final message_delta. A regex over the text is enough for the demo origin's
 * answers and avoids parsing 100k JSON bodies.
 */
export function outputTokensOf(text: string): number | null {
  const at = text.lastIndexOf('"output_tokens":');
  if (at < 0) return null;
  const match = /^"output_tokens":\s*(\d+)/.exec(text.slice(at, at + 40));
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** The real clock, for the CLI and the in-workerd test alike (both have setTimeout and Date.now). */
export const realClock: Clock = {
  // performance.now: sub-millisecond latencies, and immune to wall-clock steps.
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
