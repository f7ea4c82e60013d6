"""One-time linking secrets: stored hashed, consumed exactly once, never after expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain import Provider
from bot.store import Database, Store
from bot.store.oauth_states import ConsumeFailure, OAuthSecret, SecretKind, hash_secret
from tests.linking_rig import raw_database_files

SECRET = "s3cret-value-that-must-not-be-stored-in-clear-0123456789"


@pytest.fixture
async def store(store_location: Path | str) -> AsyncIterator[Store]:
    db = await Database.open(store_location)
    yield Store(db)
    await db.close()


async def create(store: Store, secret: str = SECRET, **kw: object) -> OAuthSecret:
    args: dict[str, object] = {
        "discord_user_id": 7, "provider": Provider.GAME, "platform": "steam", "ttl": 600.0,
        "now": 1000.0, "browser_hash": hash_secret("browser"),
    }
    args.update(kw)
    return await store.oauth_states.create(SecretKind.STATE, secret, **args)  # type: ignore[arg-type]


async def test_only_the_hash_is_stored(store: Store, store_location: Path | str) -> None:
    await create(store)
    rows = await store.db.fetch_all("SELECT secret_hash FROM oauth_states")
    assert [r[0] for r in rows] == [hash_secret(SECRET)]
    if isinstance(store_location, Path):  # the SQLite file's own bytes
        assert SECRET.encode() not in raw_database_files(store_location)


async def test_consumed_once_with_everything_bound_to_it(store: Store) -> None:
    await create(store)
    found = await store.oauth_states.consume(SecretKind.STATE, SECRET, now=1001.0)
    assert isinstance(found, OAuthSecret)
    assert (found.discord_user_id, found.provider, found.platform) == (7, Provider.GAME, "steam")
    assert found.browser_hash == hash_secret("browser")
    again = await store.oauth_states.consume(SecretKind.STATE, SECRET, now=1001.0)
    assert again is ConsumeFailure.UNKNOWN


async def test_racing_consumers_get_it_exactly_once(store: Store) -> None:
    await create(store)
    results = await asyncio.gather(
        *(store.oauth_states.consume(SecretKind.STATE, SECRET, now=1001.0) for _ in range(25))
    )
    assert sum(isinstance(r, OAuthSecret) for r in results) == 1


async def test_expired_secret_is_refused_and_gone(store: Store) -> None:
    await create(store)
    assert await store.oauth_states.consume(SecretKind.STATE, SECRET, now=1600.0) is (
        ConsumeFailure.EXPIRED
    )
    assert await store.oauth_states.count() == 0


async def test_kinds_do_not_mix(store: Store) -> None:
    await create(store)
    assert await store.oauth_states.consume(SecretKind.START, SECRET, now=1001.0) is (
        ConsumeFailure.UNKNOWN
    )
    assert isinstance(await store.oauth_states.consume(SecretKind.STATE, SECRET, now=1001.0),
                      OAuthSecret)


async def test_replace_previous_keeps_only_the_newest_start_link(store: Store) -> None:
    for secret in ("first", "second"):
        await store.oauth_states.create(
            SecretKind.START, secret, discord_user_id=7, provider=Provider.BUNGIE, ttl=600,
            replace_previous=True, now=1000.0,
        )
    await store.oauth_states.create(
        SecretKind.START, "other-member", discord_user_id=8, provider=Provider.BUNGIE, ttl=600,
        replace_previous=True, now=1000.0,
    )
    assert await store.oauth_states.consume(SecretKind.START, "first", now=1001.0) is (
        ConsumeFailure.UNKNOWN
    )
    assert isinstance(await store.oauth_states.consume(SecretKind.START, "second", now=1001.0),
                      OAuthSecret)
    assert isinstance(
        await store.oauth_states.consume(SecretKind.START, "other-member", now=1001.0),
        OAuthSecret,
    )


async def test_expired_secrets_are_purged(store: Store) -> None:
    await create(store, "old", now=0.0)
    await create(store, "new", now=1000.0)
    assert await store.oauth_states.purge_expired(now=1000.0) == 0  # "old" went on create
    assert await store.oauth_states.count() == 1
    assert await store.oauth_states.purge_expired(now=5000.0) == 1


async def test_a_start_link_in_flight_survives_the_confirm_page_migration(
    tmp_path: Path,
) -> None:
    """0004 rebuilds the table to allow 'confirm' secrets and store the Discord name: a
    DM link sent just before the upgrade still works after it. (SQLite's history only:
    PostgreSQL's schema starts at the result.)"""
    from bot.store.database import bundled_migrations

    db = await Database.open(tmp_path / "warden.db", migrate=False)
    try:
        migrations = bundled_migrations()
        await db.migrate([m for m in migrations if m.version <= 3])
        await db.execute(
            "INSERT INTO oauth_states (secret_hash, kind, discord_user_id, provider,"
            " created_at, expires_at) VALUES (?, 'start', 7, 'bungie', 1000.0, 1600.0)",
            (hash_secret(SECRET),),
        )
        await db.migrate()
        store = Store(db)
        await store.oauth_states.create(SecretKind.CONFIRM, "confirm-token", discord_user_id=7,
                                        provider=Provider.BUNGIE, ttl=600.0, now=1000.0,
                                        discord_name="@alice")
        found = await store.oauth_states.consume(SecretKind.START, SECRET, now=1001.0)
        assert isinstance(found, OAuthSecret) and found.discord_user_id == 7
        assert found.discord_name is None
        confirm = await store.oauth_states.consume(SecretKind.CONFIRM, "confirm-token",
                                                   now=1001.0)
        assert isinstance(confirm, OAuthSecret) and confirm.discord_name == "@alice"
    finally:
        await db.close()
