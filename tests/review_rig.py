"""A real Warden (``bot.runtime.open_app``) logged into the Discord stand-in, over a SQLite
file, plus helpers to put accepted reports in front of the review side.

    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()                       # /warden setup as the guild owner
        report = await w.accept_report()      # stored + REPORT_ACCEPTED, like the report flow
        post = await w.review_post(report)    # the embed in #reports

Reports are created through ``ReportStore`` and announced with ``REPORT_ACCEPTED``
exactly as the report service does, so these tests do not depend on the report flow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import WardenBot
from bot.domain import Case, Evidence, NewReport, Report, ReportLimits
from bot.runtime import open_app
from bot.services.events import Event, EventKind, Listening
from bot.services.review.lifecycle import ReportLifecycle
from bot.services.review.posts import ReviewPosts
from bot.settings import Settings, load_settings
from bot.store import Store
from bot.store.reports import Accepted
from tests.standins.discord import DiscordStandIn, InteractionHandle, Member, RecordedMessage
from tests.standins.discord import run_bot as run_standin_bot

NO_LIMITS = ReportLimits(short_count=0, hour_count=0, day_count=0, target_cooldown_hours=0)
BOB_BUNGIE_ID = 4611686018467284386


@dataclass
class ReviewWorld:
    discord: DiscordStandIn
    bot: WardenBot
    settings: Settings
    published: list[Event] = field(default_factory=list)
    made: int = 0

    def listens(self) -> Listening:
        return {kind: self._record for kind in EventKind}

    async def _record(self, event: Event) -> None:
        self.published.append(event)

    @property
    def store(self) -> Store:
        return self.bot.services.store

    @property
    def lifecycle(self) -> ReportLifecycle:
        return self.bot.services.lifecycle

    @property
    def posts(self) -> ReviewPosts:
        return self.bot.services.review_posts

    @property
    def guild_id(self) -> int:
        return self.discord.guild.id

    @property
    def mod(self) -> Member:
        return self.discord.guild.moderator

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
    def owner(self) -> Member:
        return self.discord.guild.owner

    def published_kinds(self, report_id: int) -> list[EventKind]:
        return [e.kind for e in self.published if e.report_id == report_id]

    async def setup(self, **options: Any) -> RecordedMessage:
        """``/warden setup`` by the owner: #reports, the Moderator role, plus ``options``."""
        g = self.discord.guild
        values: dict[str, Any] = {"channel": g.review_channel, "moderator_role": g.moderator_role}
        values.update(options)
        handle = await self.discord.slash(self.owner, "warden", values, subcommand="setup")
        return await handle.wait_final()

    async def accept_report(
        self,
        *,
        reporter: Member | None = None,
        deliveries: Sequence[tuple[str, str]] = (("bungie", "held"), ("sanctions", "held")),
        description: str = "Aimbot all match, snapped to heads through walls.",
        evidence: Sequence[Evidence] = (),
        guild_id: int | None = None,
        announce: bool = True,
        at: float | None = None,
        **fields: Any,
    ) -> Report:
        """A confirmed report, stored and announced as the report service does."""
        who = reporter or self.alice
        values: dict[str, Any] = {
            "guild_id": guild_id or self.guild_id,
            "channel_id": self.discord.guild.general_channel.id,
            "reporter_id": who.id,
            "reason": "cheating",
            "target_key": f"bungie:{BOB_BUNGIE_ID}",
            "description": description,
            "target_discord_id": self.bob.id,
            "target_bungie_membership_id": BOB_BUNGIE_ID,
            "target_bungie_membership_type": 3,
            "target_bungie_name": "Bob#1234",
            "target_character_id": 2305843009300000001,
            "target_player_uuid": "9f1c2d3e-0000-4000-8000-00000000b0b0",
            "target_game_name": "bobthebad",
            "reporter_destiny_membership_id": 4611686018400000001,
            # One report per player per activity is a rule: every report gets its own.
            "activity_id": 12345678901 + self.made,
            "activity_mode": 84,
            "activity_hash": 2295219155,
            "activity_period": "2025-01-31T20:15:00Z",
            "evidence": tuple(evidence),
        }
        values.update(fields)
        self.made += 1
        draft = await self.store.reports.create_draft(NewReport(**values), now=at)
        accepted = await self.store.reports.accept(
            draft.id, limits=NO_LIMITS, deliveries=list(deliveries), actor_id=who.id, now=at
        )
        assert isinstance(accepted, Accepted)
        if announce:
            await self.bot.services.events.publish(Event(EventKind.REPORT_ACCEPTED, draft.id))
            await self.posts.settled()  # the review post is made in the background
        report = await self.store.reports.get(draft.id)
        assert report is not None
        return report

    async def report(self, report_id: int) -> Report:
        report = await self.store.reports.get(report_id)
        assert report is not None
        return report

    async def case(self, report: Report) -> Case:
        """The case the report belongs to, as stored now."""
        stored = await self.report(report.id)
        assert stored.case_id is not None
        case = await self.store.cases.get(stored.case_id)
        assert case is not None
        return case

    async def review_post(self, report: Report) -> RecordedMessage:
        """The latest version of the report's review post, in whichever channel (waits for
        it to exist)."""
        def check() -> RecordedMessage | None:
            for channel in self.discord.guild.text_channels():
                for message in self.discord.channel_messages(channel):
                    if f"Warden report id {report.id}" in message.text:
                        return message
            return None

        found: RecordedMessage = await self.discord.wait_until(
            check, description=f"the review post of report {report.id}"
        )
        return found

    async def click(self, who: Member, message: RecordedMessage, action: str,
                    report: Report, destination: str | None = None) -> InteractionHandle:
        # Retry names the report whose delivery failed; every other button the case.
        target = report.id if action == "retry" else report.case_id
        custom_id = f"warden:review:{action}:{target}" + (
            f":{destination}" if destination else ""
        )
        return await self.discord.click(who, message, custom_id)


def settings_for(tmp_path: Path, discord: DiscordStandIn, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_path": tmp_path / "warden.db",
        "discord_api_base_url": discord.api_base_url,
        "discord_gateway_url": discord.gateway_url,
    }
    values.update(extra)
    return load_settings(require_token=False, **values)


@asynccontextmanager
async def review_world(
    tmp_path: Path, discord: DiscordStandIn, *, outbox: bool = False, **settings: Any
) -> AsyncIterator[ReviewWorld]:
    """``outbox`` starts the background work (the delivery worker): off by default, so a
    test sees released deliveries as ``pending`` before anything sends them."""
    config = settings_for(tmp_path, discord, **settings)
    async with open_app(config, start_background=outbox, guild_ready_timeout=0.05) as bot:
        world = ReviewWorld(discord, bot, config)

        bot.services.events.listen(world)
        async with run_standin_bot(bot, discord):
            yield world
