"""``/report``, the right-click menus, and ``/notifications``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app import WardenBot, send_ephemeral
from bot.discord_names import account_handle
from bot.domain import Evidence, Reason
from bot.i18n import localize, t
from bot.services.reporting.activities import Choice
from bot.services.reporting.requests import ReportRequest
from bot.services.reporting.text import summary_notice
from cogs.report.modal import ReportModal
from cogs.report.views import draft_view, send_notice, service_of

log = logging.getLogger(__name__)

AUTOCOMPLETE_BUDGET = 2.5
"""Seconds an autocomplete may take; Discord drops answers after 3."""
EVIDENCE_TEXT_MAX = 2000
GUILD_ONLY = app_commands.AppCommandContext(guild=True)


def attachment_evidence(attachment: discord.Attachment) -> Evidence:
    return Evidence(kind="attachment", url=attachment.url, filename=attachment.filename,
                    content_type=attachment.content_type, size=attachment.size)


def message_evidence(message: discord.Message) -> tuple[Evidence, ...]:
    """The message as it is now: link, author, text and attachments."""
    found = [Evidence(
        kind="message", url=message.jump_url, message_id=message.id,
        channel_id=message.channel.id, author_id=message.author.id,
        author_name=str(message.author), text=(message.content or None) and
        message.content[:EVIDENCE_TEXT_MAX],
    )]
    found += [attachment_evidence(a) for a in message.attachments]
    return tuple(found)


def _choices(found: list[Choice], locale: object) -> list[app_commands.Choice[str]]:
    # Discord refuses a choice name over 100 characters; a translation may be longer.
    return [app_commands.Choice(name=localize(c.name, locale)[:100], value=c.value)
            for c in found]


class ReportCog(commands.Cog):
    def __init__(self, bot: WardenBot) -> None:
        self.bot = bot
        self._menus = [
            app_commands.ContextMenu(name="Report player", callback=self.report_player_menu,
                                     allowed_contexts=GUILD_ONLY),
            app_commands.ContextMenu(name="Report message", callback=self.report_message_menu,
                                     allowed_contexts=GUILD_ONLY),
        ]

    async def cog_load(self) -> None:
        for menu in self._menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self._menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    # ---- /report -----------------------------------------------------------------------

    @app_commands.command(name="report", description=
        locale_str("Report a player to the game's moderators"))
    @app_commands.guild_only()
    @app_commands.describe(
        reason=locale_str("What the player did"),
        player=
            locale_str("Bungie name (Guardian#1234), game player id or in-game name, or @member"),
        activity=locale_str("The activity it happened in (pick one, or paste an id or match id)"),
        description=locale_str("What happened, in your words"),
        evidence=locale_str("A screenshot or clip"),
    )
    @app_commands.choices(
        reason=[app_commands.Choice(name=r.label, value=r.value) for r in Reason]
    )
    async def report(
        self,
        interaction: discord.Interaction[WardenBot],
        reason: app_commands.Choice[str],
        player: app_commands.Range[str, 1, 100],
        activity: app_commands.Range[str, 1, 200] | None = None,
        description: app_commands.Range[str, 1, 4000] | None = None,
        evidence: discord.Attachment | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        draft = await service_of(interaction).prepare(ReportRequest(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            reporter_id=interaction.user.id,
            reporter_name=account_handle(interaction.user),
            locale=str(interaction.locale.value),
            reason=Reason(reason.value),
            player=player,
            activity=activity,
            description=description,
            evidence=() if evidence is None else (attachment_evidence(evidence),),
        ))
        notice = summary_notice(draft)
        await send_notice(interaction, notice, view=draft_view(draft.report.id, notice,
                                                                interaction.locale))

    @report.autocomplete("activity")
    async def activity_autocomplete(
        self, interaction: discord.Interaction[WardenBot], current: str
    ) -> list[app_commands.Choice[str]]:
        service = service_of(interaction)
        return _choices(await self._bounded(
            service.activity_choices(interaction.user.id, current, interaction.locale),
            "activity"), interaction.locale)

    @report.autocomplete("player")
    async def player_autocomplete(
        self, interaction: discord.Interaction[WardenBot], current: str
    ) -> list[app_commands.Choice[str]]:
        service = service_of(interaction)
        activity = getattr(interaction.namespace, "activity", None)
        return _choices(await self._bounded(
            service.player_choices(interaction.user.id, activity, current), "player"),
            interaction.locale)

    async def _bounded(self, work: Any, what: str) -> list[Choice]:
        """Choices within Discord's window; nothing (rather than an error) otherwise."""
        try:
            found: list[Choice] = await asyncio.wait_for(work, timeout=AUTOCOMPLETE_BUDGET)
        except Exception as exc:
            log.info("%s autocomplete gave up: %s", what, type(exc).__name__)
            return []
        return found

    # ---- right-click menus ---------------------------------------------------------------

    async def report_player_menu(
        self, interaction: discord.Interaction[WardenBot], member: discord.Member | discord.User
    ) -> None:
        await self._open_form(interaction, member, (), t("Report player: {name}",
                                                          name=member.display_name))

    async def report_message_menu(
        self, interaction: discord.Interaction[WardenBot], message: discord.Message
    ) -> None:
        await self._open_form(interaction, message.author, message_evidence(message),
                              t("Report message: {name}", name=message.author.display_name))

    async def _open_form(self, interaction: discord.Interaction[WardenBot],
                         target: discord.Member | discord.User,
                         evidence: tuple[Evidence, ...], title: str) -> None:
        assert interaction.guild_id is not None
        # Refuse before the form when it is already clear (self-report, limit reached).
        await service_of(interaction).precheck(interaction.guild_id, interaction.user.id,
                                               target.id)
        await interaction.response.send_modal(ReportModal(
            target_member_id=target.id, target_name=target.display_name,
            evidence=evidence, title=title, locale=interaction.locale,
        ))

    # ---- preferences -----------------------------------------------------------------------

    @app_commands.command(name="notifications",
                          description=
                              locale_str("Choose whether Warden DMs you how your reports went"))
    @app_commands.describe(dms=locale_str("on: DM me report outcomes (the default); off: don't"))
    @app_commands.choices(dms=[app_commands.Choice(name=locale_str("on"), value="on"),
                               app_commands.Choice(name=locale_str("off"), value="off")])
    async def notifications(self, interaction: discord.Interaction[WardenBot],
                            dms: app_commands.Choice[str]) -> None:
        enabled = dms.value == "on"
        await service_of(interaction).set_notify_dm(interaction.user.id, enabled)
        await send_ephemeral(
            interaction,
            t("I'll DM you how your reports went once the reply here has expired.")
            if enabled else
            t("I won't DM you about report outcomes. Bungie.net hand-off links still come by "
              'DM, since they are how such a report gets filed.'),
        )
