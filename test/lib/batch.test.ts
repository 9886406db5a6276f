import { describe, expect, it } from "vitest";
import { parseBatch, rewriteBatch } from "../../lib/batch.ts";

const params = (n: number) => ({ model: "m", max_tokens: n, messages: [{ role: "user", content: "hi" }] });
const batch = <T,>(...ps: T[]) => ({ requests: ps.map((p, i) => ({ custom_id: `r${i}`, params: p })) });

describe("Message Batch bodies", () => {
  it("Should return each contained request's params in order", () => {
    const parsed = parseBatch(batch(params(1), params(2)), 10);
    expect(parsed).toEqual({ ok: true, params: [params(1), params(2)] });
  });

  it("Should call a batch over the cap too large, and one it cannot read request by request invalid", () => {
    expect(parseBatch(batch(params(1), params(2), params(3)), 2)).toMatchObject({ ok: false, problem: { kind: "too_large" } });
    for (const body of [null, [], {}, { requests: {} }, { requests: [] }, { requests: [1] }, batch("x"), batch<unknown>(params(1), [params(2)])]) {
      expect(parseBatch(body, 10), JSON.stringify(body)).toMatchObject({ ok: false, problem: { kind: "invalid" } });
    }
  });

  it("Should rewrite inside every contained request and keep everything else", () => {
    const body = { ...batch(params(64_000), params(10)), extra: 1 };
    const out = rewriteBatch(body, (p) => ((p.max_tokens as number) > 100 ? { ...p, max_tokens: 100 } : null));
    expect(out).toEqual({ ...batch(params(100), params(10)), extra: 1 });
    expect(body.requests[0]?.params.max_tokens).toBe(64_000);
  });

  it("Should say when nothing changed, so the batch is forwarded byte-exact", () => {
    expect(rewriteBatch(batch(params(1)), () => null)).toBeNull();
  });
});
