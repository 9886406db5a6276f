-- Decisions per minute by action (allowed ones included), summed from the account objects' batched
-- flushes: what the operator console charts without a D1 write per request.
CREATE TABLE IF NOT EXISTS decision_counts (
  minute INTEGER NOT NULL,         -- epoch ms of the minute's start
  action TEXT NOT NULL,            -- allow | tag | degrade | throttle | block
  enforced INTEGER NOT NULL,       -- 0 when decided in shadow mode
  count INTEGER NOT NULL,
  PRIMARY KEY (minute, action, enforced)
);
