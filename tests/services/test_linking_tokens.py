"""Token upkeep of linked accounts: refresh before expiry, once under concurrency, a dead
grant marks the link broken and asks the member to relink, unlink erases at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.apis.errors import AuthExpired, Unavailable
from bot.crypto import TokenBox, TokenDecryptError, generate_key
from bot.domain import GamePlatform, Provider
from bot.errors import InvalidInput, NeedsLink, UserFacingError
from bot.metrics import WardenMetrics
from bot.notify import DmOutcome
from bot.services.linking.providers import BungieLinkProvider
from bot.services.linking.service import REFRESH_MARGIN, LinkHealth, LinkingService
from bot.store import Database, Store
from bot.store.links import LinkStatus
from tests.linking_rig import RecordingNotifier, Rig, open_rig
from tests.standins.bungie import TOKEN_PATH
from tests.standins.sanctions import LOGIN_ROUTE


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


def bungie_refreshes(rig: Rig) -> int:
    return sum(
        1 for r in rig.bungie.requests_to(TOKEN_PATH, "POST")
        if r.form and r.form.get("grant_type") == "refresh_token"
    )


async def linked_alice(rig: Rig, user_id: int = 1001):
    alice = rig.bungie.add_account("Alice", 1234)
    page = await rig.link_bungie(user_id, alice)
    assert page.status_code == 200, page.text
    return alice


async def test_a_fresh_token_is_handed_out_without_refreshing(rig: Rig) -> None:
    alice = await linked_alice(rig)
    token = await rig.service.access_token(1001, Provider.BUNGIE)
    memberships = await rig.bungie_client.get_memberships_for_current_user(token)
    assert memberships.bungie_net_membership_id == alice.bnet_id
    assert bungie_refreshes(rig) == 0


async def test_token_is_refreshed_before_it_expires_and_the_new_refresh_token_stored(
    rig: Rig,
) -> None:
    await linked_alice(rig)
    before = await rig.store.links.get(1001, Provider.BUNGIE)
    assert before is not None and before.tokens is not None
    old_token = await rig.service.access_token(1001, Provider.BUNGIE)
    # Inside the margin, not yet expired: Warden must not wait for the 401.
    rig.clock.advance(3600 - REFRESH_MARGIN / 2)

    token = await rig.service.access_token(1001, Provider.BUNGIE)

    assert token != old_token and bungie_refreshes(rig) == 1
    after = await rig.store.links.get(1001, Provider.BUNGIE)
    assert after is not None and after.tokens is not None
    assert after.tokens.refresh_token != before.tokens.refresh_token
    assert after.tokens.access_expires_at == pytest.approx(rig.clock.now + 3600, abs=1)
    # The stored refresh token is the new one: the next refresh works (Bungie's are
    # single use, so a stale one would be refused and break the link).
    rig.clock.advance(3600)
    await rig.service.access_token(1001, Provider.BUNGIE)
    assert bungie_refreshes(rig) == 2


async def test_concurrent_callers_spend_the_refresh_token_once(rig: Rig) -> None:
    await linked_alice(rig)
    rig.clock.advance(3600)
    rig.bungie.inject("slow", path=TOKEN_PATH, delay=0.2, landed=True)

    tokens = await asyncio.gather(
        *(rig.service.access_token(1001, Provider.BUNGIE) for _ in range(20))
    )

    assert bungie_refreshes(rig) == 1
    assert len(set(tokens)) == 1
    link = await rig.store.links.get(1001, Provider.BUNGIE)
    assert link is not None and link.status is LinkStatus.ACTIVE


async def test_two_processes_on_one_database_spend_the_refresh_token_once(
    tmp_path: Path, postgres_url: str
) -> None:
    async with open_rig(tmp_path, database=postgres_url) as rig:
        await linked_alice(rig)
        # A second Warden process: its own connections and its own in-process locks.
        other_db = await Database.open(postgres_url)
        rig.stack.push_async_callback(other_db.close)
        other = LinkingService(
            store=Store(other_db), box=rig.box, public_base_url=rig.base_url,
            providers=[BungieLinkProvider(rig.bungie_client, clock=rig.clock)],
            notifier=RecordingNotifier(), metrics=WardenMetrics(), clock=rig.clock,
        )
        rig.clock.advance(3600)
        rig.bungie.inject("slow", path=TOKEN_PATH, delay=0.3, landed=True)

        tokens = await asyncio.gather(*(
            (rig.service if i % 2 else other).access_token(1001, Provider.BUNGIE)
            for i in range(10)
        ))

        assert bungie_refreshes(rig) == 1
        assert len(set(tokens)) == 1
        link = await rig.store.links.get(1001, Provider.BUNGIE)
        assert link is not None and link.status is LinkStatus.ACTIVE


async def test_a_token_refused_early_is_refreshed_once_for_all_who_saw_it(rig: Rig) -> None:
    alice = await linked_alice(rig)
    token = await rig.service.access_token(1001, Provider.BUNGIE)
    rig.bungie.expire_access_tokens(alice)  # Bungie ended it before its stated lifetime
    with pytest.raises(AuthExpired):
        await rig.bungie_client.get_memberships_for_current_user(token)

    fresh = await asyncio.gather(
        *(rig.service.access_token(1001, Provider.BUNGIE, rejected=token) for _ in range(5))
    )

    assert bungie_refreshes(rig) == 1 and len(set(fresh)) == 1 and fresh[0] != token
    memberships = await rig.bungie_client.get_memberships_for_current_user(fresh[0])
    assert memberships.bungie_net_membership_id == alice.bnet_id


async def test_different_members_refresh_independently(rig: Rig) -> None:
    await linked_alice(rig, 1001)
    bob = rig.bungie.add_account("Bob", 42)
    await rig.link_bungie(2002, bob)
    rig.clock.advance(3600)
    await asyncio.gather(
        rig.service.access_token(1001, Provider.BUNGIE),
        rig.service.access_token(2002, Provider.BUNGIE),
    )
    assert bungie_refreshes(rig) == 2


async def test_revoked_grant_marks_the_link_broken_and_asks_to_relink(rig: Rig) -> None:
    alice = await linked_alice(rig)
    rig.bungie.revoke(alice)
    rig.clock.advance(3600)

    with pytest.raises(NeedsLink) as caught:
        await rig.service.access_token(1001, Provider.BUNGIE)

    assert caught.value.providers == ["bungie"]
    assert "/link bungie" in caught.value.message
    link = await rig.store.links.get(1001, Provider.BUNGIE)
    assert link is not None
    assert link.status is LinkStatus.BROKEN and link.tokens is None  # dead tokens erased
    [entry] = await rig.audit("link.refresh_failed")
    assert entry.actor_id == 1001 and entry.details["link_broken"] is True
    [summary] = await rig.service.links(1001)
    assert summary.health is LinkHealth.BROKEN and summary.problem
    # Later calls say the same without asking Bungie again.
    with pytest.raises(NeedsLink):
        await rig.service.access_token(1001, Provider.BUNGIE)
    assert bungie_refreshes(rig) == 1


async def test_relink_after_a_broken_link_works_again(rig: Rig) -> None:
    alice = await linked_alice(rig)
    rig.bungie.revoke(alice)
    rig.clock.advance(3600)
    with pytest.raises(NeedsLink):
        await rig.service.access_token(1001, Provider.BUNGIE)

    [button] = await rig.service.relink_buttons(1001, ["bungie"], discord_name="@alice")
    rig.bungie.login_as(alice)
    page = await (await rig.browser()).link(button.url)
    assert page.status_code == 200
    assert await rig.service.access_token(1001, Provider.BUNGIE)
    [summary] = await rig.service.links(1001)
    assert summary.health is LinkHealth.WORKING
    [relinked] = await rig.audit("link.relinked")
    assert relinked.details["previous_status"] == "broken"


async def test_expired_refresh_token_breaks_the_link_without_asking_bungie(rig: Rig) -> None:
    await linked_alice(rig)
    rig.clock.advance(91 * 24 * 3600)
    [summary] = await rig.service.links(1001)
    assert summary.health is LinkHealth.EXPIRED
    with pytest.raises(NeedsLink):
        await rig.service.access_token(1001, Provider.BUNGIE)
    assert bungie_refreshes(rig) == 0


async def test_passing_refresh_failure_keeps_the_link_and_is_audited(rig: Rig) -> None:
    await linked_alice(rig)
    rig.clock.advance(3600)
    # Exactly the attempts of one call (the rig's retry policy makes two).
    rig.bungie.inject("server_error", count=2, path=TOKEN_PATH, status=503)
    with pytest.raises(Unavailable):
        await rig.service.access_token(1001, Provider.BUNGIE)
    link = await rig.store.links.get(1001, Provider.BUNGIE)
    assert link is not None and link.status is LinkStatus.ACTIVE
    [entry] = await rig.audit("link.refresh_failed")
    assert entry.details["link_broken"] is False
    # Once Bungie is back the same stored refresh token still works.
    assert await rig.service.access_token(1001, Provider.BUNGIE)


async def test_game_token_refresh_uses_single_use_refresh_tokens(rig: Rig) -> None:
    bob = rig.sanctions.add_player("Bob", identities={"Steam": "s-1"})
    await rig.link_game(1001, bob, GamePlatform.STEAM)
    first = await rig.service.access_token(1001, Provider.GAME)
    rig.clock.advance(3600)
    tokens = await asyncio.gather(
        *(rig.service.access_token(1001, Provider.GAME) for _ in range(10))
    )
    assert rig.sanctions.count("POST", LOGIN_ROUTE) == 1
    assert len(set(tokens)) == 1 and tokens[0] != first
    assert await rig.sanctions_client.get_my_player_uuid(tokens[0]) == bob.uuid


async def test_no_link_asks_the_member_to_link(rig: Rig) -> None:
    with pytest.raises(NeedsLink) as caught:
        await rig.service.access_token(1001, Provider.GAME)
    assert caught.value.providers == ["game"] and "/link game" in caught.value.message


async def test_unlink_erases_tokens_at_once(rig: Rig) -> None:
    await linked_alice(rig)
    bob = rig.sanctions.add_player("Bob", identities={"Steam": "s-1"})
    await rig.link_game(1001, bob, GamePlatform.STEAM)
    before = await rig.store.links.get(1001, Provider.BUNGIE)
    assert before is not None and before.tokens is not None

    removed = await rig.service.unlink(1001, "bungie")

    assert [r.provider for r in removed] == [Provider.BUNGIE]
    assert await rig.store.links.get(1001, Provider.BUNGIE) is None
    assert await rig.store.links.get(1001, Provider.GAME) is not None
    with pytest.raises(NeedsLink):
        await rig.service.access_token(1001, Provider.BUNGIE)
    [entry] = await rig.audit("link.removed")
    assert entry.details == {"provider": "bungie", "account_id": removed[0].account_id}
    sealed = await rig.db.fetch_all("SELECT access_token, refresh_token FROM account_links")
    assert len(sealed) == 1  # only the game link's tokens remain
    # Not even the sealed bytes linger in the file's free space.
    await rig.db.writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = rig.raw_database()
    assert before.tokens.access_token not in raw
    assert before.tokens.refresh_token is not None and before.tokens.refresh_token not in raw

    removed = await rig.service.unlink(1001, "all")
    assert [r.provider for r in removed] == [Provider.GAME]
    assert await rig.db.fetch_value("SELECT COUNT(*) FROM account_links") == 0
    assert await rig.service.unlink(1001, "all") == []
    with pytest.raises(InvalidInput):
        await rig.service.unlink(1001, "everything")


async def test_a_refresh_racing_an_unlink_does_not_resurrect_the_link(rig: Rig) -> None:
    await linked_alice(rig)
    rig.clock.advance(3600)
    rig.bungie.inject("slow", path=TOKEN_PATH, delay=0.3, landed=True)
    refreshing = asyncio.create_task(rig.service.access_token(1001, Provider.BUNGIE))
    await asyncio.sleep(0.1)
    await rig.service.unlink(1001, "bungie")
    with pytest.raises(NeedsLink):
        await refreshing
    assert await rig.db.fetch_value("SELECT COUNT(*) FROM account_links") == 0


async def test_offer_reports_closed_dms_and_still_returns_the_link(tmp_path: Path) -> None:
    notifier = RecordingNotifier(outcome=DmOutcome.DMS_CLOSED)
    async with open_rig(tmp_path, notifier=notifier) as rig:
        offer = await rig.service.offer_link(1001, Provider.BUNGIE, discord_name="@alice")
        assert offer.dm is DmOutcome.DMS_CLOSED
        assert offer.url.startswith(f"{rig.base_url}/oauth/bungie/start?t=")
        [(user, notice)] = notifier.sent
        assert user == 1001 and notice.buttons[0].url == offer.url


async def test_an_unconfigured_provider_is_named(tmp_path: Path) -> None:
    async with open_rig(tmp_path, providers=(Provider.BUNGIE,)) as rig:
        with pytest.raises(UserFacingError, match="game account is not set up"):
            await rig.service.offer_link(1001, Provider.GAME, GamePlatform.STEAM,
                                         discord_name="@alice")
        assert await rig.service.relink_buttons(1001, ["game"], discord_name="@alice") == []


async def test_game_link_needs_a_platform(rig: Rig) -> None:
    with pytest.raises(InvalidInput):
        await rig.service.offer_link(1001, Provider.GAME, discord_name="@alice")


async def test_rekey_reencrypts_every_token_under_the_first_key(rig: Rig) -> None:
    await linked_alice(rig)
    bob = rig.sanctions.add_player("Bob", identities={"Steam": "s-1"})
    await rig.link_game(1001, bob, GamePlatform.STEAM)
    bungie_token = await rig.service.access_token(1001, Provider.BUNGIE)
    new_key = generate_key()

    count = await rig.store.links.rekey(TokenBox([new_key, rig.key]).rotate)

    assert count == 4  # access and refresh token of both links
    only_new, only_old = TokenBox([new_key]), TokenBox([rig.key])
    link = await rig.store.links.get(1001, Provider.BUNGIE)
    assert link is not None and link.tokens is not None
    assert only_new.open(link.tokens.access_token) == bungie_token
    with pytest.raises(TokenDecryptError):
        only_old.open(link.tokens.access_token)
    [entry] = await rig.audit("tokens.rekeyed")
    assert entry.details == {"links": 2, "tokens": 4}


async def test_rekey_with_a_missing_old_key_changes_nothing(rig: Rig) -> None:
    await linked_alice(rig)
    before = await rig.db.fetch_all("SELECT access_token, refresh_token FROM account_links")
    with pytest.raises(TokenDecryptError):
        await rig.store.links.rekey(TokenBox([generate_key()]).rotate)
    after = await rig.db.fetch_all("SELECT access_token, refresh_token FROM account_links")
    assert [tuple(r) for r in before] == [tuple(r) for r in after]
    assert await rig.audit("tokens.rekeyed") == []
