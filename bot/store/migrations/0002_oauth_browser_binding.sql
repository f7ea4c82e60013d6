-- The OAuth state is also bound to the browser that opened the one-time start link
-- (a cookie, stored here as a SHA-256 hash), so a state that reaches another
-- browser, for instance another member's, cannot complete a link.
ALTER TABLE oauth_states ADD COLUMN browser_hash TEXT;
