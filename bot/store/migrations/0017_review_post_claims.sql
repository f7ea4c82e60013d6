-- The review post of a report is posted or edited by one process at a time: it claims
-- the report row until this time (several processes on one database).
ALTER TABLE reports ADD COLUMN post_claimed_until REAL;
