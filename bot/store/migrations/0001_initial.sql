-- Warden's first schema. Applied migrations are never edited: add a new numbered file.
-- Times are Unix seconds (REAL). Discord snowflakes and Bungie int64 ids are INTEGER.

CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    review_channel_id   INTEGER,
    moderator_role_id   INTEGER,
    review_mode         TEXT    NOT NULL DEFAULT 'approve' CHECK (review_mode IN ('auto', 'approve')),
    -- Per-reporter limits; only accepted reports count.
    limit_short_count   INTEGER NOT NULL DEFAULT 1  CHECK (limit_short_count >= 0),
    limit_short_seconds INTEGER NOT NULL DEFAULT 30 CHECK (limit_short_seconds > 0),
    limit_hour_count    INTEGER NOT NULL DEFAULT 5  CHECK (limit_hour_count >= 0),
    limit_day_count     INTEGER NOT NULL DEFAULT 20 CHECK (limit_day_count >= 0),
    -- One report per target per this many hours when no activity is given.
    target_cooldown_hours INTEGER NOT NULL DEFAULT 24 CHECK (target_cooldown_hours >= 0),
    updated_at          REAL    NOT NULL
);

CREATE TABLE member_prefs (
    discord_user_id INTEGER PRIMARY KEY,
    notify_dm       INTEGER NOT NULL DEFAULT 1,
    updated_at      REAL    NOT NULL
);

CREATE TABLE account_links (
    discord_user_id         INTEGER NOT NULL,
    provider                TEXT    NOT NULL CHECK (provider IN ('bungie', 'game')),
    -- Bungie.net membership id, or the game player uuid.
    account_id              TEXT    NOT NULL,
    -- "Guardian#1234" or the game display name.
    display_name            TEXT,
    -- Game login portal (steam, epic, ...); NULL for Bungie.
    platform                TEXT,
    destiny_membership_id   INTEGER,
    destiny_membership_type INTEGER,
    -- JSON: every Destiny membership of the account, and other provider facts.
    details                 TEXT    NOT NULL DEFAULT '{}',
    -- Fernet-sealed; never plaintext.
    access_token            BLOB,
    refresh_token           BLOB,
    access_expires_at       REAL,
    refresh_expires_at      REAL,
    status                  TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'broken')),
    status_reason           TEXT,
    linked_at               REAL    NOT NULL,
    updated_at              REAL    NOT NULL,
    PRIMARY KEY (discord_user_id, provider)
);
CREATE INDEX account_links_by_account ON account_links (provider, account_id);
CREATE INDEX account_links_by_destiny ON account_links (destiny_membership_id);

-- One-time secrets of the linking flow, stored only as SHA-256 hashes.
-- kind 'start': the single-use link sent by DM; kind 'state': the OAuth state sent to the provider.
CREATE TABLE oauth_states (
    secret_hash     TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('start', 'state')),
    discord_user_id INTEGER NOT NULL,
    provider        TEXT    NOT NULL CHECK (provider IN ('bungie', 'game')),
    platform        TEXT,
    pkce_verifier   TEXT,
    created_at      REAL    NOT NULL,
    expires_at      REAL    NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);

CREATE TABLE reports (
    id                      INTEGER PRIMARY KEY,
    guild_id                INTEGER NOT NULL,
    -- Per-server report number shown to members and moderators.
    number                  INTEGER NOT NULL,
    channel_id              INTEGER,
    reporter_id             INTEGER NOT NULL,
    reason                  TEXT    NOT NULL,
    description             TEXT,
    -- Canonical identity of the target used for duplicate checks, e.g. "bungie:4611686018...".
    target_key              TEXT    NOT NULL,
    target_discord_id       INTEGER,
    target_bungie_membership_id   INTEGER,
    target_bungie_membership_type INTEGER,
    target_bungie_name      TEXT,
    target_character_id     INTEGER,
    target_player_uuid      TEXT,
    target_game_name        TEXT,
    reporter_destiny_membership_id INTEGER,
    reporter_player_uuid    TEXT,
    activity_id             INTEGER,
    activity_mode           INTEGER,
    activity_hash           INTEGER,
    activity_period         TEXT,
    match_id                TEXT,
    -- JSON list of evidence references (message links, attachments).
    evidence                TEXT    NOT NULL DEFAULT '[]',
    status                  TEXT    NOT NULL CHECK (status IN
                                ('draft', 'open', 'claimed', 'forwarded', 'dismissed', 'cancelled')),
    claimed_by              INTEGER,
    decided_by              INTEGER,
    decision_reason         TEXT,
    review_channel_id       INTEGER,
    review_message_id       INTEGER,
    created_at              REAL    NOT NULL,
    accepted_at             REAL,
    updated_at              REAL    NOT NULL,
    purged_at               REAL,
    UNIQUE (guild_id, number)
);
-- Rate limits: accepted reports of one reporter in a server, by time.
CREATE INDEX reports_by_reporter ON reports (guild_id, reporter_id, accepted_at);
-- Duplicate checks: one reporter against one target.
CREATE INDEX reports_by_reporter_target ON reports (guild_id, reporter_id, target_key, accepted_at);
CREATE INDEX reports_by_status ON reports (guild_id, status, created_at);
CREATE INDEX reports_by_created ON reports (created_at);

CREATE TABLE report_notes (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    author_id   INTEGER,
    kind        TEXT    NOT NULL CHECK (kind IN ('info_request', 'reply', 'note')),
    body        TEXT    NOT NULL,
    created_at  REAL    NOT NULL
);
CREATE INDEX report_notes_by_report ON report_notes (report_id, id);

-- One row per report and destination: the durable outbox.
CREATE TABLE deliveries (
    report_id       INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    destination     TEXT    NOT NULL CHECK (destination IN ('bungie', 'sanctions')),
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
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

-- Append-only, hash-chained audit trail.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          REAL    NOT NULL,
    guild_id    INTEGER,
    actor_id    INTEGER,
    action      TEXT    NOT NULL,
    report_id   INTEGER,
    details     TEXT    NOT NULL DEFAULT '{}',
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_log_by_report ON audit_log (report_id);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Installation-wide facts learned at run time (Bungie report mode after 2108,
-- the resolved report-reason map and its manifest version).
CREATE TABLE kv_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  REAL NOT NULL
);
