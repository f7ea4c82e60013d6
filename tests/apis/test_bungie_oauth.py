"""Bungie OAuth: authorize URL, code exchange and single-use refresh tokens."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.apis.bungie.client import BungieClient
from bot.apis.errors import (
    AmbiguousSend,
    AuthError,
    AuthExpired,
    AuthRevoked,
    DestinationDisabled,
)
from bot.apis.http import build_http_client
from bot.apis.pacing import Limiter
from bot.apis.retry import RetryPolicy
from tests.standins.bungie import TOKEN_PATH, BungieStandin

POLICY = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, total_budget=10)


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client(connect_timeout=2, read_timeout=2,
                                 user_agent="warden-test") as client:
        yield client


def make_client(bungie: BungieStandin, http: httpx.AsyncClient, **overrides: Any) -> BungieClient:
    kwargs: dict[str, Any] = {**bungie.client_kwargs(), "limiter": Limiter(),
                              "policy": POLICY, "sleep": no_sleep}
    kwargs.update(overrides)
    return BungieClient(http, **kwargs)


@pytest.fixture
async def bungie() -> AsyncIterator[BungieStandin]:
    async with BungieStandin(redirect_url="https://warden.test/link/bungie") as standin:
        yield standin


async def browser_login(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Open the authorize URL like a logged-in browser and read the redirect back."""
    answer = await http.get(url)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://warden.test/link/bungie")
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_authorize_url_has_no_scope_and_no_redirect_uri() -> None:
    client = BungieClient(httpx.AsyncClient(), api_key="k", api_base_url="https://b/Platform",
                          stats_base_url="https://s/Platform", client_id="123",
                          client_secret=None, authorize_url="https://b/en/OAuth/Authorize",
                          token_url="https://b/Platform/App/OAuth/token/", limiter=Limiter())
    url = client.authorize_url("st@te/with&odd=chars")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://b/en/OAuth/Authorize"
    assert parse_qs(parts.query) == {"client_id": ["123"], "response_type": ["code"],
                                     "state": ["st@te/with&odd=chars"]}


def test_linking_needs_a_client_id() -> None:
    client = BungieClient(httpx.AsyncClient(), api_key="k", api_base_url="https://b/Platform",
                          stats_base_url="https://s/Platform", client_id=None,
                          client_secret=None, authorize_url="https://b/en/OAuth/Authorize",
                          token_url="https://b/Platform/App/OAuth/token/", limiter=Limiter())
    with pytest.raises(DestinationDisabled):
        client.authorize_url("s")


async def test_full_link_flow(bungie: BungieStandin, http: httpx.AsyncClient) -> None:
    alice = bungie.add_account("Alice", 1234)
    bungie.login_as(alice)
    client = make_client(bungie, http)

    back = await browser_login(http, client.authorize_url("state-1"))
    assert back["state"] == "state-1"
    tokens = await client.exchange_code(back["code"])

    assert tokens.membership_id == alice.bnet_id
    assert tokens.token_type == "Bearer"
    assert tokens.expires_in == 3600 and tokens.refresh_expires_in == 90 * 24 * 3600
    assert tokens.refresh_token
    me = await client.get_memberships_for_current_user(tokens.access_token)
    assert me.destiny_memberships[0].membership_id == alice.membership_id

    [sent] = bungie.requests_to(TOKEN_PATH)
    assert sent.form == {"grant_type": "authorization_code", "code": back["code"]}
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"{bungie.client_id}:{bungie.client_secret}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    [authorize] = bungie.requests_to("/OAuth/Authorize")
    assert "scope" not in authorize.query and "redirect_uri" not in authorize.query


async def test_a_code_works_once(bungie: BungieStandin, http: httpx.AsyncClient) -> None:
    bungie.login_as(bungie.add_account("Alice", 1234))
    client = make_client(bungie, http)
    code = (await browser_login(http, client.authorize_url("s")))["code"]
    await client.exchange_code(code)
    with pytest.raises(AuthRevoked) as info:
        await client.exchange_code(code)
    assert info.value.code == "invalid_grant"


async def test_member_denies_access(bungie: BungieStandin, http: httpx.AsyncClient) -> None:
    bungie.login_as(bungie.add_account("Alice", 1234))
    bungie.deny_next_authorization("User declined")
    client = make_client(bungie, http)
    back = await browser_login(http, client.authorize_url("s2"))
    assert back == {"error": "access_denied", "error_description": "User declined",
                    "state": "s2"}


