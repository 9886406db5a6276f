-- An audit row stands for `count` repeats of one decision by one account within one minute
-- (lib/audit.ts): rows written before this column are single decisions.
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;

-- The retention job deletes edges unseen for retention.edgeDays, and the linker reads the edges
-- that changed since its last run: both by last_seen.
CREATE INDEX IF NOT EXISTS account_fingerprints_last_seen ON account_fingerprints (last_seen);
