-- A channel of the server's choosing where Warden posts the audit chain's head once a
-- day, so that rows cut from the end of the chain can be noticed later.
ALTER TABLE guild_settings ADD COLUMN audit_channel_id INTEGER;
