-- Requests that carried an indicator of each import, added by the edge isolates in batches
-- (worker/shared-indicators.ts): a lower bound, since an evicted isolate's last few seconds are lost.
ALTER TABLE indicator_imports ADD COLUMN matches INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indicator_imports ADD COLUMN last_matched_at INTEGER;  -- epoch ms of the latest counted match
