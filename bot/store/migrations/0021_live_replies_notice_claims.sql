-- Which process holds a report's live reply and which is telling a notice (PostgreSQL
-- 0010; with one process on SQLite it is always this one, the same code either way).
ALTER TABLE reports ADD COLUMN live_owner TEXT;
ALTER TABLE reports ADD COLUMN live_until REAL;
CREATE INDEX reports_live ON reports (live_until) WHERE live_owner IS NOT NULL;
ALTER TABLE reporter_notices ADD COLUMN telling_by TEXT;
ALTER TABLE reporter_notices ADD COLUMN telling_until REAL;
-- The shared Bungie budget of several processes (PostgreSQL); one process on SQLite paces
-- itself in memory, and the table is here so both engines have the same schema.
CREATE TABLE api_buckets (
    name       TEXT PRIMARY KEY,
    tokens     REAL NOT NULL,
    updated_at REAL NOT NULL,
    held_until REAL NOT NULL DEFAULT 0,
    taker      TEXT
);
