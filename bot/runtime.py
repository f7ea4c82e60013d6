"""Builds Warden from its settings and runs it: the ``main()`` of the application.

Following discord.py's advanced start-up example, the database, HTTP clients and
services are created here and handed to the bot, and torn down here in reverse.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import Deps, WardenBot
from bot.discord_endpoints import point_discord_at
from bot.discord_notifier import DiscordNotifier
from bot.settings import Settings
from bot.store import Database, Store

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
        bot = WardenBot(deps, start_background=start_background, **bot_options)
        stack.push_async_callback(bot.close)
        deps.notifier = DiscordNotifier(bot)
        yield bot


async def run(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    assert settings.discord_token is not None  # load_settings guarantees it
    async with open_app(settings) as bot:
        loop = asyncio.get_running_loop()
        closing: list[asyncio.Task[None]] = []

        def request_stop() -> None:
            if not closing:
                log.info("shutdown requested; finishing in-flight work")
                closing.append(loop.create_task(bot.close()))

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, request_stop)
            except NotImplementedError:  # pragma: no cover - non-Unix event loops
                pass
        await bot.start(settings.discord_token.get_secret_value())
