"""Everything account linking needs, real and on loopback: the Bungie and sanctions
stand-ins, a SQLite file, the linking service and its web server, and browsers.

    async with open_rig(tmp_path) as rig:
        alice = rig.bungie.add_account("Alice", 1234)
        page = await rig.link_bungie(user_id=1, account=alice)

A ``Browser`` is an httpx client with its own cookie jar that follows redirects
like a real one, so a test can go from the DM link through Warden's confirmation
page (``Browser.link`` presses its button) and the provider's authorize page back
to Warden's callback.
"""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.apis.bungie import BungieClient
from bot.apis.http import build_http_client
from bot.apis.retry import RetryPolicy
from bot.apis.sanctions import SanctionsClient
from bot.crypto import TokenBox, generate_key
from bot.domain import GamePlatform, Provider
from bot.metrics import WardenMetrics
from bot.notify import DmOutcome, Notice, Notifier
from bot.services.linking.providers import (
    BungieLinkProvider,
    GameLinkProvider,
    LinkProvider,
)
from bot.services.linking.service import LinkingService
from bot.store import Database, Store
from bot.store.audit import AuditEntry
from bot.web import WebServer
from tests.standins.bungie import Account, BungieStandin, bungie_client_for
from tests.standins.sanctions import Player, SanctionsStandin, client_for
from tests.support import Clock

FAST = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, total_budget=5.0)


@dataclass
class RecordingNotifier:
    """A ``Notifier`` that keeps what it was asked to send (Discord itself is tested in
    ``tests/cogs`` through the Discord stand-in)."""

    outcome: DmOutcome = DmOutcome.SENT
    sent: list[tuple[int, Notice]] = field(default_factory=list)

    async def send_dm(self, user_id: int, notice: Notice) -> DmOutcome:
        self.sent.append((user_id, notice))
        return self.outcome


def raw_database_files(db_path: Path) -> bytes:
    """Every byte SQLite has written for ``db_path``: the file, its WAL and journal."""
    return b"".join(
        p.read_bytes() for p in db_path.parent.glob(db_path.name + "*") if p.is_file()
    )


_LISTEN_PORTS = range(20000, 32000)
"""Below Linux's ephemeral range (32768-60999): a port the kernel hands out with
``bind(0)`` can be taken by an outgoing connection's source port before the web
server binds it ("address already in use")."""


