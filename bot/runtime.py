"""Builds Warden from its settings and runs it: the ``main()`` of the application.

Following discord.py's advanced start-up example, the database, HTTP clients and
services are created here and handed to the bot, and torn down here in reverse.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot import USER_AGENT
from bot.apis.bungie import BungieClient, parse_reason_map
from bot.apis.errors import ApiError
from bot.apis.pacing import Limiter
from bot.apis.retry import RetryPolicy, build_http_client
from bot.apis.sanctions import SanctionsClient
from bot.app import BackgroundStarter, Deps, WardenBot
from bot.crypto import TokenBox
from bot.discord_endpoints import point_discord_at
from bot.discord_notifier import DiscordNotifier
from bot.domain import Destination
from bot.metrics import WardenMetrics
from bot.services.bungie_reasons import ReasonCatalog
from bot.services.delivery_bungie import BungieSender
from bot.services.delivery_sanctions import SanctionsSender
from bot.services.health import HealthService
from bot.services.link_providers import BungieLinkProvider, GameLinkProvider, LinkProvider
from bot.services.linking import LinkingService
from bot.services.outbox import OutboxPolicy, OutboxWorker, Sender
from bot.services.reports import ReportService
from bot.services.review import ReviewService
from bot.settings import Settings
from bot.store import Database, Store
from bot.web import WebServer

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    start_background: bool = True,
    ephemeral_database: bool = False,
    **bot_options: Any,
) -> AsyncIterator[WardenBot]:
    """Everything Warden needs, opened in order and closed in reverse.

    ``ephemeral_database`` uses a throw-away in-memory database, for commands such
    as ``sync --dry-run`` that only need the command tree.
    """
    point_discord_at(settings.discord_api_base_url, settings.discord_gateway_url)
    async with AsyncExitStack() as stack:
        db_path = Path(":memory:") if ephemeral_database else settings.database_path
        db = await Database.open(db_path)
        stack.push_async_callback(db.close)
        store = Store(db)
        deps = Deps(settings=settings, store=store)
        deps.bungie = open_bungie(settings, stack, deps.metrics)
        deps.sanctions = open_sanctions(settings, stack, deps.metrics)
        if settings.linking_enabled:
            deps.linking = _linking_service(settings, deps)

        def serving() -> bool:
            return bot.connected and not bot.draining

        health = HealthService(store=store, metrics=deps.metrics, ready=serving,
                               destinations=_destinations(settings))
        # Always on, for /healthz and /metrics; the OAuth routes only with linking.
        web = WebServer(
            deps.linking,
            host=settings.web_host,
            port=settings.web_port,
            secure_cookies=(settings.public_base_url or "").startswith("https://"),
            health=health,
        )
        background: list[BackgroundStarter] = [_starter(web), _start_outbox]
        bot = WardenBot(
            deps, start_background=start_background, background=background, **bot_options
        )
        stack.push_async_callback(bot.close)
        # Stops before the bot and the database close: no callback outlives them.
        stack.push_async_callback(web.stop)
        deps.notifier = DiscordNotifier(bot)
        if deps.linking is not None:
            deps.linking.notifier = deps.notifier
        deps.review = ReviewService(
            store=store, events=deps.events, settings=settings, notifier=deps.notifier,
            linking=deps.linking,
        )
        deps.review.subscribe()
        stack.push_async_callback(deps.review.close)
        deps.reports = ReportService(
            store=store, events=deps.events, settings=settings, bungie=deps.bungie,
            linking=deps.linking, notifier=deps.notifier, metrics=deps.metrics,
            sanctions=deps.sanctions,
        )
        stack.push_async_callback(deps.reports.close)
        deps.outbox = _outbox(settings, deps)
        # Runs before the HTTP clients and the database close: attempts end cleanly first.
        stack.push_async_callback(deps.outbox.stop)
        yield bot


def _retry_policy(settings: Settings, metrics: WardenMetrics | None) -> RetryPolicy:
    def count(error: ApiError) -> None:
        assert metrics is not None
        metrics.api_errors.inc(destination=error.destination, code=_error_code(error))

    return RetryPolicy(
        max_attempts=settings.api_retry_attempts,
        base_delay=settings.api_retry_base_delay,
        max_delay=max(settings.api_retry_base_delay, 30.0),
        total_budget=settings.api_retry_budget_seconds,
        on_error=None if metrics is None else count,
    )


def _error_code(error: ApiError) -> str:
    """A short, bounded label: the upstream's code, else the HTTP status, else the kind."""
    if error.code:
        return error.code
    if error.status is not None:
        return f"http_{error.status}"
    return type(error).__name__


def _destinations(settings: Settings) -> list[str]:
    found = []
    if settings.bungie_enabled:
        found.append(Destination.BUNGIE.value)
    if settings.sanctions_enabled:
        found.append(Destination.SANCTIONS.value)
    return found


