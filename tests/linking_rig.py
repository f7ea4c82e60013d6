"""Everything account linking needs, real and on loopback: the Bungie and sanctions
stand-ins, a SQLite file, the linking service and its web server, and browsers.

    async with open_rig(tmp_path) as rig:
        alice = rig.bungie.add_account("Alice", 1234)
        page = await rig.link_bungie(user_id=1, account=alice)

A ``Browser`` is an httpx client with its own cookie jar that follows redirects
like a real one, so a test can go from the DM link through the provider's
authorize page back to Warden's callback.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.apis.bungie import BungieClient
from bot.apis.http import build_http_client
from bot.apis.pacing import Limiter
from bot.apis.retry import RetryPolicy
from bot.apis.sanctions import SanctionsClient
from bot.crypto import TokenBox, generate_key
from bot.domain import GamePlatform, Provider
from bot.notify import DmOutcome, Notice, Notifier
from bot.services.link_providers import BungieLinkProvider, GameLinkProvider, LinkProvider
from bot.services.linking import LinkingService
from bot.store import Database, Store
from bot.store.audit import AuditEntry
from bot.web import WebServer
from tests.standins.bungie import Account, BungieStandin
from tests.standins.sanctions import Player, SanctionsStandin, client_for

FAST = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, total_budget=5.0)


class Clock:
    """Wall time that a test can move forward; shared by Warden and the stand-ins."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


class Browser:
    """One browser: its own cookies, follows redirects, never runs scripts."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=10.0)

    async def open(self, url: str) -> httpx.Response:
        return await self.http.get(url)

    async def open_no_follow(self, url: str) -> httpx.Response:
        return await self.http.get(url, follow_redirects=False)

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
    stack: AsyncExitStack

    @property
    def db_path(self) -> Path:
        return self.tmp_path / "warden.db"

    async def browser(self) -> Browser:
        browser = Browser()
        self.stack.push_async_callback(browser.close)
        return browser

    async def start_url(
        self, user_id: int, provider: Provider, platform: GamePlatform | None = None
    ) -> str:
        offer = await self.service.offer_link(user_id, provider, platform)
        return offer.url

    async def link_bungie(
        self, user_id: int, account: Account, browser: Browser | None = None
    ) -> httpx.Response:
        """The whole browser round trip for one member; returns the final page."""
        browser = browser or await self.browser()
        url = await self.start_url(user_id, Provider.BUNGIE)
        self.bungie.login_as(account)
        return await browser.open(url)

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
        return await browser.open(url)

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
        bungie_client = BungieClient(
            http, **bungie.client_kwargs(), limiter=Limiter(), policy=FAST
        )
        sanctions_client = client_for(sanctions, http, policy=FAST)

        db = await Database.open(tmp_path / "warden.db")
        stack.push_async_callback(db.close)
        store = Store(db)
        key = generate_key()
        box = TokenBox([key])
        chosen: list[LinkProvider] = []
        if Provider.BUNGIE in providers:
            chosen.append(BungieLinkProvider(bungie_client, clock=clock))
        if Provider.GAME in providers:
            chosen.append(GameLinkProvider(sanctions_client, clock=clock))
        the_notifier = notifier if notifier is not None else RecordingNotifier()
        service = LinkingService(
            store=store, box=box, public_base_url=base_url, providers=chosen,
            notifier=the_notifier, clock=clock,
        )
        web = WebServer(service, host="127.0.0.1", port=port, secure_cookies=False)
        await web.start()
        stack.push_async_callback(web.stop)
        yield Rig(
            tmp_path=tmp_path, clock=clock, bungie=bungie, sanctions=sanctions, db=db,
            store=store, key=key, box=box, bungie_client=bungie_client,
            sanctions_client=sanctions_client, service=service, web=web, base_url=base_url,
            notifier=the_notifier, stack=stack,
        )
