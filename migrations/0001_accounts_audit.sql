-- Account registry: the operator's view of accounts (keys live hashed in KV).
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY,
  tier TEXT NOT NULL,
  org_type TEXT,
  verified INTEGER NOT NULL DEFAULT 0,
  billing_country TEXT,
  payment_fingerprint TEXT,
  key_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Enforcement audit log: decisions that were not a plain allow, overrides and admin changes.
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,            -- decision | override | admin
  request_id TEXT,
  account_id TEXT,
  action TEXT,
  enforced INTEGER,
  reasons TEXT,                  -- comma-separated reason codes
  risk REAL,
  country TEXT,
  cluster TEXT,
  detail TEXT                    -- JSON, never prompt text or keys
);
CREATE INDEX IF NOT EXISTS audit_log_account ON audit_log (account_id, id);
CREATE INDEX IF NOT EXISTS audit_log_kind ON audit_log (kind, id);
