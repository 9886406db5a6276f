import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../lib/bounded-map.ts";

describe("BoundedMap", () => {
  it("Should evict the oldest entries past its capacity and report each", () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(2, (k) => evicted.push(k));
    map.set("a", 1).set("b", 2).set("c", 3);
    expect([...map.keys()]).toEqual(["b", "c"]);
    expect(evicted).toEqual(["a"]);
  });

  it("Should keep a touched entry and evict the least recently used instead", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2);
    expect(map.touch("a")).toBe(1);
    map.set("c", 3);
    expect([...map.keys()]).toEqual(["a", "c"]);
  });

  it("Should evict at once when shrunk", () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(3, (k) => evicted.push(k));
    map.set("a", 1).set("b", 2).set("c", 3);
    map.resize(1);
    expect(map.size).toBe(1);
    expect(evicted).toEqual(["a", "b"]);
  });
});
