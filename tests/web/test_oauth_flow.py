"""The OAuth callback server as a member's browser meets it, and as an attacker would.

A real browser-like client follows the DM link through Warden's confirmation page
and the Bungie and sanctions stand-ins' authorize pages back to Warden's callback;
every refusal must show a clear page and link nothing. A refusal that names a member
writes an audit row; one that names nobody (anyone on the internet can send it) is only
counted in ``warden_link_rejections_total``.
"""

from __future__ import annotations

import logging
from html.parser import HTMLParser

import httpx
import pytest

from bot.domain import GamePlatform, Provider
from bot.services.linking.service import STATE_TTL
from tests.linking_rig import Rig, query_of
from tests.prom_text import link_rejections

SECURITY = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def assert_safe_page(page: httpx.Response) -> None:
    """Security headers, and markup made only of Warden's own inert tags."""
    for name, value in SECURITY.items():
        assert page.headers.get(name) == value, name
    assert page.headers["content-type"].startswith("text/html")
    assert "server" not in page.headers
    parsed = _Tags()
    parsed.feed(page.text)
    assert parsed.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "p"}
    assert parsed.attributes <= {"lang", "charset", "name", "content", "class"}


async def rejections(rig: Rig, stage: str = "callback") -> list[str]:
    return [e.details["reason"] for e in await rig.audit(f"link.{stage}_rejected")]


def counted(rig: Rig, stage: str, reason: str) -> int:
    """Refusals counted in the metric (anonymous ones are only there)."""
    return link_rejections(rig.metrics, stage, reason)


async def authorize_url_for(rig: Rig, user_id: int, browser_name: str = "a") -> tuple[str, object]:
    """Open the member's DM link in a fresh browser, continue on the confirmation page,
    but stop at the provider's page."""
    browser = await rig.browser()
    start = await browser.link(await rig.start_url(user_id, Provider.BUNGIE), follow=False)
    assert start.status_code == 303
    return start.headers["location"], browser


# -- the happy paths --------------------------------------------------------------------


