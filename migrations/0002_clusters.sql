-- The account <-> fingerprint graph: one edge per (account, fingerprint key), written in batches
-- by the cluster collectors, never per request.
CREATE TABLE IF NOT EXISTS account_fingerprints (
  account_id TEXT NOT NULL,
  fp_key TEXT NOT NULL,            -- e.g. "asn:13335", "tls:…", "payment:…", "tpl:0:…"
  kind TEXT NOT NULL,              -- the part before the first ':'
  first_seen INTEGER NOT NULL,     -- epoch ms
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (account_id, fp_key)
);
CREATE INDEX IF NOT EXISTS account_fingerprints_key ON account_fingerprints (fp_key);

-- Snapshots of each fingerprint key's roll-up (distinct accounts, rates, synchrony, verdict),
-- written by the key's root object when its verdict changes and periodically.
CREATE TABLE IF NOT EXISTS fingerprint_keys (
  fp_key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  accounts INTEGER NOT NULL,       -- distinct-account estimate (HyperLogLog)
  requests_per_window REAL NOT NULL,
  tokens_per_window REAL NOT NULL,
  synchrony REAL NOT NULL,
  template_share REAL NOT NULL,
  elicitation_share REAL NOT NULL,
  top_model TEXT,
  verdict TEXT NOT NULL,           -- none | suspect | confirmed
  reasons TEXT NOT NULL,           -- comma-separated
  allowlisted INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fingerprint_keys_verdict ON fingerprint_keys (verdict, accounts);

-- Connected components over account_fingerprints (cron): a hydra that varies one fingerprint
-- per account but shares another is still one cluster.
CREATE TABLE IF NOT EXISTS clusters (
  id TEXT PRIMARY KEY,             -- "cc:" + stable hash of the smallest member id
  size INTEGER NOT NULL,
  keys TEXT NOT NULL,              -- JSON array of the shared fingerprint keys linking it
  verdict TEXT NOT NULL,           -- none | suspect | confirmed
  reasons TEXT NOT NULL,
  requests_per_window REAL NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS clusters_size ON clusters (size);

CREATE TABLE IF NOT EXISTS cluster_members (
  cluster_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  PRIMARY KEY (cluster_id, account_id)
);
CREATE INDEX IF NOT EXISTS cluster_members_account ON cluster_members (account_id);
