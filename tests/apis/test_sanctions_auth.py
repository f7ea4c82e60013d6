"""Sanctions client credentials: the shared service token, refusing-then-renewing,
the player OAuth web flow (login, exchange, refresh, me) and the permission probe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.apis.errors import AuthError, AuthExpired, AuthRevoked, InvalidRequest
from bot.apis.sanctions import WARDEN_REPORT_ID_KEY, CreateReport, SanctionsClient
from bot.domain import GamePlatform, Reason
from tests.standins.sanctions import (
    LOGIN_ROUTE,
    REPORTS_ROUTE,
    FakeTime,
    Player,
    SanctionsStandin,
    client_for,
)

CALLBACK = "https://warden.test/oauth/game/callback"


@pytest.fixture
async def standin() -> AsyncIterator[SanctionsStandin]:
    async with SanctionsStandin(redirect_uris=[CALLBACK]) as rh:
        yield rh








@pytest.fixture
def alice(standin: SanctionsStandin) -> Player:
    return standin.add_player("Alice", identities={"Steam": "7656-alice"})




def report(source: Player | None, warden_id: str = "w-1") -> CreateReport:
    return CreateReport(
        reason=Reason.AFK,
        source_player_uuid=None if source is None else source.uuid,
        custom_data={WARDEN_REPORT_ID_KEY: warden_id},
    )


# ---- service token -----------------------------------------------------------------------


async def test_concurrent_callers_share_one_token_request(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    results = await asyncio.gather(
        *(client.create_report(bob.uuid, report(alice, f"w-{i}")) for i in range(20))
    )
    assert len({r.report_id for r in results}) == 20
    assert standin.service_token_requests == 1


async def test_expired_token_is_renewed_once_for_concurrent_callers(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
) -> None:
    await client.lookup_players_by_display_name("Alice")
    fake_time.advance(3600)  # the stand-in's tokens live 3600 s
    await asyncio.gather(*(client.lookup_players_by_display_name("Alice") for _ in range(20)))
    assert standin.service_token_requests == 2


async def test_token_is_renewed_shortly_before_expiry(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
) -> None:
    await client.lookup_players_by_display_name("Alice")
    fake_time.advance(3600 - 61)
    await client.lookup_players_by_display_name("Alice")
    assert standin.service_token_requests == 1
    fake_time.advance(2)  # now inside the last minute
    await client.lookup_players_by_display_name("Alice")
    assert standin.service_token_requests == 2


@pytest.mark.parametrize("kind", ["expired", "unauthorized"])
async def test_refused_service_token_is_renewed_and_request_resent_once(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
    kind: str,
) -> None:
    await client.lookup_players_by_display_name("Alice")
    standin.inject(kind, method="POST", path=REPORTS_ROUTE)
    result = await client.create_report(bob.uuid, report(alice))
    assert standin.service_token_requests == 2
    posts = standin.requests_to(REPORTS_ROUTE, "POST")
    assert [p.status for p in posts] == [403 if kind == "expired" else 401, 200]
    assert posts[0].headers["authorization"] != posts[1].headers["authorization"]
    assert [r["report_id"] for r in standin.reports] == [result.report_id]


async def test_server_side_expiry_is_renewed(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
) -> None:
    await client.lookup_players_by_display_name("Alice")
    standin.expire_access_tokens(service=True)
    assert await client.lookup_players_by_display_name("Alice")
    assert standin.service_token_requests == 2


async def test_second_refusal_is_final(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    standin.inject("expired", count=5, method="POST", path=REPORTS_ROUTE)
    with pytest.raises(AuthExpired) as caught:
        await client.create_report(bob.uuid, report(alice))
    assert caught.value.code == "auth_token_expired"
    assert standin.count("POST", REPORTS_ROUTE) == 2
    assert standin.service_token_requests == 2
    assert standin.report_count == 0


async def test_expired_player_token_is_the_callers_to_refresh(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
) -> None:
    tokens = standin.issue_tokens(alice)
    standin.expire_access_tokens(alice)
    with pytest.raises(AuthExpired):
        await client.create_report(bob.uuid, report(None), player_token=tokens.access_token)
    assert standin.service_token_requests == 0
    assert standin.count("POST", REPORTS_ROUTE) == 1


async def test_wrong_client_secret(
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    fake_time: FakeTime,
    alice: Player,
) -> None:
    client = client_for(standin, http, fake_time)
    client._basic = "Basic " + "d3Jvbmc6d3Jvbmc="  # wrong:wrong
    with pytest.raises(AuthError) as caught:
        await client.lookup_players_by_display_name("Alice")
    assert not isinstance(caught.value, AuthExpired | AuthRevoked)
    assert caught.value.code == "client_credentials_invalid"
    assert "client credentials refused" in str(caught.value)
    assert standin.service_token_requests == 1  # configuration errors are not retried


# ---- player OAuth web flow ---------------------------------------------------------------


async def browser_login(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """What the member's browser does: follow the login page to Warden's callback."""
    response = await http.get(url)
    assert response.status_code == 307
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_full_link_flow(
    client: SanctionsClient,
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    alice: Player,
) -> None:
    standin.login_as(alice)
    url = client.authorize_url(GamePlatform.STEAM, CALLBACK, "st-123")
    assert url == (
        f"{standin.base_url}/users/v1/oauth/login/steam?"
        "redirect_uri=https%3A%2F%2Fwarden.test%2Foauth%2Fgame%2Fcallback&state=st-123"
    )
    callback = client.parse_callback(await browser_login(http, url))
    assert callback.state == "st-123"

    tokens = await client.exchange_code(callback.code, CALLBACK)
    assert tokens.refresh_token and tokens.access_token
    assert tokens.expires_at is not None and tokens.expires_at > datetime.now(UTC)
    assert tokens.access_token not in repr(tokens)
    (exchange,) = standin.requests_to("/users/v1/oauth/token", "POST")
    assert exchange.headers["authorization"].startswith("Basic ")
    assert exchange.json == {"grant_type": "authorization_code", "code": callback.code}

    assert await client.get_my_player_uuid(tokens.access_token) == alice.uuid
    profile = await client.get_my_profile(tokens.access_token)
    assert profile.player_uuid == alice.uuid and profile.display_name == "Alice"

    assert tokens.refresh_token is not None
    refreshed = await client.refresh_player(tokens.refresh_token)
    assert refreshed.refresh_token and refreshed.refresh_token != tokens.refresh_token
    assert refreshed.player_uuid == alice.uuid and refreshed.display_name == "Alice"
    assert refreshed.expires_in == 3600
    (login,) = standin.requests_to(LOGIN_ROUTE, "POST")
    assert login.headers["authorization"].startswith("Basic ")
    assert login.json == {
        "grant_type": "refresh",
        "portal_access_token": tokens.refresh_token,
        "include_refresh": True,
    }
    assert await client.get_my_player_uuid(refreshed.access_token) == alice.uuid

    # Refresh tokens are single use.
    with pytest.raises(AuthRevoked) as caught:
        await client.refresh_player(tokens.refresh_token)
    assert caught.value.code == "refresh_token_not_found"
    assert tokens.refresh_token not in str(caught.value)


async def test_code_is_single_use(
    client: SanctionsClient,
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    alice: Player,
) -> None:
    standin.login_as(alice)
    params = await browser_login(http, client.authorize_url(GamePlatform.EPIC, CALLBACK, "s"))
    await client.exchange_code(params["code"])
    with pytest.raises(AuthRevoked) as caught:
        await client.exchange_code(params["code"])
    assert caught.value.code == "authorization_code_not_found"


async def test_unregistered_redirect_uri_is_refused(
    client: SanctionsClient,
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    alice: Player,
) -> None:
    standin.login_as(alice)
    evil = client.authorize_url(GamePlatform.STEAM, "https://evil.test/cb", "s")
    params = await browser_login(http, evil)  # lands on the registered URI, not evil.test
    assert "code" not in params
    with pytest.raises(AuthError) as caught:
        client.parse_callback(params)
    assert caught.value.code == "redirect_uri_does_not_match"
    assert "redirect URI" in str(caught.value)


@pytest.mark.parametrize("error_code", ["user_auth_restricted", "steam_user_vacbanned"])
async def test_login_error_is_reported(
    client: SanctionsClient,
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    alice: Player,
    error_code: str,
) -> None:
    standin.login_as(alice)
    standin.deny_next_login(error_code)
    params = await browser_login(http, client.authorize_url(GamePlatform.STEAM, CALLBACK, "s"))
    assert params["state"] == "s"
    with pytest.raises(AuthError) as caught:
        client.parse_callback(params)
    assert caught.value.code == error_code


async def test_unknown_player_cannot_log_in(
    client: SanctionsClient,
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
) -> None:
    standin.login_as(None)
    params = await browser_login(http, client.authorize_url(GamePlatform.XBOX, CALLBACK, "s"))
    with pytest.raises(AuthError) as caught:
        client.parse_callback(params)
    assert caught.value.code == "create_new_user_not_allowed"


async def test_player_needing_agreements(
    client: SanctionsClient,
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
) -> None:
    carol = standin.add_player("Carol", needs_agreements=True)
    standin.login_as(carol)
    params = await browser_login(http, client.authorize_url(GamePlatform.PSN, CALLBACK, "s"))
    with pytest.raises(AuthError) as caught:
        await client.exchange_code(params["code"])
    assert caught.value.code == "user_needs_agreements"


async def test_exchange_not_resent_after_lost_answer(
    client: SanctionsClient,
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    alice: Player,
) -> None:
    from bot.apis.errors import AmbiguousSend

    standin.login_as(alice)
    params = await browser_login(http, client.authorize_url(GamePlatform.STEAM, CALLBACK, "s"))
    standin.inject("drop", path="/users/v1/oauth/token")
    with pytest.raises(AmbiguousSend):
        await client.exchange_code(params["code"])
    assert standin.count("POST", "/users/v1/oauth/token") == 1


def test_authorize_url_checks_its_inputs(client: SanctionsClient) -> None:
    with pytest.raises(InvalidRequest) as caught:
        client.authorize_url(GamePlatform.STEAM, CALLBACK, "s" * 4097)
    assert caught.value.field == "state"
    with pytest.raises(ValueError, match="discord"):
        client.authorize_url("discord", CALLBACK, "s")  # type: ignore[arg-type]


def test_callback_without_code(client: SanctionsClient) -> None:
    with pytest.raises(AuthError):
        client.parse_callback({"state": "s"})


async def test_service_token_on_me_endpoint(
    client: SanctionsClient,
    standin: SanctionsStandin,
) -> None:
    await client.lookup_players_by_display_name("x")
    service = standin.requests_to("/users/v1/player")[0].headers["authorization"].split()[1]
    with pytest.raises(AuthError) as caught:
        await client.get_my_player_uuid(service)
    assert caught.value.code == "invalid_token_claims"
    assert service not in str(caught.value)


# ---- probe -------------------------------------------------------------------------------


async def test_probe_with_enough_permissions(client: SanctionsClient) -> None:
    result = await client.probe()
    assert result.ok
    assert result.can_report_for_players is True
    assert result.can_read_sent_reports is True
    assert result.permissions is not None
    assert "claims" in result.how
    assert any("obtained" in line for line in result.lines())


async def test_probe_wildcard(http: httpx.AsyncClient, fake_time: FakeTime) -> None:
    async with SanctionsStandin(service_permissions=["sanction:*"]) as rh:
        result = await client_for(rh, http, fake_time).probe()
    assert result.ok and result.can_report_for_players and result.can_read_sent_reports


async def test_probe_missing_permissions(http: httpx.AsyncClient, fake_time: FakeTime) -> None:
    async with SanctionsStandin(service_permissions=["sanction:report:create:self"]) as rh:
        result = await client_for(rh, http, fake_time).probe()
    assert not result.ok
    assert result.can_report_for_players is False
    assert result.can_read_sent_reports is False
    assert any("sanction:report:create:any" in p for p in result.problems)


async def test_probe_opaque_token_is_unknown(http: httpx.AsyncClient, fake_time: FakeTime) -> None:
    async with SanctionsStandin(opaque_tokens=True) as rh:
        result = await client_for(rh, http, fake_time).probe()
    assert result.token_obtained and result.ok
    assert result.can_report_for_players is None
    assert result.can_read_sent_reports is True  # learnt from a harmless read
    assert result.how.startswith("unknown")


async def test_probe_bad_credentials(
    standin: SanctionsStandin,
    http: httpx.AsyncClient,
    fake_time: FakeTime,
) -> None:
    client = client_for(standin, http, fake_time)
    client._basic = "Basic " + "d3Jvbmc6d3Jvbmc="
    result = await client.probe()
    assert not result.ok and not result.token_obtained
    assert "client credentials refused" in result.lines()[1]


async def test_refresh_not_resent_after_a_500(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
) -> None:
    from bot.apis.errors import AmbiguousSend

    tokens = standin.issue_tokens(alice)
    standin.inject("server_error", path=LOGIN_ROUTE)
    with pytest.raises(AmbiguousSend):
        await client.refresh_player(tokens.refresh_token)
    assert standin.count("POST", LOGIN_ROUTE) == 1
    # Here the 500 came before the work, so the same refresh token still works.
    assert (await client.refresh_player(tokens.refresh_token)).player_uuid == alice.uuid


async def test_refresh_outage_is_retried(
    client: SanctionsClient,
    standin: SanctionsStandin,
    fake_time: FakeTime,
    alice: Player,
) -> None:
    tokens = standin.issue_tokens(alice)
    standin.inject("unavailable", path=LOGIN_ROUTE, retry_after=5)
    refreshed = await client.refresh_player(tokens.refresh_token)
    assert refreshed.player_uuid == alice.uuid
    assert fake_time.sleeps == [5.0]
