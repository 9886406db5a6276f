-- Why a judged key has its verdict: the evidence score (0..1) and every item behind it
-- (JSON [{"evidence","value","points","reason"?,"implied"?}], largest contribution first).
-- Both NULL for a key too small or too slow to be judged, and for snapshots written before this.
ALTER TABLE fingerprint_keys ADD COLUMN score REAL;
ALTER TABLE fingerprint_keys ADD COLUMN evidence TEXT;
