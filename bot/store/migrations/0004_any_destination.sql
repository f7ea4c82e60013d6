-- A delivery's destination is any key of the destination registry
-- (bot/services/delivery/registry.py), so a new destination needs no migration. SQLite
-- cannot drop a CHECK constraint: the table is rebuilt with the same columns and rows.
CREATE TABLE deliveries_new (
    report_id       INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    destination     TEXT    NOT NULL CHECK (length(destination) BETWEEN 1 AND 32),
    -- held: waiting for a moderator's approval; in_flight: an attempt started (a crash
    -- leaves it here, and the worker reconciles before sending again).
    status          TEXT    NOT NULL CHECK (status IN
                        ('held', 'pending', 'in_flight', 'sent', 'handed_off', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,
    upstream_id     TEXT,
    handoff_url     TEXT,
    last_error      TEXT,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    completed_at    REAL,
    PRIMARY KEY (report_id, destination)
);
INSERT INTO deliveries_new SELECT * FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
