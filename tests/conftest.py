"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.postgres import drop_database, fresh_database, running_server
from tests.standins.discord import DiscordStandIn, start_discord_standin
from tests.support import clean_env

# matplotlib builds a font cache (seconds) at its first import: keep it beside the test
# cache, so it is built once per checkout and never per test, whatever HOME is.
os.environ.setdefault(
    "MPLCONFIGDIR", str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "matplotlib")
)


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in ``tmp_path`` with no Warden setting from the machine (use it with
    ``pytestmark = pytest.mark.usefixtures("isolated_env")``)."""
    clean_env(monkeypatch, tmp_path)


@pytest.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    """A running local Discord stand-in with one seeded guild (see tests/standins/discord).

    Run a bot against it with ``async with run_bot(bot, discord_standin): ...``.
    """
    async with start_discord_standin() as standin:
        yield standin


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for the whole session (tests/postgres.py); its admin URL."""
    with running_server() as admin_url:
        yield admin_url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    url = fresh_database(postgres_server)
    yield url
    drop_database(postgres_server, url)
