-- The duplicate rule "one report per player and activity" looks for the reporter's
-- accepted reports of this target in this activity. reports_by_reporter_target finds
-- the reporter's reports of the target, but then each row is read to compare the
-- activity: about 5 ms for a member who reported the same player 2,000 times
-- (bench/limit_checks.py). With the activity in the index it is one seek.
CREATE INDEX reports_by_reporter_activity
    ON reports (guild_id, reporter_id, target_key, activity_id);
