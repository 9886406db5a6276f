/** The account object's own facts: which account it serves, and when its last request reached the origin. */
import { str } from "./rows.ts";

export class MetaStore {
  accountId: string | null = null;
  /** Paces a fractional share of a cluster cap. */
  lastForwardedAt: number | null = null;

  constructor(private readonly sql: SqlStorage) {}

  load(): void {
    const meta = new Map(this.sql.exec(`SELECT key, value FROM meta`).toArray().map((r) => [str(r.key), str(r.value)]));
    this.accountId = meta.get("account_id") ?? null;
    const lastForwarded = Number(meta.get("last_forwarded_at"));
    this.lastForwardedAt = Number.isFinite(lastForwarded) && lastForwarded > 0 ? lastForwarded : null;
  }

  rememberAccount(id: string): void {
    if (this.accountId === id) return;
    this.accountId = id;
    this.write("account_id", id);
  }

  /**
   * The last forward paces a capped member's share, and only a forward after the cap's verdict
   * counts (before it, the verdict's time does): it is stored only while a cap applies.
   */
  rememberForwarded(now: number, capped: boolean): void {
    this.lastForwardedAt = now;
    if (capped) this.write("last_forwarded_at", String(now));
  }

  private write(key: string, value: string): void {
    this.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }
}
