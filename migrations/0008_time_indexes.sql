-- Retention deletes key snapshots their roots stopped rewriting, oldest first: an index keeps that a
-- bounded range scan instead of a pass over every key ever seen.
CREATE INDEX IF NOT EXISTS fingerprint_keys_updated ON fingerprint_keys (updated_at);
-- The audit log's time-range reads (GET /admin/audit?since=&until=, /admin/stats/top, retention) were
-- scans: rows arrive in batches from the collectors, so id order is only roughly time order.
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
