"""Sanctions client under failure: throttles and outages are waited out within bounds,
and a report whose answer was lost is found upstream instead of being sent twice."""

from __future__ import annotations

import httpx
import pytest

from bot.apis.errors import AmbiguousSend, MissingPermission, Throttled, Unavailable
from bot.apis.http import build_http_client
from bot.apis.retry import RetryPolicy
from bot.apis.sanctions import (
    WARDEN_REPORT_ID_KEY,
    CreateReport,
    LookupPlatform,
    SanctionsClient,
)
from bot.domain import Reason
from tests.standins.sanctions import (
    ME_SENT_REPORTS_ROUTE,
    PLATFORM_USER_ROUTE,
    PLAYER_ID_ROUTE,
    REPORTS_ROUTE,
    SENT_REPORTS_ROUTE,
    FakeTime,
    Player,
    SanctionsStandin,
    client_for,
)


def report(source: Player | None, warden_id: str | None = "w-1") -> CreateReport:
    custom = {} if warden_id is None else {WARDEN_REPORT_ID_KEY: warden_id}
    return CreateReport(
        reason=Reason.HARASSMENT,
        description="spam in chat",
        source_player_uuid=None if source is None else source.uuid,
        custom_data=custom,
    )


# ---- waiting out throttles and outages ---------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [("throttle", 429), ("unavailable", 503)])
async def test_retry_after_is_honoured_then_succeeds(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
    kind: str,
    status: int,
) -> None:
    standin.inject(kind, count=2, method="POST", path=REPORTS_ROUTE, retry_after=7)
    result = await client.create_report(bob.uuid, report(alice))
    assert result.warden_report_id == "w-1"
    assert fake_time.sleeps == [7.0, 7.0]
    assert [r.status for r in standin.requests_to(REPORTS_ROUTE, "POST")] == [status, status, 200]
    assert standin.report_count == 1


