from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Database, Store
from bot.store.guilds import GuildSettings, ReviewMode


async def test_racing_updates_of_different_fields_both_land_and_are_audited(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "warden.db")
    try:
        store = Store(db)
        await asyncio.gather(
            store.guilds.update(1, actor_id=7, review_channel_id=100),
            store.guilds.update(1, actor_id=8, hour_count=9),
            store.guilds.update(1, actor_id=9, review_mode=ReviewMode.AUTO),
        )
        settings = await store.guilds.get(1)
        assert settings.review_channel_id == 100
        assert settings.limits.hour_count == 9
        assert settings.review_mode is ReviewMode.AUTO
        entries = [e async for e in store.audit.iterate()]
        assert sorted(tuple(e.details["changes"]) for e in entries) == [
            ("limits.hour_count",), ("review_channel_id",), ("review_mode",)]
        # Saving what is stored changes nothing and audits nothing.
        assert await store.guilds.save(settings, actor_id=7) == settings
        assert len([e async for e in store.audit.iterate()]) == 3
        assert await store.guilds.save(GuildSettings(guild_id=1), actor_id=7) == \
            GuildSettings(guild_id=1)
        [*_, last] = [e async for e in store.audit.iterate()]
        assert last.details["changes"]["review_channel_id"] == [100, None]
        assert (await store.audit.verify()).ok
    finally:
        await db.close()
