-- SQLite's 0010 and 0011: the Discord locale a member last used (the language of their
-- DMs), and outcomes told before a restore (so a restored report is not told twice).
CREATE TABLE member_locales (
    discord_user_id BIGINT PRIMARY KEY,
    locale          TEXT    NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL
);
CREATE TABLE told_before_restore (
    report_uuid TEXT PRIMARY KEY,
    told_at     DOUBLE PRECISION NOT NULL
);
