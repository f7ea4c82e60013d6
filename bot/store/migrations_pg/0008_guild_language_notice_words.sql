-- The server's staff language and notices stored as message ids (SQLite migrations 0018
-- and 0019): the same columns.
ALTER TABLE guild_settings ADD COLUMN language TEXT;
ALTER TABLE reporter_notices ADD COLUMN words TEXT;
