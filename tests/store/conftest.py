"""The store's tests run against both engines: SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store import Database, Store
from tests.postgres import drop_database, fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where ``Database.open`` finds the database: a SQLite file, or an empty
    PostgreSQL database on the session's server."""
    if request.param == "sqlite":
        yield tmp_path / "warden.db"
        return
    admin_url: str = request.getfixturevalue("postgres_server")
    url = fresh_database(admin_url)
    yield url
    drop_database(admin_url, url)


@pytest.fixture
async def store(store_location: Path | str) -> AsyncIterator[Store]:
    """A migrated store on each engine (modules with their own ``store`` keep theirs)."""
    db = await Database.open(store_location)
    yield Store(db)
    await db.close()
