"""Starting the stand-in (:func:`start_discord_standin`) and running a real bot
against it (:func:`run_bot`)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import StandInAssertionError
from .gateway import Gateway
from .messaging import Messaging
from .ratelimits import ChannelPostLimits
from .rest import GATEWAY_PATH, RestConfig, RestContext, build_app
from .routes_core import register as register_core
from .routes_interactions import register as register_interactions
from .standin import DiscordStandIn
from .state import DEFAULT_MEMBERS, StandInState

if TYPE_CHECKING:
    import discord
    from discord.ext import commands


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def start_discord_standin(
    *,
    guild_name: str = "Warden Test Guild",
    members: Iterable[str] = DEFAULT_MEMBERS,
    extra_members: int = 0,
    default_timeout: float = 5.0,
    ack_deadline: float | None = 3.0,
    rate_limit_headers: bool = True,
    expected_token: str | None = None,
    heartbeat_interval_ms: int = 41_250,
    click_settle_delay: float = 0.02,
    record: bool = True,
    channel_posts: ChannelPostLimits | None = None,
    guild_shard: tuple[int, int] | None = None,
    shards: int = 1,
    max_concurrency: int = 1,
    enforce_identify_limit: bool = False,
) -> AsyncIterator[DiscordStandIn]:
    """Start the stand-in on ``127.0.0.1`` (ephemeral port) with one seeded guild.

    Args:
        guild_name / members / extra_members: the seeded guild (``extra_members`` adds
            ``member0..N-1``; more than 250 members makes the guild "large", so a bot
            with the GUILD_MEMBERS intent chunks it over the gateway).
        default_timeout: seconds every wait helper uses by default.
        ack_deadline: callbacks later than this after dispatch get 404/10062 "Unknown
            interaction", as on Discord (3 s); None disables the check.
        rate_limit_headers: send ``X-RateLimit-*`` headers with a roomy bucket on every
            answer (without them discord.py serialises calls per route).
        expected_token: if set, any other bot token gets 401 / gateway close 4004.
        click_settle_delay: see :meth:`DiscordStandIn.click`.
        record: False keeps no request log and no message history (``requests`` and
            ``message_log`` stay empty; ``messages`` still has every message's latest
            version): for benchmarks with thousands of interactions.
        channel_posts: the per-channel message-post limit, announced in headers and
            enforced with 429s (default: Discord's 5 per 5 s; ``posts=0`` turns it off).
        guild_shard: ``(shard_id, shard_count)``: the seeded guild's id lands on that shard.
        shards / max_concurrency: what ``GET /gateway/bot`` recommends and allows.
        enforce_identify_limit: answer an IDENTIFY past ``max_concurrency`` per 5 s (per
            rate-limit key) with op 9 INVALID_SESSION, as Discord does (off by default:
            tests that restart a bot within 5 s would wait).
    """
    sock = _free_socket()
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    state = StandInState(public_base=base_url, record=record)
    gateway = Gateway(
        state,
        gateway_url=lambda: f"ws://127.0.0.1:{port}{GATEWAY_PATH}",
        heartbeat_interval_ms=heartbeat_interval_ms,
        expected_token=expected_token,
    )
    gateway.recommended_shards = shards
    gateway.max_concurrency = max_concurrency
    gateway.enforce_identify_limit = enforce_identify_limit
    messaging = Messaging(state, gateway)
    config = RestConfig(
        rate_limit_headers=rate_limit_headers,
        ack_deadline=ack_deadline,
        expected_token=expected_token,
        channel_posts=channel_posts or ChannelPostLimits(),
    )
    ctx = RestContext(state, gateway, messaging, config)
    app = build_app(ctx, [register_core, register_interactions])
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.SockSite(runner, sock, backlog=4096)
    await site.start()
    standin = DiscordStandIn(
        state,
        gateway,
        messaging,
        config,
        base_url,
        default_timeout=default_timeout,
        click_settle_delay=click_settle_delay,
    )
    standin._guild = state.add_guild(
        guild_name, members=members, extra_members=extra_members, shard=guild_shard
    )
    try:
        yield standin
    finally:
        await gateway.close()
        await runner.cleanup()
        sock.close()


@asynccontextmanager
async def run_bot(
    bot: commands.Bot | discord.Client,
    standin: DiscordStandIn,
    token: str = "test-token",
    *,
    ready_timeout: float = 10.0,
    raise_bot_errors: bool = True,
) -> AsyncIterator[Any]:
    """Run a real discord.py bot against the stand-in until the block exits.

    Points discord.py at the stand-in (``point_discord_at``), starts ``bot.start(token)``
    in a task and waits until the bot is ready. Construct bots with a small
    ``guild_ready_timeout`` (e.g. ``0.05``): discord.py waits that long after the last
    GUILD_CREATE before ``on_ready`` (default 2 s).

    On a normal exit it first waits (at most 2 s) until the bot has had no REST call
    in flight for a moment, so commands still finishing do not fail on shutdown. Then
    it closes the bot, re-raises an exception the bot's task died with, fails if the
    stand-in itself hit a bug, and (``raise_bot_errors``) fails if the ``discord``
    logger logged an ERROR meanwhile (exceptions in commands, views, modals, event
    handlers) - pass False, or clear ``standin.bot_errors``, in tests that expect such
    errors. discord.py's endpoints are restored afterwards.
    """
    from discord.utils import MISSING

    from bot.discord_endpoints import current_endpoints, point_discord_at

    previous = current_endpoints()
    point_discord_at(standin.api_base_url, standin.gateway_url)
    collector = _ErrorCollector(standin.state)
    discord_logger = logging.getLogger("discord")
    discord_logger.addHandler(collector)
    standin.attach_bot(bot)
    errors_before = len(standin.state.bot_errors)
    task: asyncio.Task[None] = asyncio.create_task(bot.start(token), name="standin-bot")
    body_failed = False
    try:
        deadline = time.monotonic() + ready_timeout
        while not (bot._ready is not MISSING and bot.is_ready()):
            if task.done():
                exc = task.exception()
                raise StandInAssertionError(
                    f"the bot stopped before becoming ready: {exc!r}"
                ) from exc
            if time.monotonic() > deadline:
                raise StandInAssertionError(
                    f"the bot was not ready after {ready_timeout}s (gateway identifies="
                    f"{standin.gateway.identify_count}, "
                    f"events sent={dict(standin.gateway.sent_events)}). "
                    "Is guild_ready_timeout small? Bot errors: "
                    + "; ".join(standin.bot_errors[-3:])
                )
            await asyncio.sleep(0.005)
        yield bot
        await standin.wait_idle(timeout=2.0, fail=False)
    except BaseException:
        body_failed = True
        raise
    finally:
        try:
            await asyncio.wait_for(bot.close(), timeout=5.0)
        finally:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5.0)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:  # noqa: S110 - surfaced below unless the body already failed
                pass
            discord_logger.removeHandler(collector)
            standin.detach_bot(bot)
            point_discord_at(*previous)
    if task.done() and not task.cancelled() and task.exception() is not None and not body_failed:
        raise StandInAssertionError(
            f"the bot's task failed: {task.exception()!r}"
        ) from task.exception()
    if standin.state.internal_errors and not body_failed:
        raise StandInAssertionError(
            f"the Discord stand-in hit internal errors: {standin.state.internal_errors}"
        )
    new_errors = standin.state.bot_errors[errors_before:]
    if raise_bot_errors and new_errors and not body_failed:
        raise StandInAssertionError(
            "the bot logged errors while running:\n" + "\n".join(new_errors)
        )


class _ErrorCollector(logging.Handler):
    """Keeps ERROR records of the ``discord`` logger in ``state.bot_errors``."""

    def __init__(self, state: StandInState) -> None:
        super().__init__(level=logging.ERROR)
        self._state = state

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f"\n{logging.Formatter().formatException(record.exc_info)}"
        self._state.bot_errors.append(text)
        self._state.notify()
