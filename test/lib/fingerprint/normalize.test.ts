import { describe, expect, it } from "vitest";
import { normalizeText, utf8Prefix } from "../../../lib/fingerprint/content.ts";

const norm = (text: string, maxBytes = 16 * 1024) => normalizeText(text, maxBytes).text;

describe("text normalisation", () => {
  it("should apply NFKC, so compatibility forms match their plain letters", () => {
    expect(norm("ｆｕｌｌｗｉｄｔｈ ﬁle ①")).toBe("fullwidth file 0");
  });

  it("should remove zero-width and other invisible characters", () => {
    expect(norm("Hel\u200blo\u200c Wo\u200drld\u2060!\ufeff soft\u00adhyphen")).toBe("hello world! softhyphen");
  });

  it("should lower-case, mask digit runs to one 0 and collapse whitespace", () => {
    expect(norm("  Problem 17 of 2024:\n\n\tSolve   X\u00a0=\u3000 3.14  ")).toBe("problem 0 of 0: solve x = 0.0");
  });

  it("should cap the output at maxBytes of UTF-8 without splitting a character", () => {
    const out = normalizeText("é".repeat(1000), 301);
    expect(out.bytes).toBe(300);
    expect(out.text).toBe("é".repeat(150));
    expect(out.truncated).toBe(true);
  });

  it("should report untruncated short text", () => {
    expect(normalizeText("short text", 1024)).toEqual({ text: "short text", bytes: 10, truncated: false });
  });

  it("should stitch seams between slices: a digit or whitespace run cut in two comes out once", () => {
    // 1024 code units per slice minimum: put runs across the first seam.
    const padding = "a".repeat(1020);
    expect(norm(`${padding} 123456789 tail`, 1500)).toBe(`${padding} 0 tail`);
    expect(norm(`${padding}b       c`, 1500)).toBe(`${padding}b c`);
  });

  it("should read past whitespace padding up to a bounded multiple of the budget", () => {
    const padded = `start${" ".repeat(3000)}end`;
    expect(norm(padded, 1024)).toBe("start end");
    const endless = `start${" ".repeat(100_000)}end`;
    expect(norm(endless, 1024)).toBe("start");
  });

  it("should never split a surrogate pair at a slice boundary", () => {
    // "a" shifts the pairs so the first slice ends on a high surrogate.
    const { text } = normalizeText(`a${"😀".repeat(3000)}`, 4001);
    expect(text).toBe(`a${"😀".repeat(1000)}`);
  });

  it("should find the UTF-8 prefix that fits", () => {
    expect(utf8Prefix("aé😀", 3)).toEqual({ text: "aé", bytes: 3 });
    expect(utf8Prefix("aé😀", 6)).toEqual({ text: "aé", bytes: 3 });
    expect(utf8Prefix("aé😀", 7)).toEqual({ text: "aé😀", bytes: 7 });
  });
});
