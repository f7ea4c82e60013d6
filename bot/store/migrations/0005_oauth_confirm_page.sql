-- Forced linking: the start link no longer goes straight to the provider. Opening it
-- shows a page naming the Discord account being linked, and only a POST of that page's
-- form (a 'confirm' secret, bound to the browser's cookie) reaches the provider. The
-- Discord name is stored with the start link because the web server cannot ask Discord.
-- SQLite cannot widen a CHECK in place, so the table is rebuilt; its rows live ten
-- minutes, and are copied anyway so that a link in flight survives the upgrade.
CREATE TABLE oauth_states_new (
    secret_hash     TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('start', 'confirm', 'state')),
    discord_user_id INTEGER NOT NULL,
    provider        TEXT    NOT NULL CHECK (provider IN ('bungie', 'game')),
    platform        TEXT,
    pkce_verifier   TEXT,
    created_at      REAL    NOT NULL,
    expires_at      REAL    NOT NULL,
    browser_hash    TEXT,
    discord_name    TEXT
);
INSERT INTO oauth_states_new (secret_hash, kind, discord_user_id, provider, platform,
                              pkce_verifier, created_at, expires_at, browser_hash)
    SELECT secret_hash, kind, discord_user_id, provider, platform, pkce_verifier,
           created_at, expires_at, browser_hash
    FROM oauth_states;
DROP TABLE oauth_states;
ALTER TABLE oauth_states_new RENAME TO oauth_states;
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
