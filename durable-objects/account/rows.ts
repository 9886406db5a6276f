/** Reading SQLite rows defensively and writing many rows per statement: shared by every account store. */

export type SqlValue = string | number | null;

// Durable Object SQLite binds at most 100 parameters per statement.
const MAX_BOUND_PARAMETERS = 100;

export function num(value: unknown, fallback = 0): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}
export function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}
export function nullableStr(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
export function nullableNum(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * `INSERT … VALUES (…), (…) …` with as many rows per statement as the 100 bound parameters allow:
 * a new member of a campaign brings a dozen keys and several verdicts, and a statement costs far more
 * than a row.
 */
export function insertRows(sql: SqlStorage, head: string, tail: string, rows: readonly SqlValue[][]): void {
  const width = rows[0]?.length ?? 0;
  if (width === 0) return;
  const perStatement = Math.floor(MAX_BOUND_PARAMETERS / width);
  const row = `(${new Array<string>(width).fill("?").join(", ")})`;
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    sql.exec(`${head} VALUES ${new Array<string>(chunk.length).fill(row).join(", ")} ${tail}`, ...chunk.flat());
  }
}
