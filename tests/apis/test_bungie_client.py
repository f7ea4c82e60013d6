"""The Bungie client against the local stand-in: every operation and error path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.apis.bungie.client import BungieClient
from bot.apis.errors import (
    AmbiguousSend,
    AuthError,
    AuthExpired,
    InvalidRequest,
    Maintenance,
    MissingPermission,
    NotFound,
    PrivacyRestricted,
    Throttled,
    Unavailable,
)
from bot.apis.http import build_http_client
from bot.apis.pacing import Limiter
from bot.apis.retry import RetryPolicy
from tests.standins.bungie import BungieStandin

PGCR = "/PostGameCarnageReport/"
REPORT = "/Report/"
CHEATING, HACKING = 1851805954, 2352608786


class FakeTime:
    """Shared by the limiter and the retry loop, so waits cost no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


class CountingLimiter(Limiter):
    def __init__(self, fake: FakeTime) -> None:
        super().__init__(clock=fake.clock, sleep=fake.sleep)
        self.acquired = 0

    async def acquire(self, *, urgent: bool = False) -> None:
        self.acquired += 1
        await super().acquire(urgent=urgent)


@pytest.fixture
async def bungie() -> AsyncIterator[BungieStandin]:
    async with BungieStandin() as standin:
        yield standin


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = build_http_client(connect_timeout=2, read_timeout=0.3, user_agent="warden-test")
    async with client:
        yield client


POLICY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, total_budget=60)


def make_client(bungie: BungieStandin, http: httpx.AsyncClient, fake: FakeTime,
                **overrides: Any) -> BungieClient:
    kwargs: dict[str, Any] = {
        **bungie.client_kwargs(), "limiter": CountingLimiter(fake), "policy": POLICY,
        "sleep": fake.sleep, "clock": fake.clock,
    }
    kwargs.update(overrides)
    return BungieClient(http, **kwargs)


@pytest.fixture
def client(bungie: BungieStandin, http: httpx.AsyncClient, fake: FakeTime) -> BungieClient:
    return make_client(bungie, http, fake)


@pytest.fixture
def game(bungie: BungieStandin) -> dict[str, Any]:
    alice = bungie.add_account("Alice", 1234, characters=3)
    bob = bungie.add_account("Bob", 42)
    carol = bungie.add_account("Carol", 7)
    activity = bungie.add_pgcr([alice, bob])
    return {"alice": alice, "bob": bob, "carol": carol, "activity": activity,
            "token": bungie.issue_tokens(alice).access_token}


# ---- reads ---------------------------------------------------------------------------------

async def test_get_pgcr(client: BungieClient, bungie: BungieStandin, game: dict[str, Any]) -> None:
    pgcr = await client.get_pgcr(game["activity"])
    assert pgcr.activity_id == game["activity"]
    assert pgcr.activity_details.mode == 84
    assert pgcr.activity_details.director_activity_hash == 588019350
    assert [e.membership_id for e in pgcr.entries] == [
        game["alice"].membership_id, game["bob"].membership_id]
    assert pgcr.entries[1].character_id == game["bob"].character_id
    assert pgcr.entries[1].bungie_name == "Bob#0042"
    sent = bungie.requests_to(PGCR)[0]
    assert sent.headers["x-api-key"] == bungie.api_key
    assert "authorization" not in sent.headers


async def test_unknown_and_private_pgcrs(client: BungieClient, bungie: BungieStandin,
                                         game: dict[str, Any]) -> None:
    with pytest.raises(NotFound) as info:
        await client.get_pgcr(1)
    assert info.value.code == "1653"
    private = bungie.add_pgcr([game["alice"]], private=True)
    with pytest.raises(PrivacyRestricted):
        await client.get_pgcr(private)
    assert len(bungie.requests_to(PGCR)) == 2  # neither is retried