async def test_refresh_rotates_and_the_old_token_is_spent(bungie: BungieStandin,
                                                          http: httpx.AsyncClient) -> None:
    alice = bungie.add_account("Alice", 1234)
    first = bungie.issue_tokens(alice)
    assert first.refresh_token is not None
    client = make_client(bungie, http)

    second = await client.refresh(first.refresh_token)
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.membership_id == alice.bnet_id
    assert bungie.requests_to(TOKEN_PATH)[0].form == {
        "grant_type": "refresh_token", "refresh_token": first.refresh_token}

    with pytest.raises(AuthRevoked) as info:
        await client.refresh(first.refresh_token)  # reused
    assert first.refresh_token not in str(info.value)
    assert second.refresh_token is not None
    await client.refresh(second.refresh_token)


async def test_expired_access_token_then_refresh(bungie: BungieStandin,
                                                 http: httpx.AsyncClient) -> None:
    alice = bungie.add_account("Alice", 1234)
    tokens = bungie.issue_tokens(alice)
    client = make_client(bungie, http)
    bungie.expire_access_tokens()
    with pytest.raises(AuthExpired):
        await client.get_memberships_for_current_user(tokens.access_token)
    assert tokens.refresh_token is not None
    fresh = await client.refresh(tokens.refresh_token)
    me = await client.get_memberships_for_current_user(fresh.access_token)
    assert me.bungie_net_membership_id == alice.bnet_id


async def test_revoked_grants_must_relink(bungie: BungieStandin, http: httpx.AsyncClient) -> None:
    alice = bungie.add_account("Alice", 1234)
    tokens = bungie.issue_tokens(alice)
    client = make_client(bungie, http)
    bungie.revoke()
    assert tokens.refresh_token is not None
    with pytest.raises(AuthRevoked):
        await client.refresh(tokens.refresh_token)
    with pytest.raises(AuthExpired):  # the caller refreshes, which then says relink
        await client.get_memberships_for_current_user(tokens.access_token)


async def test_wrong_client_secret(bungie: BungieStandin, http: httpx.AsyncClient) -> None:
    tokens = bungie.issue_tokens(bungie.add_account("Alice", 1234))
    client = make_client(bungie, http, client_secret="not-the-secret")
    assert tokens.refresh_token is not None
    with pytest.raises(AuthError) as info:
        await client.refresh(tokens.refresh_token)
    assert not isinstance(info.value, AuthRevoked)
    assert info.value.code == "invalid_client"
    assert "not-the-secret" not in str(info.value)


async def test_public_client_sends_client_id_in_the_form(http: httpx.AsyncClient) -> None:
    async with BungieStandin(client_secret=None,
                             redirect_url="https://warden.test/link/bungie") as bungie:
        bungie.login_as(bungie.add_account("Alice", 1234))
        client = make_client(bungie, http)
        code = (await browser_login(http, client.authorize_url("s")))["code"]
        tokens = await client.exchange_code(code)
        assert tokens.refresh_token is None  # only confidential clients get one
        [sent] = bungie.requests_to(TOKEN_PATH)
        assert sent.form == {"grant_type": "authorization_code", "code": code,
                             "client_id": bungie.client_id}
        assert "authorization" not in sent.headers


@pytest.mark.parametrize("fault", ["drop", "slow"])
async def test_an_unanswered_refresh_is_not_replayed(bungie: BungieStandin, fault: str) -> None:
    tokens = bungie.issue_tokens(bungie.add_account("Alice", 1234))
    async with build_http_client(connect_timeout=2, read_timeout=0.3,
                                 user_agent="warden-test") as http:
        client = make_client(bungie, http)
        bungie.inject(fault, path=TOKEN_PATH, landed=True, delay=2.0)
        assert tokens.refresh_token is not None
        with pytest.raises(AmbiguousSend):
            await client.refresh(tokens.refresh_token)
    assert len(bungie.requests_to(TOKEN_PATH)) == 1


async def test_throttled_token_call_waits_and_succeeds(bungie: BungieStandin,
                                                       http: httpx.AsyncClient) -> None:
    tokens = bungie.issue_tokens(bungie.add_account("Alice", 1234))
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    def clock() -> float:
        return now[0]

    # The limiter shares the fake time: a throttle also holds it for the hint.
    client = make_client(bungie, http, sleep=sleep, clock=clock,
                         limiter=Limiter(clock=clock, sleep=sleep))
    bungie.inject("throttle_429", path=TOKEN_PATH, throttle_seconds=2)
    assert tokens.refresh_token is not None
    await client.refresh(tokens.refresh_token)
    assert waits == [2]


async def test_authorize_page_rejects_scope(bungie: BungieStandin,
                                            http: httpx.AsyncClient) -> None:
    bungie.login_as(bungie.add_account("Alice", 1234))
    answer = await http.get(bungie.authorize_url, params={
        "client_id": bungie.client_id, "response_type": "code", "state": "s",
        "scope": "BnetWrite"})
    assert answer.status_code == 400
