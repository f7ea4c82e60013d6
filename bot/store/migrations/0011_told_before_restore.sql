-- Outcomes a reporter was told by the database a restore replaced. The restored copy
-- (older) does not know it, so when such a report's deliveries end again (checked
-- upstream, never sent twice) its outcome is recorded as told instead of told twice.
CREATE TABLE told_before_restore (
    report_uuid TEXT PRIMARY KEY,
    told_at     REAL NOT NULL
);