async def test_memberships_for_current_user(client: BungieClient, bungie: BungieStandin,
                                            game: dict[str, Any]) -> None:
    me = await client.get_memberships_for_current_user(game["token"])
    alice = game["alice"]
    assert me.bungie_net_membership_id == alice.bnet_id
    assert me.bungie_net_display_name == "Alice#1234"
    assert me.primary_membership_id is None
    [membership] = me.destiny_memberships
    assert (membership.membership_id, membership.membership_type) == (alice.membership_id, 3)
    assert membership.bungie_global_display_name == "Alice"
    assert membership.bungie_global_display_name_code == 1234
    assert me.primary() == membership
    assert bungie.requests_to("GetMembershipsForCurrentUser")[0].headers["authorization"] == (
        f"Bearer {game['token']}")


async def test_cross_save_primary(client: BungieClient, bungie: BungieStandin) -> None:
    dave = bungie.add_account("Dave", 5, membership_type=3, extra_membership_types=[1, 2])
    me = await client.get_memberships_for_current_user(bungie.issue_tokens(dave).access_token)
    assert me.primary_membership_id == dave.membership_id
    assert len(me.destiny_memberships) == 3
    primary = me.primary()
    assert primary is not None and primary.membership_id == dave.membership_id


async def test_user_calls_need_a_valid_token(client: BungieClient, bungie: BungieStandin,
                                             game: dict[str, Any]) -> None:
    with pytest.raises(AuthExpired) as info:
        await client.get_memberships_for_current_user("not-a-token")
    assert info.value.code == "99"
    bungie.expire_access_tokens(game["alice"])
    with pytest.raises(AuthExpired) as info:
        await client.get_memberships_for_current_user(game["token"])
    assert info.value.code == "2111"
    assert "not-a-token" not in str(info.value) and game["token"] not in str(info.value)


async def test_search_by_bungie_name(client: BungieClient, bungie: BungieStandin,
                                     game: dict[str, Any]) -> None:
    [found] = await client.search_player_by_bungie_name("bob", 42)
    assert found.membership_id == game["bob"].membership_id
    assert found.bungie_name == "Bob#0042"
    assert await client.search_player_by_bungie_name("Bob", 43) == []
    sent = bungie.requests_to("SearchDestinyPlayerByBungieName")[0]
    assert sent.path.endswith("/SearchDestinyPlayerByBungieName/-1/")
    assert sent.json == {"displayName": "bob", "displayNameCode": 42}


async def test_search_hides_cross_save_overridden_memberships(
    client: BungieClient, bungie: BungieStandin
) -> None:
    dave = bungie.add_account("Dave", 5, membership_type=3, extra_membership_types=[2])
    found = await client.search_player_by_bungie_name("Dave", 5)
    assert [m.membership_id for m in found] == [dave.membership_id]


async def test_profile_characters(client: BungieClient, bungie: BungieStandin,
                                  game: dict[str, Any]) -> None:
    alice = game["alice"]
    characters = await client.get_profile_characters(3, alice.membership_id)
    assert sorted(c.character_id for c in characters) == sorted(alice.membership.character_ids)
    assert {c.membership_id for c in characters} == {alice.membership_id}
    assert bungie.requests_to("/Profile/")[0].query == {"components": "200"}
    with pytest.raises(NotFound):
        await client.get_profile_characters(3, 1)


async def test_activity_history(client: BungieClient, bungie: BungieStandin,
                                game: dict[str, Any]) -> None:
    alice, bob = game["alice"], game["bob"]
    second = bungie.add_pgcr([alice, game["carol"]], mode=5)
    rows = await client.get_activity_history(3, alice.membership_id, alice.character_id,
                                             count=10)
    assert [r.instance_id for r in rows] == [game["activity"], second]  # newest first
    assert rows[0].mode == 84 and rows[0].director_activity_hash == 588019350
    assert rows[0].period > rows[1].period
    only_mode = await client.get_activity_history(3, alice.membership_id, alice.character_id,
                                                  mode=5, page=0)
    assert [r.instance_id for r in only_mode] == [second]
    assert await client.get_activity_history(3, alice.membership_id, alice.character_id,
                                             count=10, page=5) == []
    assert bungie.requests_to("/Stats/Activities/")[0].query == {"count": "10", "page": "0"}
    with pytest.raises(NotFound):
        await client.get_activity_history(3, alice.membership_id, bob.character_id)
    with pytest.raises(ValueError):
        await client.get_activity_history(3, 1, 2, count=251)


