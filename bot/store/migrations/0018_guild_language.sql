-- The language of a server's staff posts (review posts, moderator answers, /reports), as a
-- Discord locale chosen with /warden setup; NULL follows the server's preferred locale.
ALTER TABLE guild_settings ADD COLUMN language TEXT;
