"""``WardenBot(freeze_gc=True)`` (how ``bot.runtime.run`` starts Warden): start-up is
frozen out of garbage collection, and full collections run more often afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from bot.app import FULL_COLLECTION_EVERY
from bot.runtime import open_app
from bot.settings import load_settings


async def test_start_up_is_frozen_and_full_collections_come_sooner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(require_token=False, database_path=tmp_path / "w.db")
    before = gc.get_threshold()
    try:
        async with open_app(settings, start_background=False, freeze_gc=True) as bot:
            await bot.setup_hook()
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == (before[0], before[1], FULL_COLLECTION_EVERY)
            assert FULL_COLLECTION_EVERY < before[2]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_without_it_nothing_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(require_token=False, database_path=tmp_path / "w.db")
    before = gc.get_threshold(), gc.get_freeze_count()
    async with open_app(settings, start_background=False) as bot:
        await bot.setup_hook()
        assert (gc.get_threshold(), gc.get_freeze_count()) == before
