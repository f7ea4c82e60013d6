"""Builds Warden from its settings and runs it: the ``main()`` of the application.

Following discord.py's advanced start-up example, the database, HTTP clients and
services are created here and handed to the bot, and torn down here in reverse.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot import USER_AGENT
from bot.apis.bungie import BungieClient
from bot.apis.errors import ApiError
from bot.apis.http import build_http_client
from bot.apis.pacing import Limiter, SharedLimiter
from bot.apis.retry import RetryPolicy
from bot.apis.sanctions import SanctionsClient
from bot.app import Services, WardenBot
from bot.crypto import TokenBox
from bot.discord_channels import DiscordChannelPoster
from bot.discord_endpoints import point_discord_at
from bot.discord_notifier import DiscordNotifier
from bot.identify_gate import IdentifyGate, LocalIdentifyGate, ProcessIdentifyGate
from bot.metrics import WardenMetrics
from bot.notify import Notifier
from bot.services.audit.heads import AuditHeadPoster
from bot.services.delivery.bungie_mode import BungieMode
from bot.services.delivery.destinations import BUILT_IN
from bot.services.delivery.outbox import OutboxPolicy, OutboxWorker
from bot.services.delivery.registry import (
    DestinationContext,
    DestinationFactory,
    DestinationRegistry,
)
from bot.services.event_relay import EventRelay
from bot.services.events import EventBus
from bot.services.health import HealthService
from bot.services.linking.providers import BungieLinkProvider, GameLinkProvider, LinkProvider
from bot.services.linking.service import LinkingService
from bot.services.reporting.reporter_notices import ReporterMessenger
from bot.services.reporting.service import ReportService
from bot.services.review.access import Moderators
from bot.services.review.lifecycle import ReportLifecycle
from bot.services.review.member_actions import MemberActions
from bot.services.review.posts import ReviewPosts
from bot.services.review.queries import ReportQueries
from bot.services.review.server_settings import ServerSettings
from bot.settings import Settings
from bot.store import Database, Lease, Store, this_process
from bot.store.buckets import ApiBucket
from bot.store.notices import ProcessRun
from bot.web import WebServer

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    start_background: bool = True,
    ephemeral_database: bool = False,
    destinations: Sequence[DestinationFactory] = BUILT_IN,
    **bot_options: Any,
) -> AsyncIterator[WardenBot]:
    """Everything Warden needs, built once in one pass, and closed in reverse.

    ``ephemeral_database`` uses a throw-away in-memory database, for commands such
    as ``sync --dry-run`` that only need the command tree. ``destinations``: where
    reports go (the built-in ones; tests add their own).
    """
    # The review side's Discord parts live in cogs/review (the board posts its buttons),
    # and they are handed to the services here, at construction.
    from cogs.review.board import DiscordReviewBoard
    from cogs.review.member_moderation import DiscordMemberModeration
    from cogs.review.reply import reply_hint

    point_discord_at(settings.discord_api_base_url, settings.discord_gateway_url)
    async with AsyncExitStack() as stack:
        db = await Database.open(
            Path(":memory:") if ephemeral_database else settings.database_location()
        )
        stack.push_async_callback(db.close)
        me = ProcessRun(this_process(settings.shard_ids), uuid.uuid4().hex[:12])
        store = Store(db, lease=Lease(me.host))
        channel = db.event_channel()
        relay = None if channel is None else EventRelay(channel, me.name)
        if relay is not None:
            stack.push_async_callback(relay.close)
        events = EventBus(relay)
        metrics = WardenMetrics()
        bungie = open_bungie(settings, stack, metrics, pace=_bungie_pace(settings, db))
        sanctions = open_sanctions(settings, stack, metrics)

        bot_options.setdefault("identify_gate", identify_gate(settings))
        bot = WardenBot(start_background=start_background, shard_count=settings.shard_count,
                        shard_ids=settings.shard_list(), **bot_options)
        stack.push_async_callback(bot.close)
        notifier = DiscordNotifier(bot, store.locales)
        linking = _linking_service(settings, store, notifier, metrics, bungie, sanctions)
        context = DestinationContext(
            settings=settings, store=store, notifier=notifier, metrics=metrics, bungie=bungie,
            sanctions=sanctions, linking=linking,
            bungie_mode=BungieMode(store, settings, linking=linking is not None),
        )
        registry = DestinationRegistry([make(context) for make in destinations])
        moderators = Moderators(store)
        health = HealthService(
            store=store, metrics=metrics, destinations=registry.configured_keys,
            ready=lambda: bot.connected and not bot.draining, shards=bot.shard_states,
        )
        # Always on, for /healthz and /metrics; the OAuth routes only with linking.
        web = WebServer(
            linking,
            host=settings.web_host,
            port=settings.web_port,
            secure_cookies=(settings.public_base_url or "").startswith("https://"),
            health=health,
        )
        # Stops before the bot and the database close: no callback outlives them.
        stack.push_async_callback(web.stop)
        # One messenger, so that no notice is DMed twice by two services at once.
        messenger = ReporterMessenger(store, notifier, registry.name,
                                      read_live=notifier.live_reply_text, me=me)
        audit_heads = AuditHeadPoster(store, DiscordChannelPoster(bot))
        stack.push_async_callback(audit_heads.stop)
        lifecycle = ReportLifecycle(
            store=store, events=events, moderators=moderators, destinations=registry,
            messenger=messenger, reply_hint=reply_hint,
        )
        services = Services(
            settings=settings, store=store, events=events, metrics=metrics, notifier=notifier,
            destinations=registry, linking=linking, bungie=bungie, sanctions=sanctions,
            health=health,
            reports=ReportService(
                store=store, events=events, destinations=registry, bungie=bungie,
                linking=linking, members=notifier, metrics=metrics, messenger=messenger,
                drafts_per_hour=settings.report_drafts_per_hour,
                lookups_per_minute=settings.autocomplete_lookups_per_minute,
                sanctions=sanctions,
            ),
            lifecycle=lifecycle,
            member_actions=MemberActions(
                store=store, events=events, moderators=moderators,
                moderation=DiscordMemberModeration(bot), notifier=notifier,
                lifecycle=lifecycle,
            ),
            review_posts=ReviewPosts(
                store=store, board=DiscordReviewBoard(bot), destinations=registry,
                settle_seconds=settings.review_post_settle_seconds,
                catch_up_interval=settings.review_catch_up_interval_seconds,
                holds_guild=holds_guild(settings),
            ),
            queries=ReportQueries(store=store, moderators=moderators, destinations=registry),
            server_settings=ServerSettings(store=store, destinations=registry,
                                           retention_days=settings.report_retention_days),
            outbox=_outbox(settings, store, events, registry, metrics),
        )
        for listener in (services.review_posts, services.reports, services.outbox):
            stack.callback(events.listen(listener))
        events.start()
        stack.push_async_callback(events.close)
        stack.push_async_callback(services.review_posts.close)
        stack.push_async_callback(services.reports.close)
        # Runs before the HTTP clients and the database close: attempts end cleanly first.
        stack.push_async_callback(services.outbox.stop)
        await services.reports.drop_stale_drafts()
        bot.hand_over(services, background=[
            web.start,
            # Once logged in, DMs can go out before the gateway is up.
            _started(services.reports.start_telling_untold),
            _started(audit_heads.start),
            services.outbox.start,
        ])
        yield bot


def holds_guild(settings: Settings) -> Callable[[int], bool] | None:
    """Whether this process runs a server's shard (Discord's rule: ``(id >> 22) % count``);
    None when it runs them all."""
    shards = settings.shard_list()
    if shards is None or settings.shard_count is None:
        return None
    count, held = settings.shard_count, frozenset(shards)
    return lambda guild_id: (guild_id >> 22) % count in held


def identify_gate(settings: Settings) -> IdentifyGate:
    """A process that runs only some shards paces its logins with every process using
    this data folder (one machine; several machines need the database-backed gate); one
    that runs them all, within itself."""
    if settings.shard_list() is None:
        return ProcessIdentifyGate()
    return LocalIdentifyGate(settings.database_path.parent / "identify")


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


def _started(start: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """A background job that starts its own task, as a starter ``hand_over`` awaits."""

    async def starter() -> None:
        start()

    return starter


def _outbox(settings: Settings, store: Store, events: EventBus,
            registry: DestinationRegistry, metrics: WardenMetrics) -> OutboxWorker:
    policy = OutboxPolicy(
        concurrency=settings.outbox_concurrency,
        max_attempts=settings.outbox_max_attempts,
        base_delay=settings.outbox_retry_base_seconds,
        max_delay=settings.outbox_retry_max_seconds,
        give_up_after=settings.outbox_give_up_hours * 3600.0,
        shutdown_grace=settings.outbox_shutdown_grace_seconds,
    )
    return OutboxWorker(store=store, events=events, senders=registry.senders(), policy=policy,
                        metrics=metrics)


def _linking_service(
    settings: Settings, store: Store, notifier: Notifier, metrics: WardenMetrics,
    bungie: BungieClient | None, sanctions: SanctionsClient | None,
) -> LinkingService | None:
    if not settings.linking_enabled:
        return None
    assert settings.public_base_url is not None  # linking_enabled guarantees it
    providers: list[LinkProvider] = []
    if bungie is not None and settings.bungie_oauth_enabled:
        providers.append(BungieLinkProvider(bungie))
    if sanctions is not None:
        providers.append(GameLinkProvider(sanctions))
    return LinkingService(
        store=store,
        box=TokenBox(settings.token_keys()),
        public_base_url=settings.public_base_url,
        providers=providers,
        notifier=notifier,
        metrics=metrics,
    )


def _http_client(settings: Settings) -> httpx.AsyncClient:
    return build_http_client(
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        user_agent=USER_AGENT,
    )


def _bungie_pace(settings: Settings, db: Database) -> Limiter:
    """The installation's budget when processes share PostgreSQL, else this process's."""
    if db.backend == "postgresql":
        return SharedLimiter(ApiBucket(db, "bungie", rate=settings.bungie_requests_per_second))
    return Limiter(rate=settings.bungie_requests_per_second)


def open_bungie(
    settings: Settings, stack: AsyncExitStack, metrics: WardenMetrics | None = None,
    pace: Limiter | None = None,
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
        limiter=pace or Limiter(rate=settings.bungie_requests_per_second),
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
    services = bot.services
    try:
        bot.draining = True
        services.reports.stop_taking_reports()
        await services.outbox.stop()
        await services.reports.close()
        await services.review_posts.close()
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
