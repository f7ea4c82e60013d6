"""The Discord bot: a ``commands.Bot`` that is handed everything it uses.

``bot.runtime`` builds the database, HTTP clients and services and passes them
in; ``setup_hook`` loads every extension in ``cogs/`` and starts background
work. Nothing here is built at import time.
"""

from __future__ import annotations

import gc
import logging
import pkgutil
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

import cogs
from bot.apis.bungie import BungieClient
from bot.apis.sanctions import SanctionsClient
from bot.discord_notifier import link_view
from bot.errors import NeedsLink, Restarting, UserFacingError
from bot.log_context import bind_log_ids
from bot.metrics import WardenMetrics
from bot.notify import LinkButton, Notifier
from bot.services.events import EventBus
from bot.services.linking import LinkingService
from bot.services.outbox import OutboxWorker
from bot.services.reports import ReportService
from bot.services.review import ReviewService
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

BackgroundStarter = Callable[["WardenBot"], Awaitable[None]]

FULL_COLLECTION_EVERY = 3
"""Once start-up is frozen (``WardenBot(freeze_gc=True)``), a full garbage collection
runs at every 3rd collection of the middle generation instead of Python's 10th."""


@dataclass
class Deps:
    """What the cogs and background tasks may use. Built in ``bot.runtime.open_app``.

    Each feature adds its service here as a typed field; a field left ``None``
    means the feature is not configured on this installation.
    """

    settings: Settings
    store: Store
    events: EventBus = field(default_factory=EventBus)
    metrics: WardenMetrics = field(default_factory=WardenMetrics)
    notifier: Notifier | None = None
    bungie: BungieClient | None = None
    sanctions: SanctionsClient | None = None
    linking: LinkingService | None = None
    review: ReviewService | None = None
    reports: ReportService | None = None
    outbox: OutboxWorker | None = None


def cog_modules() -> list[str]:
    """Every extension in the ``cogs`` package, in a stable order."""
    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__))


class WardenTree(app_commands.CommandTree["WardenBot"]):
    async def interaction_check(self, interaction: discord.Interaction[WardenBot], /) -> bool:
        """Every command's log lines carry its interaction id; while shutting down, every
        command is refused with a clear message rather than left to time out."""
        bind_log_ids(interaction_id=interaction.id)
        if not interaction.client.draining:
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await send_ephemeral(interaction, Restarting.MESSAGE)
        return False

    async def on_error(
        self, interaction: discord.Interaction[WardenBot], error: app_commands.AppCommandError
    ) -> None:
        await report_interaction_error(interaction, error)


async def report_interaction_error(
    interaction: discord.Interaction[Any], error: BaseException
) -> None:
    """Tell the member briefly what went wrong; log the full story with the interaction id."""
    original = getattr(error, "original", error)
    message: str
    if isinstance(original, NeedsLink):
        buttons = await _relink_buttons(interaction, original)
        view = link_view(buttons)
        if view is not None:
            await send_ephemeral(interaction, original.message, view=view)
            return
    if isinstance(original, UserFacingError):
        message = original.message
    elif isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        message = f"You need the {needed} permission to use this."
    elif isinstance(error, app_commands.NoPrivateMessage):
        message = "This command only works in a server."
    elif isinstance(error, app_commands.CheckFailure):
        message = "You are not allowed to use this here."
    elif isinstance(error, app_commands.TransformerError):
        shown = discord.utils.escape_markdown(str(error.value))[:80]
        message = f"I could not understand `{shown}`."
    else:
        log.error(
            "unhandled error in interaction %s (%s)\n%s",
            interaction.id,
            interaction.command.qualified_name if interaction.command else interaction.type,
            "".join(traceback.format_exception(original)),
            extra={"interaction_id": interaction.id},
        )
        message = (
            "Something went wrong on Warden's side; nothing you did. The error was logged as "
            f"`{interaction.id}`: please try again, or tell a moderator if it keeps happening."
        )
    await send_ephemeral(interaction, message)


async def _relink_buttons(
    interaction: discord.Interaction[Any], error: NeedsLink
) -> list[LinkButton]:
    """One-time link buttons for the accounts the failed action needed."""
    deps = getattr(interaction.client, "deps", None)
    linking = getattr(deps, "linking", None)
    if linking is None:
        return []
    try:
        buttons: list[LinkButton] = await linking.relink_buttons(
            interaction.user.id, error.providers
        )
    except UserFacingError:
        return []
    return buttons


async def send_ephemeral(interaction: discord.Interaction[Any], message: str, **kw: Any) -> None:
    """Answer ephemerally whether or not the interaction was already acknowledged."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none(), **kw
            )
        else:
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none(), **kw
            )
    except (discord.HTTPException, aiohttp.ClientError):
        # ClientError: the connection dropped under the reply (Warden stopping, say).
        log.warning("could not deliver an error message for interaction %s", interaction.id)


def build_intents() -> discord.Intents:
    # Interactions carry the member and resolved data: no member list or message content needed.
    return discord.Intents(guilds=True)


class WardenBot(commands.Bot):
    def __init__(
        self,
        deps: Deps,
        *,
        start_background: bool = True,
        background: list[BackgroundStarter] | None = None,
        freeze_gc: bool = False,
        **options: Any,
    ) -> None:
        """``freeze_gc``: after start-up, exempt everything built so far from garbage
        collection, and collect the rest more often (``FULL_COLLECTION_EVERY``); for the
        process that runs Warden, not for tests."""
        options.setdefault("guild_ready_timeout", 2.0)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=build_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=WardenTree,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            **options,
        )
        self.deps = deps
        self.start_background = start_background
        self._background = background or []
        self._freeze_gc = freeze_gc
        self.draining = False
        """Set when shutdown begins: commands are refused, in-flight work finishes."""

    @property
    def connected(self) -> bool:
        """Ready and holding a live gateway connection (not starting, reconnecting or
        closed)."""
        ws = self.ws
        return self.is_ready() and not self.is_closed() and ws is not None and ws.open

    async def setup_hook(self) -> None:
        for name in cog_modules():
            await self.load_extension(name)
        if self.start_background:
            for start in self._background:
                await start(self)
        if self._freeze_gc:
            # Modules, classes and functions live as long as the process, yet every full
            # collection walks them all, pausing the event loop (100 ms and more on a busy
            # 2-core machine, measured by bench/ack_latency.py); frozen, only what came
            # later is walked. Only the young generations are collected first: start-up
            # leaves no garbage in the old one (a full collection here found none and
            # cost 20-40 ms of every start-up, walking all of it).
            gc.collect(1)
            gc.freeze()
            # Each interaction leaves garbage that only a full collection frees: discord.py's
            # interaction, view and message objects refer to each other, and they live
            # across awaits, so they outlast the young generations. With start-up frozen a
            # full collection is cheap, so it runs more often than Python's default (every
            # 10th middle-generation collection): under load about 2 MiB less of that
            # garbage waits at a time, for about 0.06 ms more CPU per report, in shorter
            # pauses (measured with bench/memory.py).
            young, middle, _ = gc.get_threshold()
            gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)

    async def on_ready(self) -> None:
        log.info("ready as %s in %d server(s)", self.user, len(self.guilds))


def command_payload(
    bot: WardenBot, guild: discord.abc.Snowflake | None = None
) -> list[dict[str, Any]]:
    """The exact JSON that a tree sync sends to Discord for ``guild`` (or globally)."""
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]
