"""Per-server configuration: review channel, moderator role, review mode, limits and the
audit log channel."""

from __future__ import annotations

import enum
import time
from dataclasses import asdict, fields, replace
from typing import Any

from bot.domain import GuildSettings
from bot.store import audit
from bot.store.database import Conn, Database
from bot.store.rows import guild_from_row

_LIMIT_COLUMNS = {
    "short_count": "limit_short_count",
    "short_seconds": "limit_short_seconds",
    "hour_count": "limit_hour_count",
    "day_count": "limit_day_count",
    "target_cooldown_hours": "target_cooldown_hours",
}


class GuildStore:
    """Each server's settings, kept in memory once read.

    Every report reads its server's settings several times (drafting, confirming, the
    review post), and only moderators change them, through this store: a write
    replaces the remembered copy. Warden runs one process per database, and the
    command line changes no server settings, so the copy cannot go stale.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: dict[int, GuildSettings] = {}

    async def get(self, guild_id: int) -> GuildSettings:
        known = self._known.get(guild_id)
        if known is not None:
            return known
        row = await self._db.fetch_one(
            "SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        found = GuildSettings(guild_id=guild_id) if row is None else guild_from_row(row)
        # setdefault: a write that finished while this read was on its way wins.
        return self._known.setdefault(guild_id, found)

    async def with_review_channel(self) -> list[int]:
        """Every server that has chosen a review channel."""
        rows = await self._db.fetch_all(
            "SELECT guild_id FROM guild_settings WHERE review_channel_id IS NOT NULL"
            " ORDER BY guild_id"
        )
        return [int(r[0]) for r in rows]

    async def with_audit_channel(self) -> list[GuildSettings]:
        """Every server that has chosen a channel for the daily audit chain head."""
        rows = await self._db.fetch_all(
            "SELECT * FROM guild_settings WHERE audit_channel_id IS NOT NULL ORDER BY guild_id"
        )
        return [guild_from_row(r) for r in rows]

    async def save(self, new: GuildSettings, *, actor_id: int | None) -> GuildSettings:
        """Write every field, auditing what changed; returns the stored settings."""
        return self._remember(await self._db.write(lambda conn: _save(conn, new, actor_id)))

    def _remember(self, settings: GuildSettings) -> GuildSettings:
        self._known[settings.guild_id] = settings
        return settings

    async def update(self, guild_id: int, *, actor_id: int | None, **fields_: Any) -> GuildSettings:
        limit_updates = {k: v for k, v in fields_.items() if k in _LIMIT_COLUMNS}
        other = {k: v for k, v in fields_.items() if k not in _LIMIT_COLUMNS}

        def update(conn: Conn) -> GuildSettings:
            # Read, change and write in one transaction: two racing updates of different
            # fields both land.
            current = _current(conn, guild_id)
            new = replace(current, limits=replace(current.limits, **limit_updates), **other)
            return _save(conn, new, actor_id, old=current)

        return self._remember(await self._db.write(update))


def _current(conn: Conn, guild_id: int) -> GuildSettings:
    rows = conn.execute("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,)).fetchall()
    return guild_from_row(rows[0]) if rows else GuildSettings(guild_id=guild_id)


def _save(
    conn: Conn,
    new: GuildSettings,
    actor_id: int | None,
    *,
    old: GuildSettings | None = None,
) -> GuildSettings:
    """Upsert the settings inside the caller's write transaction, auditing the changes
    against what is stored now."""
    changes = _diff(_current(conn, new.guild_id) if old is None else old, new)
    now = time.time()
    limits = new.limits
    conn.execute(
        "INSERT INTO guild_settings (guild_id, review_channel_id, moderator_role_id,"
        " review_mode, limit_short_count, limit_short_seconds, limit_hour_count,"
        " limit_day_count, target_cooldown_hours, audit_channel_id, language,"
        " dm_before_removal, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (guild_id) DO UPDATE SET"
        " review_channel_id = excluded.review_channel_id,"
        " moderator_role_id = excluded.moderator_role_id,"
        " review_mode = excluded.review_mode,"
        " limit_short_count = excluded.limit_short_count,"
        " limit_short_seconds = excluded.limit_short_seconds,"
        " limit_hour_count = excluded.limit_hour_count,"
        " limit_day_count = excluded.limit_day_count,"
        " target_cooldown_hours = excluded.target_cooldown_hours,"
        " audit_channel_id = excluded.audit_channel_id,"
        " language = excluded.language,"
        " dm_before_removal = excluded.dm_before_removal,"
        " updated_at = excluded.updated_at",
        (
            new.guild_id,
            new.review_channel_id,
            new.moderator_role_id,
            new.review_mode.value,
            limits.short_count,
            limits.short_seconds,
            limits.hour_count,
            limits.day_count,
            limits.target_cooldown_hours,
            new.audit_channel_id,
            new.language,
            int(new.dm_before_removal),
            now,
        ),
    )
    if changes:
        audit.append(
            conn,
            "settings.changed",
            guild_id=new.guild_id,
            actor_id=actor_id,
            details={"changes": changes},
            at=now,
        )
    return new


def _diff(old: GuildSettings, new: GuildSettings) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for f in fields(GuildSettings):
        if f.name in ("guild_id", "limits"):
            continue
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before != after:
            changes[f.name] = [_plain(before), _plain(after)]
    old_limits, new_limits = asdict(old.limits), asdict(new.limits)
    for key, before in old_limits.items():
        if new_limits[key] != before:
            changes[f"limits.{key}"] = [before, new_limits[key]]
    return changes


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
