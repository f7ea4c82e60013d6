-- The Discord locale a member last used with Warden: the language of their DMs.
CREATE TABLE member_locales (
    discord_user_id INTEGER PRIMARY KEY,
    locale          TEXT    NOT NULL,
    updated_at      REAL    NOT NULL
);