async def test_throttle_without_retry_after_waits_a_default(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("throttle", method="POST", path=REPORTS_ROUTE)
    await client.create_report(bob.uuid, report(alice))
    assert fake_time.sleeps == [1.0]


async def test_retry_after_as_http_date(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("unavailable", path=REPORTS_ROUTE, retry_after="Thu, 01 Jan 2015 00:00:00 GMT")
    await client.create_report(bob.uuid, report(alice))
    assert len(fake_time.sleeps) == 1 and fake_time.sleeps[0] <= 4.0  # past date: backoff only


@pytest.mark.parametrize("kind", ["server_error", "html"])
async def test_reads_retry_5xx_and_html(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
    kind: str,
) -> None:
    standin.inject(kind, count=2, method="GET", path=SENT_REPORTS_ROUTE)
    page = await client.list_sent_reports(alice.uuid)
    assert page.reports == []
    assert len(fake_time.sleeps) == 2
    assert standin.count("GET", SENT_REPORTS_ROUTE) == 3


async def test_service_token_endpoint_outage_is_retried(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("unavailable", path="/users/v2/oauth/token", retry_after=2)
    await client.create_report(bob.uuid, report(alice))
    assert fake_time.sleeps == [2.0]
    assert standin.service_token_requests == 2
    assert standin.report_count == 1


async def test_retries_stop_at_max_attempts(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("unavailable", count=10, method="POST", path=REPORTS_ROUTE, retry_after=1)
    with pytest.raises(Unavailable) as caught:
        await client.create_report(bob.uuid, report(alice))
    assert not isinstance(caught.value, AmbiguousSend)  # a 503 certainly did not land
    assert caught.value.retry_after == 1.0
    assert standin.count("POST", REPORTS_ROUTE) == 4  # the policy's max_attempts
    assert len(fake_time.sleeps) == 3
    assert standin.report_count == 0


async def test_retries_stop_at_the_time_budget(
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
) -> None:
    client = client_for(
        standin, http, fake_time, policy=RetryPolicy(max_attempts=10, total_budget=30.0)
    )
    standin.inject("throttle", count=10, method="POST", path=REPORTS_ROUTE, retry_after=3600)
    with pytest.raises(Throttled) as caught:
        await client.create_report(bob.uuid, report(alice))
    assert caught.value.retry_after == 3600.0  # the caller can schedule the retry itself
    assert fake_time.sleeps == []
    assert standin.count("POST", REPORTS_ROUTE) == 1


# ---- the ambiguous case ------------------------------------------------------------------


async def test_dropped_answer_is_reconciled_not_resent(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("drop", method="POST", path=REPORTS_ROUTE)
    result = await client.create_report(bob.uuid, report(alice, "w-dropped"))
    (landed,) = standin.reports_with_warden_id("w-dropped")
    assert result.report_id == landed["report_id"]
    assert standin.count("POST", REPORTS_ROUTE) == 1
    assert standin.count("GET", SENT_REPORTS_ROUTE) == 1
    assert standin.report_count == 1


async def test_dropped_answer_with_player_token_checks_me(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    tokens = standin.issue_tokens(alice)
    standin.inject("drop", method="POST", path=REPORTS_ROUTE)
    result = await client.create_report(
        bob.uuid, report(None, "w-mine"), player_token=tokens.access_token
    )
    assert [r["report_id"] for r in standin.reports_with_warden_id("w-mine")] == [result.report_id]
    assert standin.count("GET", ME_SENT_REPORTS_ROUTE) == 1
    assert standin.count("POST", REPORTS_ROUTE) == 1


async def test_drop_that_did_not_land_is_sent_again(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("drop", method="POST", path=REPORTS_ROUTE, landed=False)
    result = await client.create_report(bob.uuid, report(alice, "w-lost"))
    assert [r["report_id"] for r in standin.reports_with_warden_id("w-lost")] == [result.report_id]
    assert standin.count("POST", REPORTS_ROUTE) == 2


async def test_answer_slower_than_the_timeout_is_reconciled(
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
    bob: Player,
) -> None:
    async with build_http_client(
        connect_timeout=2, read_timeout=0.3, user_agent="warden-tests"
    ) as impatient:
        client = client_for(standin, impatient, fake_time)
        await client.lookup_players_by_display_name("warm-up")  # token fetched up front
        standin.inject("slow", method="POST", path=REPORTS_ROUTE, delay=1.0, landed=True)
        result = await client.create_report(bob.uuid, report(alice, "w-slow"))
    assert [r["report_id"] for r in standin.reports_with_warden_id("w-slow")] == [result.report_id]
    assert standin.count("POST", REPORTS_ROUTE) == 1


async def test_500_on_create_is_checked_before_resending(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    # A 500 may come after the write; the stand-in's did not write, so one resend.
    standin.inject("server_error", method="POST", path=REPORTS_ROUTE)
    await client.create_report(bob.uuid, report(alice, "w-500"))
    assert len(standin.reports_with_warden_id("w-500")) == 1
    assert standin.count("GET", SENT_REPORTS_ROUTE) == 1
    assert standin.count("POST", REPORTS_ROUTE) == 2


async def test_drop_without_warden_id_is_not_resent(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("drop", method="POST", path=REPORTS_ROUTE)
    with pytest.raises(AmbiguousSend):
        await client.create_report(bob.uuid, report(alice, None))
    assert standin.count("POST", REPORTS_ROUTE) == 1
    assert standin.report_count == 1


async def test_unverifiable_drop_stays_ambiguous(
    http: httpx.AsyncClient,
    fake_time: FakeTime,
) -> None:
    # Without read permission the check cannot be made; the report must not be resent.
    async with SanctionsStandin(service_permissions=["sanction:report:create:any"]) as rh:
        alice, bob = rh.add_player("Alice"), rh.add_player("Bob")
        client = client_for(rh, http, fake_time)
        rh.inject("drop", method="POST", path=REPORTS_ROUTE)
        with pytest.raises(AmbiguousSend) as caught:
            await client.create_report(bob.uuid, report(alice, "w-blind"))
    assert "insufficient" in str(caught.value).lower()
    assert rh.count("POST", REPORTS_ROUTE) == 1
    assert len(rh.reports_with_warden_id("w-blind")) == 1


async def test_reconcile_outage_exhausts_retries_as_ambiguous(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("drop", method="POST", path=REPORTS_ROUTE)
    standin.inject("unavailable", count=10, method="GET", path=SENT_REPORTS_ROUTE)
    with pytest.raises(AmbiguousSend):
        await client.create_report(bob.uuid, report(alice, "w-unknown"))
    assert standin.count("POST", REPORTS_ROUTE) == 1
    assert standin.count("GET", SENT_REPORTS_ROUTE) == 3  # attempts 2..4 each checked
    assert standin.report_count == 1


async def test_find_sent_report_after_a_crash(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    # The delivery worker's path: it crashed between sending and recording.
    standin.inject("drop", method="POST", path=REPORTS_ROUTE)
    with pytest.raises(AmbiguousSend):
        await client.create_report(bob.uuid, report(alice, None))
    await client.create_report(bob.uuid, report(alice, "w-crash"))
    found = await client.find_sent_report(alice.uuid, "w-crash")
    assert found is not None
    assert found.report_id == standin.reports_with_warden_id("w-crash")[0]["report_id"]


async def test_lost_token_answer_is_a_plain_outage(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    # Asking for a token twice is harmless: no check of sent reports, no ambiguity.
    standin.inject("drop", path="/users/v2/oauth/token")
    await client.create_report(bob.uuid, report(alice, "w-token"))
    assert standin.service_token_requests == 2
    assert standin.count("GET", SENT_REPORTS_ROUTE) == 0
    assert standin.count("POST", REPORTS_ROUTE) == 1


# ---- player look-ups ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["throttle", "unavailable", "server_error"])
async def test_player_lookups_ride_out_faults(
    client: SanctionsClient, standin: SanctionsStandin, kind: str
) -> None:
    carol = standin.add_player("Carol", identities={"Discord": "777"})
    standin.inject(kind, path=PLAYER_ID_ROUTE, retry_after=1)
    standin.inject(kind, path=PLATFORM_USER_ROUTE, retry_after=1)
    assert await client.get_player_id(carol.uuid) == carol.player_id
    found = await client.find_platform_user(LookupPlatform.DISCORD, "777")
    assert found is not None and found.player_uuid == carol.uuid
    assert standin.count("GET", PLAYER_ID_ROUTE) == standin.count("GET", PLATFORM_USER_ROUTE) == 2


async def test_discord_lookup_without_the_permission_is_refused(
    http: httpx.AsyncClient, fake_time: FakeTime
) -> None:
    async with SanctionsStandin(service_permissions=["sanction:report:create:any"]) as rh:
        rh.add_player("Carol", identities={"Discord": "777"})
        with pytest.raises(MissingPermission):
            await client_for(rh, http, fake_time).find_platform_user(LookupPlatform.DISCORD, "777")