async def test_manifest(client: BungieClient, bungie: BungieStandin) -> None:
    assert await client.get_manifest_version() == "standin.1"
    cheating = await client.get_manifest_entity("DestinyReportReasonCategoryDefinition",
                                                CHEATING)
    assert cheating["displayProperties"]["name"] == "Cheating"
    with pytest.raises(NotFound):
        await client.get_manifest_entity("DestinyReportReasonCategoryDefinition", 1)
    with pytest.raises(ValueError):
        await client.get_manifest_entity("../User", 1)


async def test_wrong_api_key(bungie: BungieStandin, http: httpx.AsyncClient,
                             fake: FakeTime) -> None:
    client = make_client(bungie, http, fake, api_key="wrong-key-value")
    with pytest.raises(AuthError) as info:
        await client.get_manifest_version()
    assert info.value.code == "2101"
    assert "wrong-key-value" not in str(info.value)
    assert len(bungie.requests) == 1  # not retried


# ---- reporting -------------------------------------------------------------------------------

async def test_report_is_sent_with_the_right_body(client: BungieClient, bungie: BungieStandin,
                                                  game: dict[str, Any]) -> None:
    await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                               reason_hash=HACKING,
                               offending_character_id=game["bob"].character_id)
    [report] = bungie.reports
    assert report.reporter is game["alice"]
    assert report.activity_id == game["activity"]
    assert report.body == {"reasonCategoryHashes": [CHEATING], "reasonHashes": [HACKING],
                           "offendingCharacterId": game["bob"].character_id}
    sent = bungie.requests_to(REPORT)[0]
    assert sent.method == "POST"
    assert sent.headers["authorization"] == f"Bearer {game['token']}"
    assert sent.headers["x-api-key"] == bungie.api_key
    assert sent.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("who", "offender", "code"),
    [
        ("carol", "bob", "2701"),  # reporter not in the PGCR
        ("alice", "carol", "2700"),  # offender not in the PGCR
        ("alice", "alice", "2703"),  # reporting yourself
    ],
)
async def test_report_checks(client: BungieClient, bungie: BungieStandin, game: dict[str, Any],
                             who: str, offender: str, code: str) -> None:
    token = bungie.issue_tokens(game[who]).access_token
    with pytest.raises(InvalidRequest) as info:
        await client.report_player(token, game["activity"], category_hash=CHEATING,
                                   reason_hash=HACKING,
                                   offending_character_id=game[offender].character_id)
    assert info.value.code == code
    assert bungie.report_count == 0
    assert len(bungie.requests_to(REPORT)) == 1


async def test_report_on_unknown_pgcr(client: BungieClient, bungie: BungieStandin,
                                      game: dict[str, Any]) -> None:
    with pytest.raises(NotFound):
        await client.report_player(game["token"], 999, category_hash=CHEATING,
                                   reason_hash=HACKING,
                                   offending_character_id=game["bob"].character_id)


async def test_report_without_bnetwrite_scope(client: BungieClient, bungie: BungieStandin,
                                              game: dict[str, Any]) -> None:
    bungie.grant_bnet_write = False
    with pytest.raises(MissingPermission) as info:
        await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                                   reason_hash=HACKING,
                                   offending_character_id=game["bob"].character_id)
    assert info.value.code == "2108"
    assert bungie.report_count == 0


async def test_report_with_a_reason_outside_its_category(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any]
) -> None:
    afk = 1310746887  # an Inactivity reason, not a Cheating one
    with pytest.raises(InvalidRequest) as info:
        await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                                   reason_hash=afk,
                                   offending_character_id=game["bob"].character_id)
    assert info.value.code == "18"


