/**
 * Many rows into one D1 table as ONE statement: the rows travel as a single
 * JSON array parameter and `json_each` unpacks them. A D1 batch of N inserts
 * is N statements, each parsed, run and answered on its own (and D1 counts
 * each against its limits); here it is one, whatever N, and one bound
 * parameter, far below D1's 100 per statement.
 */

// Rows per statement: keeps the JSON parameter to a few hundred kB (D1 takes up to 2 MB per value).
export const ROWS_PER_STATEMENT = 500;

/** A row's cells, in column order. JSON true/false come out of `->>` as 1/0, what SQLite stores for booleans. */
export type Cell = string | number | boolean | null;

/**
 * `INSERT INTO table (columns…) SELECT … FROM json_each(?1)`, one statement per ROWS_PER_STATEMENT
 * rows. `conflict` is an optional ON CONFLICT clause (the SELECT's `WHERE true` keeps SQLite's parser
 * from reading it as a join constraint).
 */
export function insertRows(
  db: D1Database,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly Cell[])[],
  conflict = "",
): D1PreparedStatement[] {
  if (rows.length === 0) return [];
  const statement = db.prepare(insertRowsSql(table, columns, conflict));
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    out.push(statement.bind(JSON.stringify(rows.slice(i, i + ROWS_PER_STATEMENT))));
  }
  return out;
}

/**
 * The statement insertRows prepares, for a Durable Object's SQLite too: bind `JSON.stringify(rows)`
 * (arrays of cells in column order) as its one parameter.
 */
export function insertRowsSql(table: string, columns: readonly string[], conflict = ""): string {
  const cells = columns.map((_, i) => `r.value ->> ${i}`).join(", ");
  return `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${cells} FROM json_each(?1) r WHERE true ${conflict}`;
}
