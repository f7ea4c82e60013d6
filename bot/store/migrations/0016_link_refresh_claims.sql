-- A token refresh in progress, claimed by one process until this time: refresh tokens
-- are single-use, so two processes must never refresh one link at once.
ALTER TABLE account_links ADD COLUMN refreshing_until REAL;
