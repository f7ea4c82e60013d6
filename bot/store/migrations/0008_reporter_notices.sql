-- What Warden owes a reporter about their report, kept until it is told: the outcome
-- once every delivery is final (queued in the transaction that makes the last one
-- final), a moderator's question, a moderator's decision. A crash between the event and
-- the message leaves the row untold, and the next start sends it by DM.
CREATE TABLE reporter_notices (
    id           INTEGER PRIMARY KEY,
    report_id    INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    recipient_id INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('outcome', 'question', 'decision')),
    -- Questions and decisions as worded then; an outcome is worded from the deliveries
    -- when it is told.
    title        TEXT,
    body         TEXT,
    -- DMs that failed for a reason other than closed DMs; given up after a few.
    failures     INTEGER NOT NULL DEFAULT 0,
    created_at   REAL    NOT NULL,
    told_at      REAL,
    -- interaction | dm | dms_off | dms_closed | gave_up
    told_via     TEXT,
    -- While an outcome is being shown in the reporter's live reply: that interaction's
    -- token (valid 15 minutes, cleared once told), so that the next start can read the
    -- reply back and tell "shown, then crashed" from "never shown".
    live_token   TEXT,
    live_since   REAL
);
CREATE INDEX reporter_notices_untold ON reporter_notices (id) WHERE told_at IS NULL;
-- One outcome waits at a time: a moderator's retry makes a told outcome due again, and
-- a retry before it was told only changes what the waiting one will say.
CREATE UNIQUE INDEX reporter_notices_one_outcome_waiting
    ON reporter_notices (report_id) WHERE kind = 'outcome' AND told_at IS NULL;
