from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.domain import GuildSettings, ReviewMode
from bot.store import Database, Store
from tests.store.hops import count_hops


async def test_racing_updates_of_different_fields_both_land_and_are_audited(
    store_location: Path | str,
) -> None:
    db = await Database.open(store_location)
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


async def test_settings_are_read_once_and_every_change_is_seen_at_once(
    store_location: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await Database.open(store_location)
    try:
        store = Store(db)
        await store.guilds.update(1, actor_id=7, review_channel_id=100)
        fresh = Store(db)  # as a restarted Warden would: nothing remembered yet
        hops = count_hops(monkeypatch)
        assert (await fresh.guilds.get(1)).review_channel_id == 100
        assert (await fresh.guilds.get(1)).review_channel_id == 100
        assert hops[0] == 1
        await fresh.guilds.update(1, actor_id=7, review_channel_id=200, hour_count=3)
        settings = await fresh.guilds.get(1)
        assert (settings.review_channel_id, settings.limits.hour_count) == (200, 3)
        assert hops[0] == 2  # the update's transaction; the read after it is free
        assert (await Store(db).guilds.get(1)) == settings  # and it is what is stored
    finally:
        await db.close()
