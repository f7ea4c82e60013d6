"""Forced linking, and the internet's junk at the OAuth routes.

The attack (issue 12, item 1): a member runs ``/link bungie`` and sends the DM link to a
victim ("verify your account here"). The victim opens it in their own browser and signs
in on the real provider page, which would link the victim's account to the attacker's
Discord id. Now the link opens a page that names the Discord account being linked, and
only that page's form, POSTed with its token from the browser it was shown in, goes on
to the provider; a GET never does.
"""

from __future__ import annotations

import secrets
from html.parser import HTMLParser

import httpx

from bot.domain import GamePlatform, Provider
from bot.web import WebServer
from tests.linking_rig import Browser, Rig, forms_of, free_port
from tests.prom_text import link_rejections

AUTHORIZE = "/en/OAuth/Authorize"


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def counted(rig: Rig, stage: str, reason: str) -> int:
    return link_rejections(rig.metrics, stage, reason)


async def oauth_rows(rig: Rig) -> list[str]:
    return [r["kind"] for r in await rig.store.db.fetch_all("SELECT kind FROM oauth_states")]


async def test_the_attackers_link_in_a_victims_browser_names_the_attacker_and_goes_nowhere(
    rig: Rig,
) -> None:
    victim_account = rig.bungie.add_account("Victim", 1111)
    attackers_link = await rig.start_url(2002, Provider.BUNGIE, discord_name="@mallory")
    rig.bungie.login_as(victim_account)  # the victim is signed in at Bungie.net

    victims_browser = await rig.browser()
    page = await victims_browser.open(attackers_link)

    assert page.status_code == 200 and page.history == []  # no redirect anywhere
    assert "You are linking Bungie.net to @mallory on Discord" in page.text
    assert "If @mallory is not you, close this tab" in page.text
    assert rig.bungie.requests_to(AUTHORIZE) == []
    assert await oauth_rows(rig) == ["confirm"]  # no OAuth state exists yet
    # Opening it again (a reload, a link checker) does not go on either.
    again = await victims_browser.open(attackers_link)
    assert again.status_code == 410 and rig.bungie.requests_to(AUTHORIZE) == []
    assert await rig.store.links.get(2002, Provider.BUNGIE) is None


async def test_the_confirmation_page_is_inert_and_its_form_may_only_reach_the_provider(
    rig: Rig,
) -> None:
    page = await (await rig.browser()).open(await rig.start_url(1001, Provider.BUNGIE))
    markup = _Markup()
    markup.feed(page.text)
    assert markup.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "p",
                           "form", "input", "button"}
    [form] = forms_of(page)
    assert form.method == "post" and form.action == f"{rig.base_url}/oauth/bungie/start"
    assert set(form.fields) == {"csrf"} and len(form.fields["csrf"]) == 43
    bungie_origin = rig.bungie.authorize_url.split("/en/")[0]
    assert page.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        f"form-action 'self' https: {bungie_origin}; frame-ancestors 'none'"
    )
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_the_game_page_names_the_platform_and_the_discord_account(rig: Rig) -> None:
    url = await rig.start_url(1001, Provider.GAME, GamePlatform.STEAM, discord_name="@alice")
    page = await (await rig.browser()).open(url)
    assert "You are linking your game account to @alice on Discord" in page.text
    assert "Continue to the game&#x27;s sign-in</button>" in page.text
    assert "signing in with Steam" in page.text


async def test_a_discord_name_with_markup_is_shown_as_text(rig: Rig) -> None:
    url = await rig.start_url(
        1001, Provider.BUNGIE, discord_name='@x (<img src=x onerror="alert(1)">)'
    )
    page = await (await rig.browser()).open(url)
    assert "<img" not in page.text
    assert "@x (&lt;img src=x onerror=&quot;alert(1)&quot;&gt;)" in page.text


async def test_a_post_without_the_pages_token_is_refused(rig: Rig) -> None:
    browser = await rig.browser()
    page = await browser.open(await rig.start_url(1001, Provider.BUNGIE))
    [form] = forms_of(page)
    for body in ({}, {"csrf": ""}, {"csrf": "junk"}, {"csrf": secrets.token_urlsafe(32)}):
        refused = await browser.http.post(form.action, data=body)
        assert refused.status_code == 400, body
        assert "This confirmation is not valid" in refused.text
        assert "Nothing was linked" in refused.text
    assert rig.bungie.requests_to(AUTHORIZE) == []
    assert counted(rig, "confirm", "confirm_invalid") == 4
    # The real token still works afterwards: guessing did not spend it.
    through = await browser.submit(page, follow=False)
    assert through.status_code == 303 and through.headers["location"].startswith(
        rig.bungie.authorize_url
    )


