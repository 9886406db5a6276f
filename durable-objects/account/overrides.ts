/** Operator overrides, one per kind: block and allow exclude each other; an expired one is ignored, then pruned. */
import type { Override } from "../../lib/decision.ts";
import { nullableNum, num, str } from "./rows.ts";

function isOverrideKind(value: string): value is Override["kind"] {
  return value === "block" || value === "allow" || value === "quota";
}
function isActive(o: Override, now: number): boolean {
  return o.expiresAt === null || o.expiresAt > now;
}

export class OverrideStore {
  private overrides = new Map<Override["kind"], Override>();

  constructor(private readonly sql: SqlStorage) {}

  load(): void {
    this.overrides = new Map();
    for (const r of this.sql.exec(`SELECT * FROM overrides`)) {
      const kind = str(r.kind);
      if (!isOverrideKind(kind)) continue;
      this.overrides.set(kind, {
        kind, multiplier: nullableNum(r.multiplier), reason: str(r.reason), expiresAt: nullableNum(r.expires_at), createdAt: num(r.created_at),
      });
    }
  }

  active(kind: Override["kind"], now: number): Override | null {
    const o = this.overrides.get(kind);
    return o && isActive(o, now) ? o : null;
  }

  allActive(now: number): Override[] {
    return [...this.overrides.values()].filter((o) => isActive(o, now));
  }

  /** Sets (replaces) the override of that kind, clearing its opposite; refuses an unknown kind or a bad multiplier. */
  set(o: Override): void {
    if (!isOverrideKind(o.kind)) throw new Error(`unknown override kind: ${String(o.kind)}`);
    if (o.kind === "quota" && (o.multiplier === null || !Number.isFinite(o.multiplier) || o.multiplier < 0)) {
      throw new Error("a quota override needs a multiplier >= 0");
    }
    const opposite = o.kind === "block" ? "allow" : o.kind === "allow" ? "block" : null;
    if (opposite) this.clear(opposite);
    const override: Override = {
      kind: o.kind,
      multiplier: o.kind === "quota" ? o.multiplier : null,
      reason: o.reason,
      expiresAt: o.expiresAt,
      createdAt: o.createdAt,
    };
    this.overrides.set(o.kind, override);
    this.sql.exec(
      `INSERT INTO overrides (kind, multiplier, reason, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kind) DO UPDATE SET multiplier = excluded.multiplier, reason = excluded.reason,
         expires_at = excluded.expires_at, created_at = excluded.created_at`,
      override.kind, override.multiplier, override.reason, override.expiresAt, override.createdAt,
    );
  }

  clear(kind: Override["kind"]): void {
    this.overrides.delete(kind);
    this.sql.exec(`DELETE FROM overrides WHERE kind = ?`, kind);
  }

  prune(now: number): void {
    for (const o of [...this.overrides.values()]) if (!isActive(o, now)) this.clear(o.kind);
  }
}