async def test_report_submission_failed(client: BungieClient, bungie: BungieStandin,
                                        game: dict[str, Any]) -> None:
    bungie.inject("error_code", error_code=2702, status=500, path=REPORT)
    with pytest.raises(InvalidRequest) as info:
        await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                                   reason_hash=HACKING,
                                   offending_character_id=game["bob"].character_id)
    assert info.value.code == "2702"
    assert len(bungie.requests_to(REPORT)) == 1


# ---- faults, retries and pacing ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["throttle_429", "throttle"])
async def test_throttled_calls_wait_the_hint_and_succeed(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any], fake: FakeTime, kind: str
) -> None:
    bungie.inject(kind, count=2, path=PGCR, throttle_seconds=7)
    pgcr = await client.get_pgcr(game["activity"])
    assert pgcr.activity_id == game["activity"]
    assert fake.sleeps == [7, 7]
    assert len(bungie.requests_to(PGCR)) == 3


async def test_throttle_hint_of_zero_still_waits_a_second(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any], fake: FakeTime
) -> None:
    bungie.inject("throttle", path=PGCR, throttle_seconds=0)
    await client.get_pgcr(game["activity"])
    assert fake.sleeps == [1]


async def test_a_throttle_holds_every_caller(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any], fake: FakeTime
) -> None:
    bungie.inject("throttle_429", path=PGCR, throttle_seconds=9)
    client_limiter = client._limiter
    await client.get_pgcr(game["activity"])
    before = fake.now
    client_limiter.hold(4)  # a sibling's throttle
    await client.get_manifest_version()
    assert fake.now == pytest.approx(before + 4)


async def test_a_throttle_past_the_budget_is_raised(
    bungie: BungieStandin, http: httpx.AsyncClient, fake: FakeTime, game: dict[str, Any]
) -> None:
    client = make_client(bungie, http, fake, policy=RetryPolicy(total_budget=30))
    bungie.inject("throttle", path=PGCR, throttle_seconds=120)
    with pytest.raises(Throttled) as info:
        await client.get_pgcr(game["activity"])
    assert info.value.retry_after == 120
    assert fake.sleeps == []


async def test_retries_stop_at_max_attempts(client: BungieClient, bungie: BungieStandin,
                                            game: dict[str, Any], fake: FakeTime) -> None:
    bungie.inject("server_error", count=10, path=PGCR, status=503)
    with pytest.raises(Unavailable) as info:
        await client.get_pgcr(game["activity"])
    assert info.value.status == 503
    assert len(bungie.requests_to(PGCR)) == POLICY.max_attempts
    assert len(fake.sleeps) == POLICY.max_attempts - 1


async def test_transient_5xx_is_retried_to_success(client: BungieClient, bungie: BungieStandin,
                                                   game: dict[str, Any]) -> None:
    bungie.inject("server_error", count=2, path=PGCR, status=500)
    assert (await client.get_pgcr(game["activity"])).activity_id == game["activity"]
    assert len(bungie.requests_to(PGCR)) == 3


async def test_html_body_is_unavailable(client: BungieClient, bungie: BungieStandin,
                                        game: dict[str, Any]) -> None:
    bungie.inject("html", count=5, path=PGCR)
    with pytest.raises(Unavailable) as info:
        await client.get_pgcr(game["activity"])
    assert type(info.value) is Unavailable
    assert "not JSON" in str(info.value)


async def test_maintenance(client: BungieClient, bungie: BungieStandin,
                           game: dict[str, Any]) -> None:
    bungie.inject("maintenance", count=5)
    with pytest.raises(Maintenance) as info:
        await client.get_pgcr(game["activity"])
    assert info.value.code == "5"
    assert len(bungie.requests_to(PGCR)) == POLICY.max_attempts


async def test_dropped_get_is_retried(client: BungieClient, bungie: BungieStandin,
                                      game: dict[str, Any]) -> None:
    bungie.inject("drop", path=PGCR)
    assert (await client.get_pgcr(game["activity"])).activity_id == game["activity"]
    assert len(bungie.requests_to(PGCR)) == 2


