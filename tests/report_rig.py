"""A real Warden (``bot.runtime.open_app``) in the Discord stand-in, reporting to the
Bungie and sanctions stand-ins, over a SQLite file: everything a report touches.

    async with report_world(tmp_path, discord_standin) as w:
        await w.link_both(w.alice, w.alice_bungie, w.alice_game)
        reply = await w.report(w.alice, reason="cheating", player="Bob#0042")
        done = await w.confirm(w.alice, reply)

Accounts are linked by writing link rows with tokens the stand-ins issued, sealed
with the installation's key, exactly as the linking flow stores them (that flow
has its own tests). Retry delays are cut to milliseconds through settings, so
fault tests run in well under a second each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import WardenBot
from bot.crypto import TokenBox, generate_key
from bot.domain import FINAL_DELIVERY_STATUSES, Delivery, Provider, Reason, ReportLimits, ReviewMode
from bot.runtime import open_app
from bot.services.delivery.destinations import BUILT_IN
from bot.services.delivery.outbox import OutboxWorker
from bot.services.delivery.registry import DestinationFactory
from bot.services.reporting.requests import ReportRequest
from bot.services.reporting.service import ReportService
from bot.settings import Settings, load_settings
from bot.store import Store
from bot.store.links import NewLink, SealedTokens
from tests.linking_rig import free_port
from tests.standins.bungie import Account, BungieStandin
from tests.standins.discord import DiscordStandIn, InteractionHandle, Member, RecordedMessage
from tests.standins.discord import run_bot as run_standin_bot
from tests.standins.sanctions import Player, SanctionsStandin

FAST: dict[str, Any] = {
    "api_retry_attempts": 2,
    "api_retry_base_delay": 0.01,
    "api_retry_budget_seconds": 3.0,
    "outbox_retry_base_seconds": 0.02,
    "outbox_retry_max_seconds": 0.1,
    "outbox_max_attempts": 4,
    "outbox_shutdown_grace_seconds": 0.2,
    "http_read_timeout": 1.0,
    "review_post_settle_seconds": 0.0,
}
NO_LIMITS = ReportLimits(short_count=0, hour_count=0, day_count=0, target_cooldown_hours=0)


def sealed_tokens(box: TokenBox, access: str, refresh: str | None) -> SealedTokens:
    now = time.time()
    return SealedTokens(
        access_token=box.seal(access),
        refresh_token=None if refresh is None else box.seal(refresh),
        access_expires_at=now + 3600,
        refresh_expires_at=now + 90 * 86400,
    )


def bungie_link(box: TokenBox, bungie: BungieStandin, discord_user_id: int,
                account: Account) -> NewLink:
    """The link row the linking flow stores for ``account``, with tokens the stand-in
    issued, sealed with the installation's key (also used by ``bench/``)."""
    tokens = bungie.issue_tokens(account)
    return NewLink(
        discord_user_id=discord_user_id,
        provider=Provider.BUNGIE,
        account_id=str(account.bnet_id),
        display_name=account.bungie_name,
        tokens=sealed_tokens(box, tokens.access_token, tokens.refresh_token),
        destiny_membership_id=account.membership_id,
        destiny_membership_type=account.membership_type,
        details={"memberships": [{"membership_id": m.membership_id,
                                  "membership_type": m.membership_type}
                                 for m in account.memberships]},
    )


def game_link(box: TokenBox, sanctions: SanctionsStandin, discord_user_id: int,
              player: Player) -> NewLink:
    """Like ``bungie_link``, for a game (sanctions) account."""
    tokens = sanctions.issue_tokens(player)
    return NewLink(
        discord_user_id=discord_user_id,
        provider=Provider.GAME,
        account_id=str(player.uuid),
        display_name=player.display_name,
        tokens=sealed_tokens(box, tokens.access_token, tokens.refresh_token),
        platform="steam",
    )


