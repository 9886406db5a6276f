// Shared by both variants so they do identical storage work.
export const COUNTER_DDL =
  "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)";
export const COUNTER_UPSERT =
  "INSERT INTO counter (id, total) VALUES (1, ?1) " +
  "ON CONFLICT (id) DO UPDATE SET total = total + excluded.total RETURNING total";