async def test_slow_get_past_the_timeout_is_retried(client: BungieClient,
                                                    bungie: BungieStandin,
                                                    game: dict[str, Any]) -> None:
    bungie.inject("slow", path=PGCR, delay=2.0)
    assert (await client.get_pgcr(game["activity"])).activity_id == game["activity"]
    assert len(bungie.requests_to(PGCR)) == 2


@pytest.mark.parametrize("landed", [False, True])
async def test_dropped_report_is_ambiguous_and_not_resent(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any], landed: bool
) -> None:
    bungie.inject("drop", path=REPORT, landed=landed)
    with pytest.raises(AmbiguousSend):
        await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                                   reason_hash=HACKING,
                                   offending_character_id=game["bob"].character_id)
    assert len(bungie.requests_to(REPORT)) == 1
    assert bungie.report_count == (1 if landed else 0)


async def test_slow_report_is_ambiguous_and_not_resent(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any]
) -> None:
    bungie.inject("slow", path=REPORT, delay=2.0, landed=True)
    with pytest.raises(AmbiguousSend):
        await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                                   reason_hash=HACKING,
                                   offending_character_id=game["bob"].character_id)
    assert len(bungie.requests_to(REPORT)) == 1
    assert bungie.report_count == 1


async def test_report_gateway_timeout_is_ambiguous(client: BungieClient,
                                                   bungie: BungieStandin,
                                                   game: dict[str, Any]) -> None:
    bungie.inject("server_error", path=REPORT, status=504)
    with pytest.raises(AmbiguousSend):
        await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                                   reason_hash=HACKING,
                                   offending_character_id=game["bob"].character_id)
    assert len(bungie.requests_to(REPORT)) == 1


async def test_throttled_report_is_resent_after_the_wait(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any], fake: FakeTime
) -> None:
    # A throttle answer means Bungie did not act, so sending again is safe.
    bungie.inject("throttle_429", path=REPORT, throttle_seconds=3)
    await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                               reason_hash=HACKING,
                               offending_character_id=game["bob"].character_id)
    assert fake.sleeps == [3]
    assert bungie.report_count == 1


async def test_connection_refused_is_unavailable(http: httpx.AsyncClient, fake: FakeTime,
                                                 bungie: BungieStandin) -> None:
    dead = BungieStandin()
    await dead.start()
    base = dead.api_base_url
    await dead.close()
    client = make_client(bungie, http, fake, api_base_url=base, stats_base_url=base)
    with pytest.raises(Unavailable):
        await client.get_manifest_version()


async def test_every_request_goes_through_the_limiter(
    client: BungieClient, bungie: BungieStandin, game: dict[str, Any]
) -> None:
    bungie.inject("server_error", path=PGCR)
    await client.get_pgcr(game["activity"])
    await client.get_manifest_version()
    await client.search_player_by_bungie_name("Bob", 42)
    await client.report_player(game["token"], game["activity"], category_hash=CHEATING,
                               reason_hash=HACKING,
                               offending_character_id=game["bob"].character_id)
    limiter = client._limiter
    assert isinstance(limiter, CountingLimiter)
    assert limiter.acquired == len(bungie.requests) == 5


async def test_pacing_under_a_burst(bungie: BungieStandin, http: httpx.AsyncClient,
                                    fake: FakeTime, game: dict[str, Any]) -> None:
    # 300 look-ups at once: the first 250 go straight out, the rest wait for the window.
    client = make_client(bungie, http, fake)
    await asyncio.gather(*(client.get_manifest_version() for _ in range(300)))
    assert len(bungie.requests) == 300
    assert fake.now >= 1000.0 + 10.0


async def test_secrets_never_reach_the_logs(client: BungieClient, bungie: BungieStandin,
                                            game: dict[str, Any],
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    bungie.inject("server_error", count=2, path="GetMemberships")
    await client.get_memberships_for_current_user(game["token"])
    text = caplog.text
    assert "retrying" in text
    assert game["token"] not in text and bungie.api_key not in text
