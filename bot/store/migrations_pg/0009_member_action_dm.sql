-- Whether Warden DMs a member before kicking or banning them from a review post or
-- /case (afterwards no DM can reach them). On unless the server turns it off.
ALTER TABLE guild_settings ADD COLUMN dm_before_removal INTEGER NOT NULL DEFAULT 1;
