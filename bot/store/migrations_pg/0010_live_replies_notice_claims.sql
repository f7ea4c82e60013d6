-- Several processes (SQLite 0021): which process holds a report's live reply (the
-- member's open interaction), so another process that settles the outcome leaves the
-- telling to it; and which process is telling a notice right now, so two never DM it.
ALTER TABLE reports ADD COLUMN live_owner TEXT;
ALTER TABLE reports ADD COLUMN live_until DOUBLE PRECISION;
CREATE INDEX reports_live ON reports (live_until) WHERE live_owner IS NOT NULL;
ALTER TABLE reporter_notices ADD COLUMN telling_by TEXT;
ALTER TABLE reporter_notices ADD COLUMN telling_until DOUBLE PRECISION;
-- The Bungie pace of the whole installation: one token bucket, refilled by elapsed time.
CREATE TABLE api_buckets (
    name       TEXT PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    held_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    taker      TEXT
);
