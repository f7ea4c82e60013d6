"""Per-member preferences (Discord user, across servers)."""

from __future__ import annotations

import time

from bot.store.database import Database


class MemberPrefsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def notify_dm(self, discord_user_id: int) -> bool:
        """Whether the member wants report outcomes by DM; on unless they said otherwise."""
        value = await self._db.fetch_value(
            "SELECT notify_dm FROM member_prefs WHERE discord_user_id = ?", (discord_user_id,)
        )
        return True if value is None else bool(value)

    async def set_notify_dm(self, discord_user_id: int, enabled: bool) -> None:
        await self._db.execute(
            "INSERT INTO member_prefs (discord_user_id, notify_dm, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (discord_user_id) DO UPDATE SET notify_dm = excluded.notify_dm,"
            " updated_at = excluded.updated_at",
            (discord_user_id, int(enabled), time.time()),
        )
