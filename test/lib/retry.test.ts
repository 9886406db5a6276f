import { describe, expect, it } from "vitest";
import { backoffCapMs, shouldRetry, withRetry } from "../../lib/retry.ts";

const error = (props: { retryable?: boolean; overloaded?: boolean }) => Object.assign(new Error("do error"), props);

/** A call that throws the given errors in turn, then answers "ok". */
function flaky(errors: Error[]) {
  let calls = 0;
  return {
    calls: () => calls,
    fn: async () => {
      const err = errors[calls++];
      if (err) throw err;
      return "ok";
    },
  };
}

/** Records each wait instead of sleeping; the jitter is fixed at its maximum. */
function recorder() {
  const waits: number[] = [];
  return { waits, options: { random: () => 1, sleep: async (ms: number) => void waits.push(ms) } };
}

describe("shouldRetry", () => {
  it("Should retry only an error that says retryable and not overloaded", () => {
    expect(shouldRetry(error({ retryable: true }))).toBe(true);
    expect(shouldRetry(error({ retryable: true, overloaded: true }))).toBe(false);
    expect(shouldRetry(error({ overloaded: true }))).toBe(false);
    expect(shouldRetry(error({}))).toBe(false);
  });

  it("Should not retry what is not an error object", () => {
    expect(shouldRetry("retryable")).toBe(false);
    expect(shouldRetry(null)).toBe(false);
    expect(shouldRetry(undefined)).toBe(false);
  });
});

describe("withRetry", () => {
  it("Should retry a retryable error and return the next answer", async () => {
    const f = flaky([error({ retryable: true })]);
    const { waits, options } = recorder();
    expect(await withRetry(f.fn, options)).toBe("ok");
    expect(f.calls()).toBe(2);
    expect(waits).toEqual([40]);
  });

  it("Should not retry an overloaded object or a plain error", async () => {
    for (const err of [error({ retryable: true, overloaded: true }), error({})]) {
      const f = flaky([err]);
      const { waits, options } = recorder();
      await expect(withRetry(f.fn, options)).rejects.toBe(err);
      expect(f.calls()).toBe(1);
      expect(waits).toEqual([]);
    }
  });

  it("Should give up after three calls and throw the last error", async () => {
    const last = error({ retryable: true });
    const f = flaky([error({ retryable: true }), error({ retryable: true }), last, error({ retryable: true })]);
    const { waits, options } = recorder();
    await expect(withRetry(f.fn, options)).rejects.toBe(last);
    expect(f.calls()).toBe(3);
    expect(waits).toEqual([40, 80]);
  });

  it("Should jitter each wait below its cap", async () => {
    const f = flaky([error({ retryable: true }), error({ retryable: true })]);
    const waits: number[] = [];
    await withRetry(f.fn, { random: () => 0.25, sleep: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([10, 20]);
  });
});

describe("backoffCapMs", () => {
  it("Should double from 40 ms and stop at 200 ms", () => {
    expect([1, 2, 3, 4, 10].map((attempt) => backoffCapMs(attempt))).toEqual([40, 80, 160, 200, 200]);
  });
});
