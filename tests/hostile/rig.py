"""One Warden (``tests.report_rig.report_world``) shared by a module of hostile-input cases,
and the checks every case ends with.

Each case runs inside ``async with h.case() as case:``. When the block ends (and
Warden has stopped calling Discord) the case fails if, during it:

- discord.py logged an ERROR (``standin.bot_errors``: an exception in a command, view or
  modal), or any logger logged an ERROR or a traceback (Warden's own ``bot.*``/``cogs.*``
  loggers included: ``report_interaction_error`` logs unhandled errors there), or the
  Discord stand-in hit an internal error or an unknown route;
- any message Warden created or edited would ping anyone (``RecordedMessage.pings``);
- a reply says "Something went wrong" (an unhandled error, shown to the member).

``case.replies`` are the message versions the case produced.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain import Reason, ReviewMode
from bot.services.reporting.requests import ReportRequest
from tests.report_rig import NO_LIMITS, ReportWorld
from tests.standins.discord import DiscordStandIn, Guild, Member, RecordedMessage

UNHANDLED = "Something went wrong"


class ErrorLog(logging.Handler):
    """Every ERROR record, and every record carrying a traceback, from any logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            text = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.records.append(text)


@dataclass
class Case:
    hostile: Hostile
    log_start: int
    errors_start: int
    bot_errors_start: int
    replies: list[RecordedMessage] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.replies]


@dataclass
class Hostile:
    world: ReportWorld
    errors: ErrorLog
    other: Guild
    """Another server Warden is in, with reports of its own."""
    activities: int = 0

    @property
    def discord(self) -> DiscordStandIn:
        return self.world.discord

    @property
    def guild(self) -> Guild:
        return self.world.discord.guild

    @property
    def mod(self) -> Member:
        return self.guild.moderator

    @asynccontextmanager
    async def case(self) -> AsyncIterator[Case]:
        state = self.world.discord.state
        case = Case(self, len(state.message_log), len(self.errors.records),
                    len(state.bot_errors))
        yield case
        await self.world.discord.wait_idle(timeout=5.0, fail=False)
        case.replies = [m for m in state.message_log[case.log_start:] if m.source != "user"]
        problems: list[str] = []
        problems += state.bot_errors[case.bot_errors_start:]
        problems += self.errors.records[case.errors_start:]
        problems += [f"stand-in internal error: {e}" for e in state.internal_errors]
        problems += [f"unknown route {r.method} {r.path}" for r in state.unknown_requests]
        for message in case.replies:
            if not message.pings.nobody:
                problems.append(f"message {message.id} pings {message.pings}: "
                                f"{message.content[:200]!r}")
            if UNHANDLED in message.text:
                problems.append(f"an unhandled error was shown: {message.text[:300]!r}")
        # Reset so that one failure does not fail every later case.
        del state.bot_errors[:]
        del state.internal_errors[:]
        del state.unknown_requests[:]
        assert not problems, "\n\n".join(problems)

    # ---- reports to act on --------------------------------------------------------------

    def activity(self) -> int:
        """A fresh activity with the reporter (alice) and the target (bob) in it."""
        self.activities += 1
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=self.activities)
        w = self.world
        return w.bungie.add_pgcr([w.alice_bungie, w.bob_bungie], period=when)

    async def accepted_report(self, *, guild_id: int | None = None,
                              description: str | None = "Aimbot.") -> int:
        """A report alice filed and confirmed (through the service, as the cog does)."""
        w = self.world
        service = w.service
        draft = await service.prepare(ReportRequest(
            guild_id=guild_id or self.guild.id, channel_id=None, reporter_id=w.alice.user.id,
            reason=Reason.CHEATING, player=w.bob_bungie.bungie_name,
            activity=str(self.activity()), description=description))
        await service.confirm(draft.report.id, actor_id=w.alice.user.id)
        return draft.report.id

    async def review_post(self, report_id: int) -> RecordedMessage:
        """The latest version of the report's post in the review channel."""
        channel = self.guild.review_channel

        def check() -> RecordedMessage | None:
            for message in self.world.discord.channel_messages(channel):
                if f"Warden report id {report_id}" in message.text:
                    return message
            return None

        found: RecordedMessage = await self.world.discord.wait_until(
            check, description=f"the review post of report {report_id}")
        return found


async def set_up(world: ReportWorld, *, mode: ReviewMode) -> Hostile:
    """Links for alice and bob, ``/warden setup`` by the owner (#reports, the Moderator
    role, ``mode``), and a second server with a report in it."""
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    await world.link_everyone()
    g = world.discord.guild
    handle = await world.discord.slash(
        g.owner, "warden", {"channel": g.review_channel, "moderator_role": g.moderator_role,
                            "mode": mode.value}, subcommand="setup")
    await handle.wait_final()
    other = world.discord.add_guild("Other Server")
    await world.store.guilds.update(other.id, actor_id=None, **asdict(NO_LIMITS))
    hostile = Hostile(world, errors, other)
    for _ in range(3):  # numbers 1..3 there, so #3 exists only in the other server
        await hostile.accepted_report(guild_id=other.id)
    return hostile


def clear(message: RecordedMessage) -> bool:
    """A refusal or answer a member can read: non-empty, ephemeral, no unhandled error."""
    return bool(message.text.strip()) and message.ephemeral and UNHANDLED not in message.text
