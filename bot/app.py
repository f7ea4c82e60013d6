"""The Discord bot: a ``commands.AutoShardedBot`` that is handed everything it uses.

``bot.runtime.open_app`` builds the database, HTTP clients and services (``Services``)
and hands them to the bot; ``setup_hook`` loads every extension in ``cogs/`` and starts
background work. Nothing here is built at import time.
"""

from __future__ import annotations

import gc
import logging
import pkgutil
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import MISSING

import cogs
from bot.apis.bungie import BungieClient
from bot.apis.sanctions import SanctionsClient
from bot.discord_names import account_handle
from bot.discord_notifier import link_view
from bot.errors import NeedsLink, Restarting, UserFacingError
from bot.i18n import localize, t
from bot.i18n.translator import WardenTranslator
from bot.identify_gate import IdentifyGate, rate_limit_key
from bot.log_context import bind_log_ids
from bot.metrics import WardenMetrics
from bot.notify import LinkButton, Notifier
from bot.services.delivery.outbox import OutboxWorker
from bot.services.delivery.registry import DestinationRegistry
from bot.services.events import EventBus
from bot.services.health import HealthService
from bot.services.linking.service import LinkingService
from bot.services.reporting.service import ReportService
from bot.services.review.lifecycle import ReportLifecycle
from bot.services.review.member_actions import MemberActions
from bot.services.review.posts import ReviewPosts
from bot.services.review.queries import ReportQueries
from bot.services.review.server_settings import ServerSettings
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

BackgroundStarter = Callable[[], Awaitable[None]]

FULL_COLLECTION_EVERY = 3
"""Once start-up is frozen (``WardenBot(freeze_gc=True)``), a full garbage collection
runs at every 3rd collection of the middle generation instead of Python's 10th."""


@dataclass(frozen=True)
class Services:
    """Everything the cogs and background work use, each built once, fully, in
    ``bot.runtime.open_app``. Only what an operator may leave unconfigured is optional."""

    settings: Settings
    store: Store
    events: EventBus
    metrics: WardenMetrics
    notifier: Notifier
    destinations: DestinationRegistry
    reports: ReportService
    lifecycle: ReportLifecycle
    member_actions: MemberActions
    review_posts: ReviewPosts
    queries: ReportQueries
    server_settings: ServerSettings
    outbox: OutboxWorker
    health: HealthService
    linking: LinkingService | None
    bungie: BungieClient | None
    sanctions: SanctionsClient | None

    def need_linking(self) -> LinkingService:
        """Account linking, or the member is told it is not set up here."""
        if self.linking is None:
            raise UserFacingError(
                t("Account linking is not set up on this Warden. Ask the server's admins.")
            )
        return self.linking


def services_of(client: discord.Client) -> Services:
    """How a cog, button or modal reaches the services: the one way."""
    if not isinstance(client, WardenBot):
        raise TypeError(f"Warden's cogs run on a WardenBot, not {type(client).__name__}")
    return client.services


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
        message = t("You need the {needed} permission to use this.", needed=needed)
    elif isinstance(error, app_commands.NoPrivateMessage):
        message = t("This command only works in a server.")
    elif isinstance(error, app_commands.CheckFailure):
        message = t("You are not allowed to use this here.")
    elif isinstance(error, app_commands.TransformerError):
        shown = discord.utils.escape_markdown(str(error.value))[:80]
        message = t("I could not understand `{shown}`.", shown=shown)
    else:
        log.error(
            "unhandled error in interaction %s (%s)\n%s",
            interaction.id,
            interaction.command.qualified_name if interaction.command else interaction.type,
            "".join(traceback.format_exception(original)),
            extra={"interaction_id": interaction.id},
        )
        message = t(
            "Something went wrong on Warden's side; nothing you did. The error was logged as "
            "`{id}`: please try again, or tell a moderator if it keeps happening.",
            id=interaction.id)
    await send_ephemeral(interaction, message)


async def _relink_buttons(
    interaction: discord.Interaction[Any], error: NeedsLink
) -> list[LinkButton]:
    """One-time link buttons for the accounts the failed action needed."""
    linking = services_of(interaction.client).linking
    if linking is None:
        return []
    try:
        buttons: list[LinkButton] = await linking.relink_buttons(
            interaction.user.id, error.providers,
            discord_name=account_handle(interaction.user),
        )
    except UserFacingError:
        return []
    return buttons


async def send_ephemeral(interaction: discord.Interaction[Any], message: str, **kw: Any) -> None:
    """Answer ephemerally, in the member's language, whether or not the interaction was
    already acknowledged."""
    message = localize(message, interaction.locale)
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


