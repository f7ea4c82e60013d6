-- Cases: what moderators did about an incident, apart from what reached each destination.
-- reports.status used to mix both ('open', 'claimed', 'forwarded', 'dismissed'). Now a
-- report is only 'draft', 'accepted' or 'cancelled'; its deliveries say where it went; its
-- case says what moderators did: open, claimed (by whom), resolved (an outcome and a note)
-- or dismissed. A separate table rather than case columns on reports, because one case
-- gathers every report of one incident (the same player, the same activity or the target
-- cooldown): each report is still delivered upstream on its own, the case is decided once.
-- The review post stays on the case's lead report (its first).
--
-- Every accepted report becomes a case of its own with the same id, so review posts made
-- before this upgrade (their buttons carry the report id) keep working:
--   open -> open; claimed -> claimed (same moderator); dismissed -> dismissed (same
--   moderator, the reason as the note); forwarded by a moderator's approval -> resolved
--   (action of kind 'other', note 'Approved and forwarded'); forwarded automatically
--   (auto mode) -> open, as auto-mode cases are now.
-- The rebuild of reports (to change its status CHECK) runs with foreign keys off (the
-- migration runner), so dropping the old table deletes no note, delivery or notice.
CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    lead_report_id  INTEGER NOT NULL,
    target_key      TEXT    NOT NULL,
    activity_id     INTEGER,
    status          TEXT    NOT NULL CHECK (status IN ('open', 'claimed', 'resolved', 'dismissed')),
    claimed_by      INTEGER,
    decided_by      INTEGER,
    -- Resolved only: 'action' (with action_kind) or 'no_action'.
    outcome         TEXT    CHECK (outcome IN ('action', 'no_action')),
    action_kind     TEXT    CHECK (action_kind IN ('warn', 'timeout', 'kick', 'ban', 'other')),
    note            TEXT,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    decided_at      REAL
);
-- A new report looks for the undecided case of the same player in its server.
CREATE INDEX cases_by_target ON cases (guild_id, target_key, status);
CREATE INDEX cases_by_created ON cases (guild_id, created_at);

INSERT INTO cases (id, guild_id, lead_report_id, target_key, activity_id, status, claimed_by,
                   decided_by, outcome, action_kind, note, created_at, updated_at, decided_at)
SELECT id, guild_id, id, target_key, activity_id,
       CASE status WHEN 'claimed' THEN 'claimed' WHEN 'dismissed' THEN 'dismissed'
                   WHEN 'forwarded' THEN CASE WHEN decided_by IS NULL THEN 'open'
                                              ELSE 'resolved' END
                   ELSE 'open' END,
       CASE WHEN status = 'claimed' THEN claimed_by END,
       CASE WHEN status = 'dismissed' OR (status = 'forwarded' AND decided_by IS NOT NULL)
            THEN decided_by END,
       CASE WHEN status = 'forwarded' AND decided_by IS NOT NULL THEN 'action' END,
       CASE WHEN status = 'forwarded' AND decided_by IS NOT NULL THEN 'other' END,
       CASE WHEN status = 'dismissed' THEN decision_reason
            WHEN status = 'forwarded' AND decided_by IS NOT NULL THEN 'Approved and forwarded'
       END,
       COALESCE(accepted_at, created_at), updated_at,
       CASE WHEN status = 'dismissed' OR (status = 'forwarded' AND decided_by IS NOT NULL)
            THEN updated_at END
FROM reports
WHERE status IN ('open', 'claimed', 'forwarded', 'dismissed');

CREATE TABLE reports_new (
    id                      INTEGER PRIMARY KEY,
    guild_id                INTEGER NOT NULL,
    number                  INTEGER NOT NULL,
    channel_id              INTEGER,
    reporter_id             INTEGER NOT NULL,
    reason                  TEXT    NOT NULL,
    description             TEXT,
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
    evidence                TEXT    NOT NULL DEFAULT '[]',
    status                  TEXT    NOT NULL CHECK (status IN ('draft', 'accepted', 'cancelled')),
    case_id                 INTEGER REFERENCES cases (id),
    review_channel_id       INTEGER,
    review_message_id       INTEGER,
    created_at              REAL    NOT NULL,
    accepted_at             REAL,
    updated_at              REAL    NOT NULL,
    purged_at               REAL,
    uuid                    TEXT,
    UNIQUE (guild_id, number)
);
INSERT INTO reports_new (id, guild_id, number, channel_id, reporter_id, reason, description,
    target_key, target_discord_id, target_bungie_membership_id, target_bungie_membership_type,
    target_bungie_name, target_character_id, target_player_uuid, target_game_name,
    reporter_destiny_membership_id, reporter_player_uuid, activity_id, activity_mode,
    activity_hash, activity_period, match_id, evidence, status, case_id, review_channel_id,
    review_message_id, created_at, accepted_at, updated_at, purged_at, uuid)
SELECT id, guild_id, number, channel_id, reporter_id, reason, description,
    target_key, target_discord_id, target_bungie_membership_id, target_bungie_membership_type,
    target_bungie_name, target_character_id, target_player_uuid, target_game_name,
    reporter_destiny_membership_id, reporter_player_uuid, activity_id, activity_mode,
    activity_hash, activity_period, match_id, evidence,
    CASE WHEN status IN ('draft', 'cancelled') THEN status ELSE 'accepted' END,
    CASE WHEN status IN ('draft', 'cancelled') THEN NULL ELSE id END,
    review_channel_id, review_message_id, created_at, accepted_at, updated_at, purged_at, uuid
FROM reports;
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE INDEX reports_by_reporter ON reports (guild_id, reporter_id, accepted_at);
CREATE INDEX reports_by_reporter_target ON reports (guild_id, reporter_id, target_key, accepted_at);
CREATE INDEX reports_by_status ON reports (guild_id, status, created_at);
CREATE INDEX reports_by_created ON reports (created_at);
CREATE INDEX reports_by_reporter_activity
    ON reports (guild_id, reporter_id, target_key, activity_id);
CREATE INDEX reports_unconfirmed_by_reporter
    ON reports (reporter_id, created_at) WHERE accepted_at IS NULL;
CREATE INDEX reports_unconfirmed_by_created
    ON reports (created_at) WHERE accepted_at IS NULL;
CREATE UNIQUE INDEX reports_by_uuid ON reports (uuid);
CREATE INDEX reports_by_case ON reports (case_id, id);
