-- Retention deletes key snapshots their roots stopped rewriting, oldest first: an index keeps that a
-- bounded range scan instead of a pass over every key ever seen.
CREATE INDEX IF NOT EXISTS fingerprint_keys_updated ON fingerprint_keys (updated_at);
