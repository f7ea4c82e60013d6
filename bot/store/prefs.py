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


class MemberLocaleStore:
    """The locale each member last interacted in (their DMs' language)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: dict[int, str] = {}

    async def locale(self, discord_user_id: int) -> str | None:
        known = self._known.get(discord_user_id)
        if known is not None:
            return known
        value = await self._db.fetch_value(
            "SELECT locale FROM member_locales WHERE discord_user_id = ?", (discord_user_id,)
        )
        return None if value is None else str(value)

    async def remember(self, discord_user_id: int, locale: str) -> None:
        """Stored once per change: most interactions cost no write."""
        if self._known.get(discord_user_id) == locale:
            return
        await self._db.execute(
            "INSERT INTO member_locales (discord_user_id, locale, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (discord_user_id) DO UPDATE SET locale = excluded.locale,"
            " updated_at = excluded.updated_at",
            (discord_user_id, locale, time.time()),
        )
        self._known[discord_user_id] = locale
