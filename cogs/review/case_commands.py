"""``/case warn|timeout|kick|ban``: the review post's member actions, typed.

Discord shows the group to members with Timeout Members (Moderate Members) by default;
the member-action service then checks the moderator role and the Discord permission each
action needs.
"""

from __future__ import annotations

from collections.abc import Callable

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app import WardenBot, send_ephemeral, services_of
from bot.errors import UserFacingError
from bot.i18n import localize, t
from bot.services.review.member_actions import (
    BAN_DELETE_DAYS_MAX,
    REASON_MAX,
    MemberActionRequest,
    parse_duration,
)
from bot.services.review.ports import MemberAction
from cogs.review.facts import actor_of, answer_error, guild_id_of, server_locale

NUMBER = locale_str("The report number, as in #12")
REASON = locale_str("Why: goes to Discord's audit log (and the member's DM for warn, kick, ban)")


class CaseCommands(commands.Cog):
    case = app_commands.Group(
        name="case",
        description=locale_str("Act on a report's member: warn, timeout, kick, ban (moderators)"),
        guild_only=True,
        default_permissions=discord.Permissions(moderate_members=True),
    )

    def __init__(self, bot: WardenBot) -> None:
        self.bot = bot

    async def _act(self, interaction: discord.Interaction[WardenBot], number: int,
                   request: Callable[[], MemberActionRequest]) -> None:
        """``request`` is built inside, so a typo in it (a duration) is refused like the
        action would be: in the server's language."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            outcome = await services_of(self.bot).member_actions.act_by_number(
                guild_id_of(interaction), number, actor_of(interaction), request())
        except UserFacingError as exc:  # refused: in the server's language like the answer
            await answer_error(interaction, exc)
            return
        # A moderator's answer, like the review post's: in the server's language.
        locale = await server_locale(interaction)
        await send_ephemeral(interaction, localize(outcome.message or t("Done."), locale))

    @case.command(name="warn", description=locale_str("Warn the reported member by DM"))
    @app_commands.describe(number=NUMBER, reason=REASON)
    async def warn(self, interaction: discord.Interaction[WardenBot],
                   number: app_commands.Range[int, 1],
                   reason: app_commands.Range[str, 1, REASON_MAX]) -> None:
        await self._act(interaction, number,
                        lambda: MemberActionRequest(MemberAction.WARN, reason))

    @case.command(name="timeout",
                  description=locale_str("Time out the reported member (60s to 28d)"))
    @app_commands.describe(number=NUMBER,
                           duration=locale_str("e.g. 10m, 1h, 3d, 1d12h (60s to 28d)"),
                           reason=REASON)
    async def timeout(self, interaction: discord.Interaction[WardenBot],
                      number: app_commands.Range[int, 1], duration: str,
                      reason: app_commands.Range[str, 1, REASON_MAX]) -> None:
        await self._act(interaction, number, lambda: MemberActionRequest(
            MemberAction.TIMEOUT, reason, timeout_seconds=parse_duration(duration)))

    @case.command(name="kick", description=locale_str("Kick the reported member (DMed first)"))
    @app_commands.describe(number=NUMBER, reason=REASON)
    async def kick(self, interaction: discord.Interaction[WardenBot],
                   number: app_commands.Range[int, 1],
                   reason: app_commands.Range[str, 1, REASON_MAX]) -> None:
        await self._act(interaction, number,
                        lambda: MemberActionRequest(MemberAction.KICK, reason))

    @case.command(name="ban", description=locale_str("Ban the reported member (DMed first)"))
    @app_commands.describe(number=NUMBER, reason=REASON,
                           delete_days=locale_str(
                               "Delete their messages from the last N days (0-7)"))
    async def ban(self, interaction: discord.Interaction[WardenBot],
                  number: app_commands.Range[int, 1],
                  reason: app_commands.Range[str, 1, REASON_MAX],
                  delete_days: app_commands.Range[int, 0, BAN_DELETE_DAYS_MAX] = 0) -> None:
        await self._act(interaction, number, lambda: MemberActionRequest(
            MemberAction.BAN, reason, delete_message_days=delete_days))