@dataclass
class ReportWorld:
    discord: DiscordStandIn
    bungie: BungieStandin
    sanctions: SanctionsStandin
    bot: WardenBot
    settings: Settings
    box: TokenBox
    alice_bungie: Account
    bob_bungie: Account
    alice_game: Player
    bob_game: Player

    # ---- who is who --------------------------------------------------------------

    @property
    def alice(self) -> Member:
        return self.discord.guild.reporter

    @property
    def bob(self) -> Member:
        return self.discord.guild.target

    @property
    def carol(self) -> Member:
        return self.discord.guild.member("carol")

    @property
    def store(self) -> Store:
        return self.bot.services.store

    @property
    def service(self) -> ReportService:
        assert self.bot.services.reports is not None
        return self.bot.services.reports

    @property
    def outbox(self) -> OutboxWorker:
        assert self.bot.services.outbox is not None
        return self.bot.services.outbox

    @property
    def guild_id(self) -> int:
        return self.discord.guild.id

    # ---- setting things up ---------------------------------------------------------

    async def set_guild(self, **fields: Any) -> None:
        await self.store.guilds.update(self.guild_id, actor_id=None, **fields)

    async def link_bungie(self, member: Member, account: Account) -> None:
        await self.store.links.upsert(bungie_link(self.box, self.bungie, member.user.id, account))

    async def link_game(self, member: Member, player: Player) -> None:
        await self.store.links.upsert(game_link(self.box, self.sanctions, member.user.id, player))

    async def link_everyone(self) -> None:
        await self.link_bungie(self.alice, self.alice_bungie)
        await self.link_game(self.alice, self.alice_game)
        await self.link_bungie(self.bob, self.bob_bungie)
        await self.link_game(self.bob, self.bob_game)

    def activity(self, *players: Account, private: bool = False, hours_ago: float = 0.5,
                 **options: Any) -> int:
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
        return self.bungie.add_pgcr(list(players) or [self.alice_bungie, self.bob_bungie],
                                    private=private, period=when, **options)

    # ---- acting as a member -------------------------------------------------------------

    async def report(self, member: Member, **options: Any) -> RecordedMessage:
        """``/report`` with ``options``; the final ephemeral reply (draft or refusal)."""
        options.setdefault("reason", "cheating")
        handle = await self.discord.slash(member, "report", options=options)
        return await handle.wait_final()

    @staticmethod
    def confirm_id(reply: RecordedMessage) -> str:
        [custom_id] = [c for c in reply.custom_ids if c.startswith("warden:report:confirm:")]
        return custom_id

    @staticmethod
    def report_id(reply: RecordedMessage) -> int:
        return int(ReportWorld.confirm_id(reply).rsplit(":", 1)[1])

    async def confirm(self, member: Member, reply: RecordedMessage) -> InteractionHandle:
        return await self.discord.click(member, reply, self.confirm_id(reply))

    @staticmethod
    async def told(handle: InteractionHandle) -> RecordedMessage:
        """The draft once Confirm turned it into the report's final status (every
        destination answered)."""
        return await handle.wait_final(
            lambda m: "is confirmed and saved" in m.text and "sending…" not in m.text)

    async def report_and_confirm(self, member: Member, **options: Any) -> int:
        """A report drafted and confirmed; returns once it is accepted."""
        reply = await self.report(member, **options)
        handle = await self.confirm(member, reply)
        await handle.wait_final(lambda m: "confirmed" in m.text)
        return self.report_id(reply)

    async def file(self, member: Member, player: str, activity: int | None = None,
                   **kw: Any) -> int:
        """A report made and confirmed through the service, as the cog would (for tests
        about delivery rather than the Discord side)."""
        draft = await self.service.prepare(ReportRequest(
            guild_id=self.guild_id, channel_id=None, reporter_id=member.user.id,
            reason=kw.pop("reason", Reason.CHEATING), player=player,
            activity=None if activity is None else str(activity), **kw))
        await self.service.confirm(draft.report.id, actor_id=member.user.id)
        return draft.report.id

    async def wait_delivered(self, report_id: int, within: float = 10.0) -> list[Delivery]:
        """Every delivery of the report, once all are final."""

        async def check() -> list[Delivery] | None:
            rows = await self.store.deliveries.for_report(report_id)
            return rows if rows and all(r.status in FINAL_DELIVERY_STATUSES for r in rows) else None

        deadline = time.monotonic() + within
        while True:
            found = await check()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                rows = await self.store.deliveries.for_report(report_id)
                raise AssertionError(f"report {report_id} not delivered in {within}s: "
                                     f"{[(r.destination, r.status, r.last_error) for r in rows]}")
            await asyncio.sleep(0.02)


