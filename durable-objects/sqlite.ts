/**
 * What every Durable Object here does with its SQLite schema and its start-up, in one place.
 *
 * `migrate` keeps a one-column `schema_version` table and applies the object's migrations after the
 * stored version, one version at a time. A brand-new object (no version yet) gets `current`, the
 * schema after every migration written out, in one call: most objects a campaign creates are new, and
 * replaying ALTER TABLEs re-reads the whole schema each time.
 *
 * `Startup` runs a load function under `blockConcurrencyWhile` without ever letting it throw there: a
 * failed init must not wedge the object's input gate. The error is kept and rethrown by `ready()`,
 * which the object calls at the top of every RPC method; the next call tries the load again.
 */

export type SqliteSchema = {
  /** Each entry upgrades from the previous version; statements are idempotent where they can be. */
  migrations: string[][];
  /** The schema after every migration, for a new object; omitted → the migrations are replayed. */
  current?: string[];
};

/** Brings the schema up to date; true when the object had no schema at all (a brand-new object). */
export function migrate(sql: SqlStorage, schema: SqliteSchema): boolean {
  sql.exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`);
  const row = sql.exec<{ v: number | null }>(`SELECT MAX(version) AS v FROM schema_version`).toArray()[0];
  const stored = typeof row?.v === "number" ? row.v : 0;
  const latest = schema.migrations.length;
  if (stored === 0 && schema.current) {
    sql.exec(`${schema.current.join(";\n")};\nINSERT INTO schema_version (version) VALUES (${latest})`);
    return true;
  }
  for (let version = stored + 1; version <= latest; version++) {
    for (const statement of schema.migrations[version - 1] ?? []) sql.exec(statement);
    sql.exec(`DELETE FROM schema_version`);
    sql.exec(`INSERT INTO schema_version (version) VALUES (?)`, version);
  }
  return stored === 0;
}

export class Startup {
  private loaded = false;
  private error: unknown = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly load: () => void | Promise<void>,
    private readonly label: string,
  ) {
    void ctx.blockConcurrencyWhile(() => this.attempt());
  }

  /**
   * Call first in every RPC method and in `alarm`: loads if the start-up failed, rethrows if it fails
   * again. The retry holds the input gate too, so two calls never run an asynchronous load at once.
   */
  async ready(): Promise<void> {
    if (this.loaded) return;
    await this.ctx.blockConcurrencyWhile(() => this.attempt());
    if (this.error !== null) throw this.error;
  }

  /** The synchronous form, for objects whose load is synchronous (SQLite only). */
  readySync(): void {
    if (this.loaded) return;
    try {
      const pending = this.load();
      if (pending instanceof Promise) throw new Error(`${this.label}: load is asynchronous; use ready()`);
      this.loaded = true;
      this.error = null;
    } catch (err) {
      this.error = err;
      throw err;
    }
  }

  private async attempt(): Promise<void> {
    if (this.loaded) return;
    try {
      await this.load();
      this.loaded = true;
      this.error = null;
    } catch (err) {
      this.error = err;
      console.error(JSON.stringify({ msg: `${this.label} init failed`, error: String(err) }));
    }
  }
}
