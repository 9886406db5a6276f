-- Indicator sets imported from other gateways and providers (POST /admin/indicators/imports).
-- Each row is one import; its indicators are stored as the gateway's own fingerprint keys
-- (`asn:…`, `tls:…`, `system:…`, `tpl:…`, combinations) plus network prefixes, so the
-- active set written to KV for the edge is a union of these columns, with no per-indicator rows.
CREATE TABLE IF NOT EXISTS indicator_imports (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  created_at INTEGER NOT NULL,  -- epoch ms
  expires_at INTEGER NOT NULL,  -- epoch ms; an expired import no longer matches and is left out of the active set
  indicators INTEGER NOT NULL,  -- how many indicators were accepted
  rejected INTEGER NOT NULL,    -- how many were left out (unknown type or a value of the wrong shape)
  keys TEXT NOT NULL,           -- JSON array of fingerprint keys
  prefixes TEXT NOT NULL        -- JSON array of CIDR prefixes
);
CREATE INDEX IF NOT EXISTS indicator_imports_expires ON indicator_imports (expires_at);