def world_settings(tmp_path: Path, discord: DiscordStandIn, bungie: BungieStandin,
                   sanctions: SanctionsStandin | None, port: int, key: str,
                   **overrides: Any) -> Settings:
    base_url = f"http://127.0.0.1:{port}"
    values: dict[str, Any] = {
        "database_path": tmp_path / "warden.db",
        "discord_api_base_url": discord.api_base_url,
        "discord_gateway_url": discord.gateway_url,
        "bungie_api_key": bungie.api_key,
        "bungie_client_id": bungie.client_id,
        "bungie_client_secret": bungie.client_secret,
        "bungie_api_base_url": bungie.api_base_url,
        "bungie_stats_base_url": bungie.stats_base_url,
        "bungie_oauth_authorize_url": bungie.authorize_url,
        "bungie_oauth_token_url": bungie.token_url,
        "web_host": "127.0.0.1",
        "web_port": port,
        "public_base_url": base_url,
        "token_encryption_key": key,
        # Like the server limits (NO_LIMITS), the per-member abuse limits are off here:
        # the tests of those limits turn them on.
        "report_drafts_per_hour": 0,
        "autocomplete_lookups_per_minute": 0,
        **FAST,
    }
    if sanctions is not None:
        values.update(sanctions_api_base_url=sanctions.base_url,
                      sanctions_client_id=sanctions.client_id,
                      sanctions_client_secret=sanctions.client_secret)
    values.update(overrides)
    return load_settings(require_token=False, **values)


@asynccontextmanager
async def run_warden(settings: Settings, discord: DiscordStandIn,
                     destinations: Sequence[DestinationFactory] = BUILT_IN,
                     ) -> AsyncIterator[WardenBot]:
    async with open_app(settings, guild_ready_timeout=0.05, destinations=destinations) as bot:
        async with run_standin_bot(bot, discord):
            yield bot


@asynccontextmanager
async def report_world(
    tmp_path: Path,
    discord: DiscordStandIn,
    *,
    grant_bnet_write: bool = True,
    review_mode: ReviewMode = ReviewMode.AUTO,
    limits: ReportLimits = NO_LIMITS,
    destinations: Sequence[DestinationFactory] = BUILT_IN,
    **overrides: Any,
) -> AsyncIterator[ReportWorld]:
    port = free_port()
    key = generate_key()
    async with AsyncExitStack() as stack:
        bungie = await stack.enter_async_context(
            BungieStandin(grant_bnet_write=grant_bnet_write))
        sanctions = await stack.enter_async_context(SanctionsStandin())
        settings = world_settings(tmp_path, discord, bungie, sanctions, port, key, **overrides)
        bot = await stack.enter_async_context(run_warden(settings, discord, destinations))
        world = ReportWorld(
            discord=discord, bungie=bungie, sanctions=sanctions, bot=bot, settings=settings,
            box=TokenBox(settings.token_keys()),
            alice_bungie=bungie.add_account("Alice", 1111),
            bob_bungie=bungie.add_account("Bob", 42),
            alice_game=sanctions.add_player("AliceInGame"),
            bob_game=sanctions.add_player("BobInGame"),
        )
        await world.set_guild(review_mode=review_mode, **_limit_fields(limits))
        yield world


def _limit_fields(limits: ReportLimits) -> dict[str, int]:
    return {
        "short_count": limits.short_count, "short_seconds": limits.short_seconds,
        "hour_count": limits.hour_count, "day_count": limits.day_count,
        "target_cooldown_hours": limits.target_cooldown_hours,
    }