def _outbox(settings: Settings, deps: Deps) -> OutboxWorker:
    senders: list[Sender] = []
    if deps.bungie is not None:
        reasons = ReasonCatalog(deps.bungie, deps.store.kv,
                                parse_reason_map(settings.bungie_reason_map))
        senders.append(BungieSender(
            deps.bungie, store=deps.store, settings=settings, linking=deps.linking,
            notifier=lambda: deps.notifier, reasons=reasons,
        ))
    if deps.sanctions is not None:
        senders.append(SanctionsSender(deps.sanctions, linking=deps.linking))
    policy = OutboxPolicy(
        concurrency=settings.outbox_concurrency,
        max_attempts=settings.outbox_max_attempts,
        base_delay=settings.outbox_retry_base_seconds,
        max_delay=settings.outbox_retry_max_seconds,
        give_up_after=settings.outbox_give_up_hours * 3600.0,
        shutdown_grace=settings.outbox_shutdown_grace_seconds,
    )
    return OutboxWorker(store=deps.store, events=deps.events, senders=senders, policy=policy,
                        metrics=deps.metrics)


async def _start_outbox(bot: WardenBot) -> None:
    if bot.deps.outbox is not None:
        await bot.deps.outbox.start()


def _http_client(settings: Settings) -> httpx.AsyncClient:
    return build_http_client(
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        user_agent=USER_AGENT,
    )


def open_bungie(
    settings: Settings, stack: AsyncExitStack, metrics: WardenMetrics | None = None
) -> BungieClient | None:
    if settings.bungie_api_key is None:
        return None
    http = _http_client(settings)
    stack.push_async_callback(http.aclose)
    secret = settings.bungie_client_secret
    return BungieClient(
        http,
        api_key=settings.bungie_api_key.get_secret_value(),
        api_base_url=settings.bungie_api_base_url,
        stats_base_url=settings.bungie_stats_base_url,
        client_id=settings.bungie_client_id,
        client_secret=None if secret is None else secret.get_secret_value(),
        authorize_url=settings.bungie_oauth_authorize_url,
        token_url=settings.bungie_oauth_token_url,
        limiter=Limiter(rate=settings.bungie_requests_per_second),
        policy=_retry_policy(settings, metrics),
    )


def open_sanctions(
    settings: Settings, stack: AsyncExitStack, metrics: WardenMetrics | None = None
) -> SanctionsClient | None:
    if not settings.sanctions_enabled:
        return None
    assert settings.sanctions_api_base_url and settings.sanctions_client_id
    assert settings.sanctions_client_secret is not None
    http = _http_client(settings)
    stack.push_async_callback(http.aclose)
    return SanctionsClient(
        http,
        base_url=settings.sanctions_api_base_url,
        client_id=settings.sanctions_client_id,
        client_secret=settings.sanctions_client_secret.get_secret_value(),
        policy=_retry_policy(settings, metrics),
    )


def _linking_service(settings: Settings, deps: Deps) -> LinkingService:
    assert settings.public_base_url is not None  # linking_enabled guarantees it
    providers: list[LinkProvider] = []
    if deps.bungie is not None and settings.bungie_oauth_enabled:
        providers.append(BungieLinkProvider(deps.bungie))
    if deps.sanctions is not None:
        providers.append(GameLinkProvider(deps.sanctions))
    return LinkingService(
        store=deps.store,
        box=TokenBox(settings.token_keys()),
        public_base_url=settings.public_base_url,
        providers=providers,
    )


def _starter(web: WebServer) -> BackgroundStarter:
    async def start_web(bot: WardenBot) -> None:
        await web.start()

    return start_web


async def shutdown(bot: WardenBot) -> None:
    """Stop in the order that loses nothing and leaves nobody waiting in silence.

    1. Refuse new work: commands and report confirmations get "Warden is restarting".
    2. Stop the outbox: running attempts get ``OUTBOX_SHUTDOWN_GRACE_SECONDS`` to finish;
       the rest stay ``pending``, or ``in_flight`` to be reconciled with the upstream at
       the next start (never sent blindly twice).
    3. Let outcome DMs and review-post updates already under way finish, while Discord
       is still connected.
    4. Close the Discord connection; ``open_app`` then stops the web server and closes
       the HTTP clients and the database.
    """
    started = time.monotonic()
    deps = bot.deps
    try:
        bot.draining = True
        if deps.reports is not None:
            deps.reports.stop_taking_reports()
        if deps.outbox is not None:
            await deps.outbox.stop()
        if deps.reports is not None:
            await deps.reports.close()
        if deps.review is not None:
            await deps.review.close()
    finally:
        await bot.close()
        log.info("shutdown: work parked and Discord closed in %.1fs",
                 time.monotonic() - started)


async def run(settings: Settings, **bot_options: Any) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully (``shutdown``).

    ``bot_options`` go to discord.py (the benchmarks shorten ``guild_ready_timeout``).
    """
    assert settings.discord_token is not None  # load_settings guarantees it
    async with open_app(settings, freeze_gc=True, **bot_options) as bot:
        loop = asyncio.get_running_loop()
        stopping: list[asyncio.Task[None]] = []

        def request_stop(name: str) -> None:
            if stopping:
                log.info("%s: already shutting down", name)
                return
            log.info("%s: shutting down; refusing new reports, finishing in-flight work", name)
            stopping.append(loop.create_task(shutdown(bot), name="warden-shutdown"))

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, request_stop, sig.name)
            except NotImplementedError:  # pragma: no cover - non-Unix event loops
                pass
        try:
            await bot.start(settings.discord_token.get_secret_value())
        except Exception:
            if not stopping:
                raise
            # Closing mid-login or mid-reconnect: the stop was asked for, not an error.
            log.info("shutdown: the Discord connection ended early", exc_info=True)
        if stopping:
            await stopping[0]