async def test_bungie_link_lands_on_a_safe_success_page_with_the_bungie_name(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    page = await rig.link_bungie(1001, alice)

    assert page.status_code == 200
    assert "Linked as Alice#1234 - you can close this tab" in page.text
    assert_safe_page(page)
    # The redirect to the provider too.
    start = page.history[0]
    assert start.status_code == 303 and start.request.method == "POST"
    assert start.headers["referrer-policy"] == "no-referrer"
    assert start.headers["cache-control"] == "no-store"
    cookie = start.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/;" in cookie
    # Plain http here, so no Secure and no __Host- prefix (tests/web/test_link_confirm.py).
    assert cookie.startswith("warden_oauth_bungie=")

    link = await rig.store.links.get(1001, Provider.BUNGIE)
    assert link is not None
    assert link.account_id == str(alice.bnet_id)
    assert link.display_name == "Alice#1234"
    assert link.destiny_membership_id == alice.membership_id
    assert link.destiny_membership_type == alice.membership_type
    [entry] = await rig.audit("link.created")
    assert entry.actor_id == 1001 and entry.details["account_id"] == str(alice.bnet_id)


async def test_bungie_authorize_request_carries_state_but_no_scope(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    await rig.link_bungie(1001, alice)
    [authorize] = rig.bungie.requests_to("/en/OAuth/Authorize")
    assert "scope" not in authorize.query and "redirect_uri" not in authorize.query
    # 256 bits of url-safe base64 text.
    assert len(authorize.query["state"]) >= 43


async def test_all_destiny_memberships_are_stored_with_the_primary_one(rig: Rig) -> None:
    cross = rig.bungie.add_account("Cross", 77, membership_type=3, extra_membership_types=[2])
    page = await rig.link_bungie(1001, cross)
    assert page.status_code == 200
    summary = await rig.service.link(1001, Provider.BUNGIE)
    assert summary is not None
    assert summary.destiny_membership_id == cross.membership_id
    assert {m["membership_type"] for m in summary.memberships} == {3, 2}
    assert summary.account_name == "Cross#0077"


async def test_game_link_stores_player_uuid_and_platform_display_name(rig: Rig) -> None:
    bob = rig.sanctions.add_player("BobTheGamer", identities={"Steam": "76561198000000001"})
    page = await rig.link_game(1002, bob, GamePlatform.STEAM)

    assert page.status_code == 200, page.text
    assert "Linked as BobTheGamer - you can close this tab" in page.text
    assert_safe_page(page)
    # The game flow names Warden's own callback as redirect_uri.
    [login] = rig.sanctions.requests_to("/users/v1/oauth/login/steam")
    assert login.query["redirect_uri"] == [f"{rig.base_url}/oauth/game/callback"]
    link = await rig.store.links.get(1002, Provider.GAME)
    assert link is not None
    assert link.account_id == str(bob.uuid)
    assert link.platform == "steam"
    assert link.display_name == "BobTheGamer"


async def test_tokens_are_encrypted_at_rest(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    bob = rig.sanctions.add_player("Bob", identities={"Epic": "e-1"})
    await rig.link_bungie(1001, alice)
    await rig.link_game(1001, bob, GamePlatform.EPIC)
    bungie_token = await rig.service.access_token(1001, Provider.BUNGIE)
    game_token = await rig.service.access_token(1001, Provider.GAME)
    # The tokens work upstream, so they are the real ones...
    assert bungie_token.startswith("acc-") and game_token.count(".") == 2
    # ...and no byte of the database file or its WAL holds them in plaintext.
    raw = rig.raw_database()
    assert raw, "the database file should exist"
    for token in (bungie_token, game_token):
        assert token.encode() not in raw
        assert token[4:24].encode() not in raw
    for refresh in [t for t in rig.bungie._refresh]:  # every refresh token ever issued
        assert refresh.encode() not in raw


async def test_the_oauth_routes_and_nothing_else(rig: Rig) -> None:
    # /healthz and /metrics have their own tests (tests/web/test_ops_routes.py).
    async with httpx.AsyncClient() as http:
        for path in ("/", "/oauth/steam/start", "/oauth/bungie", "/admin", "/static/x.js"):
            missing = await http.get(rig.base_url + path)
            assert missing.status_code == 404, path
            assert_safe_page(missing)
        wrong_method = await http.post(f"{rig.base_url}/oauth/bungie/callback")
        assert wrong_method.status_code == 405
        assert_safe_page(wrong_method)


async def test_access_log_never_holds_query_strings(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    alice = rig.bungie.add_account("Alice", 1234)
    page = await rig.link_bungie(1001, alice)
    secrets_seen = [
        query_of(str(r.url)).get("t") or query_of(str(r.url)).get("state")
        for r in [*page.history, page]
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "aiohttp.access")
    assert "/oauth/bungie/callback" in logged
    for secret in filter(None, secrets_seen):
        assert secret not in logged


# -- the DM link ------------------------------------------------------------------------


async def test_second_use_of_the_dm_link_is_refused(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    mallory = rig.bungie.add_account("Mallory", 666)
    url = await rig.start_url(1001, Provider.BUNGIE)
    rig.bungie.login_as(alice)
    first = await (await rig.browser()).link(url)
    assert first.status_code == 200

    rig.bungie.login_as(mallory)  # someone the link was forwarded to
    second = await (await rig.browser()).open(url)
    assert second.status_code == 410
    assert "already been used" in second.text and "/link bungie" in second.text
    assert_safe_page(second)
    link = await rig.store.links.get(1001, Provider.BUNGIE)
    assert link is not None and link.account_id == str(alice.bnet_id)
    # A spent link names nobody any more: counted, not audited.
    assert await rejections(rig, "start") == []
    assert counted(rig, "start", "start_invalid") == 1


async def test_expired_dm_link_is_refused(rig: Rig) -> None:
    url = await rig.start_url(1001, Provider.BUNGIE)
    rig.clock.advance(STATE_TTL + 1)
    page = await (await rig.browser()).open(url)
    assert page.status_code == 410 and "expired" in page.text
    assert counted(rig, "start", "start_expired") == 1
    assert rig.bungie.requests_to("/en/OAuth/Authorize") == []


async def test_only_the_newest_dm_link_works(rig: Rig) -> None:
    older = await rig.start_url(1001, Provider.BUNGIE)
    await rig.start_url(1001, Provider.BUNGIE)
    page = await (await rig.browser()).open(older)
    assert page.status_code == 410
    assert counted(rig, "start", "start_invalid") == 1


async def test_a_head_request_does_not_spend_the_dm_link(rig: Rig) -> None:
    # Link checkers and previews probe with HEAD; the member's click must still work.
    alice = rig.bungie.add_account("Alice", 1234)
    url = await rig.start_url(1001, Provider.BUNGIE)
    async with httpx.AsyncClient() as http:
        probe = await http.head(url)
    assert probe.status_code == 405
    rig.bungie.login_as(alice)
    page = await (await rig.browser()).link(url)
    assert page.status_code == 200 and "Linked as Alice#1234" in page.text


async def test_start_link_of_one_provider_is_refused_at_the_other(rig: Rig) -> None:
    url = await rig.start_url(1001, Provider.BUNGIE)
    wrong = url.replace("/oauth/bungie/start", "/oauth/game/start")
    page = await (await rig.browser()).open(wrong)
    assert page.status_code == 410
    assert await rejections(rig, "start") == ["start_invalid"]


# -- the callback -----------------------------------------------------------------------


async def test_replayed_state_is_refused_and_links_nothing_more(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    browser = await rig.browser()
    page = await rig.link_bungie(1001, alice, browser)
    assert page.status_code == 200
    callback_url = str(page.url)
    assert "state=" in callback_url

    replay = await browser.open(callback_url)
    assert replay.status_code == 400
    assert "not valid" in replay.text and "Nothing was linked" in replay.text
    assert "/link bungie" in replay.text
    assert_safe_page(replay)
    assert counted(rig, "callback", "state_invalid") == 1
    assert len(await rig.audit("link.created")) == 1
    assert await rig.audit("link.relinked") == []


async def test_expired_state_is_refused(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    authorize, browser = await authorize_url_for(rig, 1001)
    rig.clock.advance(STATE_TTL + 1)  # the member dawdled on Bungie's page
    rig.bungie.login_as(alice)
    page = await browser.open(authorize)  # type: ignore[attr-defined]
    assert page.status_code == 400 and "took too long" in page.text
    assert_safe_page(page)
    assert counted(rig, "callback", "state_expired") == 1
    assert await rig.store.links.get(1001, Provider.BUNGIE) is None
    # The code was never exchanged.
    assert rig.bungie.requests_to("/App/OAuth/token/") == []


async def test_state_of_another_member_is_refused(rig: Rig) -> None:
    """Mallory gets hold of Alice's sign-in URL (say, a shared screen) and completes it
    with her own Bungie account in her own browser: nothing may be linked to Alice."""
    mallory = rig.bungie.add_account("Mallory", 666)
    alice_authorize, _alice_browser = await authorize_url_for(rig, 1001)
    _mallory_authorize, mallory_browser = await authorize_url_for(rig, 2002)

    rig.bungie.login_as(mallory)
    page = await mallory_browser.open(alice_authorize)  # type: ignore[attr-defined]

    assert page.status_code == 403
    assert "another browser" in page.text and "Nothing was linked" in page.text
    assert_safe_page(page)
    assert await rig.store.links.get(1001, Provider.BUNGIE) is None
    assert await rig.store.links.get(2002, Provider.BUNGIE) is None
    [entry] = await rig.audit("link.callback_rejected")
    assert entry.details["reason"] == "foreign_browser" and entry.actor_id == 1001
    assert rig.bungie.requests_to("/App/OAuth/token/") == []


async def test_state_in_a_browser_without_the_cookie_is_refused(rig: Rig) -> None:
    mallory = rig.bungie.add_account("Mallory", 666)
    alice_authorize, _ = await authorize_url_for(rig, 1001)
    rig.bungie.login_as(mallory)
    page = await (await rig.browser()).open(alice_authorize)
    assert page.status_code == 403
    assert await rejections(rig) == ["foreign_browser"]


async def test_missing_code_is_refused(rig: Rig) -> None:
    authorize, browser = await authorize_url_for(rig, 1001)
    state = query_of(authorize)["state"]
    page = await browser.open(  # type: ignore[attr-defined]
        f"{rig.base_url}/oauth/bungie/callback?state={state}"
    )
    assert page.status_code == 400 and "no sign-in code" in page.text
    assert_safe_page(page)
    assert await rejections(rig) == ["missing_code"]
    assert await rig.store.links.get(1001, Provider.BUNGIE) is None


async def test_missing_state_is_refused(rig: Rig) -> None:
    page = await (await rig.browser()).open(f"{rig.base_url}/oauth/bungie/callback?code=abc")
    assert page.status_code == 400 and "not valid" in page.text
    assert counted(rig, "callback", "state_missing") == 1


async def test_provider_error_with_html_is_shown_escaped(rig: Rig) -> None:
    rig.bungie.deny_next_authorization('<script>alert("x")</script><img src=x onerror=1>')
    page = await rig.link_bungie(1001, rig.bungie.add_account("Alice", 1234))

    assert page.status_code == 400
    assert "did not complete the sign-in" in page.text and "access_denied" in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text
    assert "<script" not in page.text and "<img" not in page.text
    assert_safe_page(page)
    [entry] = await rig.audit("link.callback_rejected")
    assert entry.details == {
        "provider": "bungie", "reason": "provider_error", "provider_error": "access_denied"
    }
    assert await rig.store.links.get(1001, Provider.BUNGIE) is None


async def test_provider_error_text_from_a_forged_url_is_not_shown(rig: Rig) -> None:
    # Without a valid state the page must not repeat anything from the URL.
    forged = (
        f"{rig.base_url}/oauth/bungie/callback?state=forged&error=Call+555-0100"
        "&error_description=Your+account+is+banned"
    )
    page = await (await rig.browser()).open(forged)
    assert page.status_code == 400
    assert "555" not in page.text and "banned" not in page.text
    assert counted(rig, "callback", "state_invalid") == 1


async def test_game_login_error_is_shown_escaped(rig: Rig) -> None:
    rig.sanctions.deny_next_login("user_auth_restricted", "<b>restricted</b> & banned")
    page = await rig.link_game(1002, rig.sanctions.add_player("Bob"), GamePlatform.XBOX)
    assert page.status_code == 400
    assert "user_auth_restricted" in page.text
    assert "&lt;b&gt;restricted&lt;/b&gt; &amp; banned" in page.text
    assert await rejections(rig) == ["provider_error"]


async def test_state_of_one_provider_is_refused_at_the_other_callback(rig: Rig) -> None:
    authorize, browser = await authorize_url_for(rig, 1001)
    state = query_of(authorize)["state"]
    page = await browser.open(  # type: ignore[attr-defined]
        f"{rig.base_url}/oauth/game/callback?state={state}&code=abc"
    )
    assert page.status_code == 400
    assert await rejections(rig) == ["state_wrong_provider"]


async def test_a_code_the_provider_refuses_links_nothing(rig: Rig) -> None:
    authorize, browser = await authorize_url_for(rig, 1001)
    state = query_of(authorize)["state"]
    page = await browser.open(  # type: ignore[attr-defined]
        f"{rig.base_url}/oauth/bungie/callback?state={state}&code=made-up"
    )
    assert page.status_code == 400 and "did not accept the sign-in" in page.text
    assert await rejections(rig) == ["code_rejected"]


async def test_provider_down_during_exchange_says_so(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    rig.bungie.inject("server_error", count=5, path="/App/OAuth/token/", status=503)
    page = await rig.link_bungie(1001, alice)
    assert page.status_code == 502 and "could not be reached" in page.text
    assert await rejections(rig) == ["provider_unavailable"]


async def test_one_account_cannot_be_linked_to_two_members(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    assert (await rig.link_bungie(1001, alice)).status_code == 200
    page = await rig.link_bungie(2002, alice)
    assert page.status_code == 409 and "another Discord account" in page.text
    assert await rig.store.links.get(2002, Provider.BUNGIE) is None
    assert await rejections(rig) == ["account_taken"]


async def test_member_can_link_both_providers_from_one_browser_in_parallel(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    bob = rig.sanctions.add_player("Bob", identities={"Steam": "s-1"})
    browser = await rig.browser()
    bungie_start = await browser.link(await rig.start_url(1001, Provider.BUNGIE), follow=False)
    game_start = await browser.link(
        await rig.start_url(1001, Provider.GAME, GamePlatform.STEAM), follow=False
    )
    rig.bungie.login_as(alice)
    rig.sanctions.login_as(bob)
    assert (await browser.open(bungie_start.headers["location"])).status_code == 200
    assert (await browser.open(game_start.headers["location"])).status_code == 200
    assert {s.provider for s in await rig.service.links(1001)} == {
        Provider.BUNGIE, Provider.GAME
    }


async def test_relinking_replaces_the_account_and_is_audited(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    alt = rig.bungie.add_account("AliceAlt", 4321)
    await rig.link_bungie(1001, alice)
    page = await rig.link_bungie(1001, alt)
    assert "Linked as AliceAlt#4321" in page.text
    [entry] = await rig.audit("link.relinked")
    assert entry.details["previous_account_id"] == str(alice.bnet_id)
    assert entry.details["account_id"] == str(alt.bnet_id)
    link = await rig.store.links.get(1001, Provider.BUNGIE)
    assert link is not None and link.account_id == str(alt.bnet_id)


async def test_no_audit_row_ever_holds_a_secret(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    page = await rig.link_bungie(1001, alice)
    # A sign-in finished in another browser, for a rejection row that names the member.
    authorize, _ = await authorize_url_for(rig, 1001)
    await (await rig.browser()).open(authorize)
    secrets_seen = [
        v for url in [*(str(r.url) for r in [*page.history, page]), authorize]
        for k, v in query_of(url).items() if k in ("t", "state", "code")
    ]
    token = await rig.service.access_token(1001, Provider.BUNGIE)
    rows = [e.details_json async for e in rig.store.audit.iterate()]
    assert len(rows) >= 2
    for secret in [*secrets_seen, token]:
        assert all(secret not in row for row in rows)