class WardenBot(commands.AutoShardedBot):
    def __init__(
        self,
        *,
        start_background: bool = True,
        freeze_gc: bool = False,
        identify_gate: IdentifyGate | None = None,
        **options: Any,
    ) -> None:
        """``freeze_gc``: after start-up, exempt everything built so far from garbage
        collection, and collect the rest more often (``FULL_COLLECTION_EVERY``); for the
        process that runs Warden, not for tests.

        Shards: ``shard_count`` and ``shard_ids`` (discord.py's options) say which shards
        this process runs; without them, every shard Discord recommends. ``identify_gate``
        paces logins with the other processes of the installation (``bot.identify_gate``);
        without one, discord.py's own pacing (5 s between this process's shards)."""
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
        self._services: Services | None = None
        self.start_background = start_background
        self._background: list[BackgroundStarter] = []
        self._freeze_gc = freeze_gc
        self._identify_gate = identify_gate
        self._max_concurrency: int | None = None
        self.draining = False
        """Set when shutdown begins: commands are refused, in-flight work finishes."""

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the bot was started before open_app handed it its services")
        return self._services

    def hand_over(self, services: Services, *, background: list[BackgroundStarter]) -> None:
        """Called once by ``open_app``: the services need the bot (DMs, review posts), so
        the bot is made first and receives them, with what to start once it logs in."""
        if self._services is not None:
            raise RuntimeError("the bot already has its services")
        self._services = services
        self._background = background

    @property
    def connected(self) -> bool:
        """Ready and holding a live gateway connection on every shard it runs (not
        starting, reconnecting or closed)."""
        states = self.shard_states()
        return (self.is_ready() and not self.is_closed() and bool(states)
                and all(states.values()))

    def shard_states(self) -> dict[int, bool]:
        """Each shard this process runs, and whether its gateway connection is open (a
        shard not launched yet counts as not connected)."""
        if self.shard_count is None:
            return {}
        launched = self.shards
        wanted = self.shard_ids if self.shard_ids is not None else range(self.shard_count)
        return {shard_id: shard_id in launched and not launched[shard_id].is_closed()
                for shard_id in wanted}

    async def close(self) -> None:
        if self._ready is MISSING:
            # Never logged in (``sync --dry-run``, a failed start): discord.py's sharded
            # close would reach for a queue that only login creates.
            await self.http.close()
            return
        await super().close()

    async def launch_shards(self) -> None:
        # One GET /gateway/bot gives both the recommended count (when none is set) and
        # the identify concurrency the gate paces by; discord.py would ask for the count
        # only and drop the rest.
        if self._identify_gate is not None and not self.is_closed():
            try:
                count, _url, limits = await self.http.get_bot_gateway()
            except discord.GatewayNotFound:
                if self.shard_count is None:
                    raise  # nothing to go by; discord.py would fail the same way
                log.warning("GET /gateway/bot failed: logins paced as if max_concurrency=1")
                self._max_concurrency = 1
            else:
                self._max_concurrency = int(limits.get("max_concurrency", 1))
                if self.shard_count is None:
                    self.shard_count = count
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if self._identify_gate is None:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        key = rate_limit_key(shard_id or 0, self._max_concurrency or 1)
        await self._identify_gate.wait_turn(key)

    async def _remember_locale(self, interaction: discord.Interaction[Any]) -> None:
        """A member's last seen locale is the language of the DMs they get later."""
        if self._services is None:
            return
        try:
            await self._services.store.locales.remember(interaction.user.id,
                                                        interaction.locale.value)
        except Exception:
            log.warning("could not store the locale of interaction %s", interaction.id)

    async def setup_hook(self) -> None:
        # Before any sync: commands carry their localised descriptions and choices.
        await self.tree.set_translator(WardenTranslator())
        self.add_listener(self._remember_locale, "on_interaction")
        for name in cog_modules():
            await self.load_extension(name)
        if self.start_background:
            for start in self._background:
                await start()
        if self._freeze_gc:
            # Start-up objects live as long as the process: frozen, full collections stop
            # walking them (shorter event-loop pauses), so they can run more often and free
            # discord.py's cyclic per-interaction garbage sooner. Why and how much:
            # bench/RESULTS.md, section 4.
            gc.collect(1)
            gc.freeze()
            young, middle, _ = gc.get_threshold()
            gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)

    async def on_ready(self) -> None:
        log.info("ready as %s in %d server(s)", self.user, len(self.guilds))


async def command_payload(
    bot: WardenBot, guild: discord.abc.Snowflake | None = None
) -> list[dict[str, Any]]:
    """The exact JSON that a tree sync sends to Discord for ``guild`` (or globally), with
    the localisations its translator adds (as ``CommandTree.sync`` builds it)."""
    commands_ = bot.tree.get_commands(guild=guild)
    translator = bot.tree.translator
    if translator is None:
        return [command.to_dict(bot.tree) for command in commands_]
    return [await command.get_translated_payload(bot.tree, translator) for command in commands_]