async def test_the_pages_token_from_another_browser_is_refused(rig: Rig) -> None:
    """The attacker opens their own link, keeps the page's token, and makes the victim's
    browser post it (a form on another site): the token is bound to the attacker's
    cookie, so the victim's browser gets nowhere."""
    attackers = await rig.browser()
    page = await attackers.open(await rig.start_url(2002, Provider.BUNGIE))
    [form] = forms_of(page)

    victims = await rig.browser()
    refused = await victims.http.post(form.action, data=form.fields)

    assert refused.status_code == 403 and "another browser" in refused.text
    assert rig.bungie.requests_to(AUTHORIZE) == []
    [entry] = await rig.audit("link.confirm_rejected")
    assert entry.actor_id == 2002 and entry.details["reason"] == "foreign_browser"


async def test_the_cookie_is_made_by_the_server_never_taken_from_the_browser(
    rig: Rig,
) -> None:
    """A cookie planted in the victim's browser (for instance by a sibling subdomain)
    must not become the value the sign-in is bound to."""
    planted = secrets.token_urlsafe(32)
    browser = await rig.browser()
    browser.http.cookies.set("warden_oauth_bungie", planted, domain="127.0.0.1")
    page = await browser.open(await rig.start_url(1001, Provider.BUNGIE))
    issued = page.cookies["warden_oauth_bungie"]
    assert issued != planted and len(issued) == 43
    onward = await browser.submit(page, follow=False)
    assert onward.cookies["warden_oauth_bungie"] not in (planted, issued)


async def test_secure_cookies_are_host_prefixed_on_the_whole_site(rig: Rig) -> None:
    port = free_port()
    secure = WebServer(rig.service, host="127.0.0.1", port=port, secure_cookies=True)
    await secure.start()
    try:
        url = (await rig.start_url(1001, Provider.BUNGIE)).replace(
            rig.base_url, f"http://127.0.0.1:{port}"
        )
        async with httpx.AsyncClient() as http:
            page = await http.get(url)
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("__Host-warden_oauth_bungie=")
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path", "samesite"} <= attributes
        assert "domain" not in attributes and "Path=/;" in cookie
    finally:
        await secure.stop()


async def test_300_junk_requests_write_no_audit_row_and_are_counted(rig: Rig) -> None:
    junk = [
        ("GET", "/oauth/bungie/callback?state=junk&code=x"),
        ("GET", "/oauth/game/callback"),
        ("GET", f"/oauth/bungie/callback?state={secrets.token_urlsafe(32)}&code=x"),
        ("GET", "/oauth/game/start?t=junk"),
        ("GET", f"/oauth/bungie/start?t={secrets.token_urlsafe(32)}"),
        ("POST", "/oauth/bungie/start"),
    ]
    async with httpx.AsyncClient(base_url=rig.base_url) as http:
        for i in range(300):
            method, path = junk[i % len(junk)]
            answer = await http.request(method, path, data={"csrf": "x"} if method == "POST"
                                        else None)
            assert answer.status_code in (400, 410), (path, answer.status_code)
    assert [e async for e in rig.store.audit.iterate()] == []
    total = sum(
        counted(rig, stage, reason)
        for stage, reason in (("callback", "state_invalid"), ("callback", "state_missing"),
                              ("start", "start_invalid"), ("confirm", "confirm_invalid"))
    )
    assert total == 300
    assert counted(rig, "callback", "state_invalid") == 100


async def test_the_whole_way_still_links(rig: Rig) -> None:
    alice = rig.bungie.add_account("Alice", 1234)
    browser = Browser()
    try:
        url = await rig.start_url(1001, Provider.BUNGIE, discord_name="@alice")
        rig.bungie.login_as(alice)
        page = await browser.link(url)
    finally:
        await browser.close()
    assert page.status_code == 200 and "Linked as Alice#1234" in page.text
    assert await oauth_rows(rig) == []  # every one-time secret was used up
