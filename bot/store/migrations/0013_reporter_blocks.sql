-- A member who abuses reporting can be stopped from reporting in one server for a number of
-- days (chosen when a moderator dismisses their report). One row per server and member:
-- a new block replaces the old one; lifting keeps the row (who lifted it, when) for the
-- record, and both are in the audit chain.
CREATE TABLE reporter_blocks (
    guild_id    INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    until       REAL    NOT NULL,
    reason      TEXT,
    blocked_by  INTEGER,
    case_id     INTEGER,
    created_at  REAL    NOT NULL,
    lifted_at   REAL,
    lifted_by   INTEGER,
    PRIMARY KEY (guild_id, member_id)
);
