"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.standins.discord import DiscordStandIn, start_discord_standin


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    """A running local Discord stand-in with one seeded guild (see tests/standins/discord).

    Run a bot against it with ``async with run_bot(bot, discord_standin): ...``.
    """
    async with start_discord_standin() as standin:
        yield standin
