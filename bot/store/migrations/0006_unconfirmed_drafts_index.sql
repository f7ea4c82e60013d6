-- The draft limit counts a member's unconfirmed drafts of the last hour across every
-- server, and the start-up sweep deletes the old ones: both seek this partial index,
-- which holds only never-accepted rows.
CREATE INDEX reports_unconfirmed_by_reporter
    ON reports (reporter_id, created_at) WHERE accepted_at IS NULL;
CREATE INDEX reports_unconfirmed_by_created
    ON reports (created_at) WHERE accepted_at IS NULL;
