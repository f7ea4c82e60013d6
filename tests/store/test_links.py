"""Account links in SQLite: upsert and audit, compare-and-swap token updates, erasure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain import Provider
from bot.store import Database, Store
from bot.store.links import AccountTaken, LinkStatus, NewLink, SealedTokens
from tests.linking_rig import raw_database_files


@pytest.fixture
async def store(store_location: Path | str) -> AsyncIterator[Store]:
    db = await Database.open(store_location)
    yield Store(db)
    await db.close()


def tokens(tag: str) -> SealedTokens:
    return SealedTokens(f"sealed-access-{tag}".encode(), f"sealed-refresh-{tag}".encode(),
                        2000.0, 9000.0)


def new_link(user: int = 1, account: str = "acct-1", tag: str = "a") -> NewLink:
    return NewLink(discord_user_id=user, provider=Provider.BUNGIE, account_id=account,
                   display_name="Guardian#1234", tokens=tokens(tag),
                   destiny_membership_id=4611686018400000001, destiny_membership_type=3,
                   details={"memberships": [{"membership_id": 4611686018400000001}]})


async def actions(store: Store) -> list[str]:
    return [e.action async for e in store.audit.iterate()]


async def test_link_then_relink_is_audited_and_replaces_tokens(store: Store) -> None:
    first = await store.links.upsert(new_link(), now=100.0)
    assert first.previous is None and first.link.linked_at == 100.0
    second = await store.links.upsert(new_link(account="acct-2", tag="b"), now=200.0)
    assert second.previous is not None and second.previous.account_id == "acct-1"
    link = await store.links.get(1, Provider.BUNGIE)
    assert link is not None and link.account_id == "acct-2"
    assert link.tokens == tokens("b")
    # 64-bit Destiny ids survive the round trip, in the column and in the JSON details.
    assert link.destiny_membership_id == 4611686018400000001
    assert link.details["memberships"][0]["membership_id"] == 4611686018400000001
    assert await actions(store) == ["link.created", "link.relinked"]
    found = await store.links.find_by_destiny_membership(4611686018400000001)
    assert found is not None and found.discord_user_id == 1
    assert (await store.links.find_by_account(Provider.BUNGIE, "acct-2")) == found
    assert await store.links.find_by_account(Provider.BUNGIE, "acct-1") is None


async def test_one_account_one_member(store: Store) -> None:
    await store.links.upsert(new_link(user=1))
    with pytest.raises(AccountTaken):
        await store.links.upsert(new_link(user=2))
    assert await store.links.get(2, Provider.BUNGIE) is None
    assert await actions(store) == ["link.created"]


async def test_replace_tokens_only_over_the_expected_refresh_token(store: Store) -> None:
    await store.links.upsert(new_link(tag="a"))
    stale = tokens("zzz").refresh_token
    assert not await store.links.replace_tokens(
        1, Provider.BUNGIE, expected_refresh_token=stale, tokens=tokens("b"))
    assert await store.links.replace_tokens(
        1, Provider.BUNGIE, expected_refresh_token=tokens("a").refresh_token, tokens=tokens("b"))
    link = await store.links.get(1, Provider.BUNGIE)
    assert link is not None and link.tokens == tokens("b")


async def test_mark_broken_erases_tokens_and_relink_restores(store: Store) -> None:
    await store.links.upsert(new_link(tag="a"))
    assert not await store.links.mark_broken(
        1, Provider.BUNGIE, reason="x", expected_refresh_token=b"other")
    assert await store.links.mark_broken(
        1, Provider.BUNGIE, reason="revoked", expected_refresh_token=tokens("a").refresh_token)
    link = await store.links.get(1, Provider.BUNGIE)
    assert link is not None
    assert link.status is LinkStatus.BROKEN and link.status_reason == "revoked"
    assert link.tokens is None
    await store.links.upsert(new_link(tag="c"))
    link = await store.links.get(1, Provider.BUNGIE)
    assert link is not None and link.status is LinkStatus.ACTIVE and link.status_reason is None
    assert await actions(store) == ["link.created", "link.refresh_failed", "link.relinked"]


async def test_delete_erases_the_row(store: Store, store_location: Path | str) -> None:
    await store.links.upsert(new_link(tag="erase-me"))
    removed = await store.links.delete(1, Provider.BUNGIE)
    assert removed is not None and removed.account_id == "acct-1"
    assert await store.links.delete(1, Provider.BUNGIE) is None
    assert await store.links.list_for(1) == []
    if isinstance(store_location, Path):
        # Once SQLite folds the WAL into the file, the token bytes are gone, not just
        # unlinked. (PostgreSQL keeps a dead row's bytes until VACUUM reuses the space.)
        await store.db.writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = raw_database_files(store_location)
        assert b"sealed-access-erase-me" not in raw
    assert await actions(store) == ["link.created", "link.removed"]