def free_port() -> int:
    """A port nothing listens on now, from outside the ephemeral range."""
    for _ in range(200):
        port = random.choice(_LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found between 20000 and 32000")


@dataclass(frozen=True)
class Form:
    method: str
    action: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("method", "get"), values.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")


def forms_of(page: httpx.Response) -> list[Form]:
    parser = _FormParser()
    parser.feed(page.text)
    return parser.forms


class Browser:
    """One browser: its own cookies, follows redirects, never runs scripts."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=10.0)

    async def open(self, url: str) -> httpx.Response:
        return await self.http.get(url)

    async def open_no_follow(self, url: str) -> httpx.Response:
        return await self.http.get(url, follow_redirects=False)

    async def submit(self, page: httpx.Response, *, follow: bool = True) -> httpx.Response:
        """Press the button of the page's only form, as a member would."""
        [form] = forms_of(page)
        assert form.method.lower() == "post"
        return await self.http.post(form.action or str(page.url), data=form.fields,
                                    follow_redirects=follow)

    async def link(self, dm_url: str, *, follow: bool = True) -> httpx.Response:
        """Open the DM link and continue on the confirmation page; a refusal is returned
        as it is. ``follow=False`` stops at Warden's redirect to the provider."""
        page = await self.open(dm_url)
        if page.status_code != 200 or not forms_of(page):
            return page
        return await self.submit(page, follow=follow)

    async def close(self) -> None:
        await self.http.aclose()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Rig:
    tmp_path: Path
    clock: Clock
    bungie: BungieStandin
    sanctions: SanctionsStandin
    db: Database
    store: Store
    key: str
    box: TokenBox
    bungie_client: BungieClient
    sanctions_client: SanctionsClient
    service: LinkingService
    web: WebServer
    base_url: str
    notifier: Notifier
    metrics: WardenMetrics
    stack: AsyncExitStack

    @property
    def db_path(self) -> Path:
        return self.tmp_path / "warden.db"

    async def browser(self) -> Browser:
        browser = Browser()
        self.stack.push_async_callback(browser.close)
        return browser

    async def start_url(
        self,
        user_id: int,
        provider: Provider,
        platform: GamePlatform | None = None,
        *,
        discord_name: str | None = None,
    ) -> str:
        offer = await self.service.offer_link(
            user_id, provider, platform, discord_name=discord_name or f"@member{user_id}"
        )
        return offer.url

    async def link_bungie(
        self, user_id: int, account: Account, browser: Browser | None = None
    ) -> httpx.Response:
        """The whole browser round trip for one member; returns the final page."""
        browser = browser or await self.browser()
        url = await self.start_url(user_id, Provider.BUNGIE)
        self.bungie.login_as(account)
        return await browser.link(url)

    async def link_game(
        self,
        user_id: int,
        player: Player,
        platform: GamePlatform = GamePlatform.STEAM,
        browser: Browser | None = None,
    ) -> httpx.Response:
        browser = browser or await self.browser()
        url = await self.start_url(user_id, Provider.GAME, platform)
        self.sanctions.login_as(player)
        return await browser.link(url)

    async def audit(self, action: str) -> list[AuditEntry]:
        return [e async for e in self.store.audit.iterate() if e.action == action]

    def raw_database(self) -> bytes:
        return raw_database_files(self.db_path)


@asynccontextmanager
async def open_rig(
    tmp_path: Path,
    *,
    notifier: Notifier | None = None,
    bungie_options: dict[str, Any] | None = None,
    providers: tuple[Provider, ...] = (Provider.BUNGIE, Provider.GAME),
    keys: list[str] | None = None,
    database: Path | str | None = None,
) -> AsyncIterator[Rig]:
    clock = Clock()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    async with AsyncExitStack() as stack:
        bungie = BungieStandin(
            redirect_url=f"{base_url}/oauth/bungie/callback", clock=clock,
            **(bungie_options or {}),
        )
        await bungie.start()
        stack.push_async_callback(bungie.close)
        sanctions = SanctionsStandin(
            redirect_uris=(f"{base_url}/oauth/game/callback",), clock=clock
        )
        await sanctions.start()
        stack.push_async_callback(sanctions.close)

        http = build_http_client(connect_timeout=2, read_timeout=5, user_agent="warden-test")
        stack.push_async_callback(http.aclose)
        bungie_client = bungie_client_for(bungie, http, policy=FAST)
        sanctions_client = client_for(sanctions, http, policy=FAST)

        db = await Database.open(database or tmp_path / "warden.db")
        stack.push_async_callback(db.close)
        store = Store(db)
        key = keys[0] if keys else generate_key()
        box = TokenBox(keys or [key])
        chosen: list[LinkProvider] = []
        if Provider.BUNGIE in providers:
            chosen.append(BungieLinkProvider(bungie_client, clock=clock))
        if Provider.GAME in providers:
            chosen.append(GameLinkProvider(sanctions_client, clock=clock))
        the_notifier = notifier if notifier is not None else RecordingNotifier()
        metrics = WardenMetrics()
        service = LinkingService(
            store=store, box=box, public_base_url=base_url, providers=chosen,
            notifier=the_notifier, metrics=metrics, clock=clock,
        )
        web = WebServer(service, host="127.0.0.1", port=port, secure_cookies=False)
        await web.start()
        stack.push_async_callback(web.stop)
        yield Rig(
            tmp_path=tmp_path, clock=clock, bungie=bungie, sanctions=sanctions, db=db,
            store=store, key=key, box=box, bungie_client=bungie_client,
            sanctions_client=sanctions_client, service=service, web=web, base_url=base_url,
            notifier=the_notifier, metrics=metrics, stack=stack,
        )
