"""One Warden per test module: starting one per case would cost more than the cases."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.domain import ReviewMode
from tests.hostile.rig import Hostile, set_up
from tests.report_rig import report_world
from tests.standins.discord import start_discord_standin
from tests.support import clean_env


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hostile]:
    """Warden in the Discord stand-in with both API stand-ins, set up by the guild owner
    in the review mode the module names (``MODE``, default auto)."""
    mode: ReviewMode = getattr(request.module, "MODE", ReviewMode.AUTO)
    tmp = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        clean_env(patch, tmp)
        async with start_discord_standin() as discord, report_world(tmp, discord) as world:
            hostile = await set_up(world, mode=mode)
            try:
                yield hostile
            finally:
                logging.getLogger().removeHandler(hostile.errors)
