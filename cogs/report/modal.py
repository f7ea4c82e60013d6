"""The form behind "Report player" and "Report message": reason, what happened, the
activity or match, and (for members who never linked) who they are in game."""

from __future__ import annotations

from typing import Any

import discord

from bot.app import report_interaction_error
from bot.discord_names import account_handle
from bot.domain import Evidence, Reason
from bot.i18n import localize, t
from bot.log_context import bind_log_ids
from bot.services.reporting.requests import ReportRequest
from bot.services.reporting.text import summary_notice
from cogs.report.views import draft_view, send_notice, service_of

DESCRIPTION_MAX = 4000
"""Discord's limit for one text input (the upstream API allows 4096)."""
MODAL_TIMEOUT = 15 * 60
"""Seconds a form waits for its submission. Discord never says a form was dismissed, so
without a timeout every dismissed form would stay in discord.py's view store for good."""


class ReportModal(discord.ui.Modal):
    def __init__(
        self,
        *,
        target_member_id: int,
        target_name: str,
        evidence: tuple[Evidence, ...] = (),
        title: str = t("Report player"),
        locale: object = None,
    ) -> None:
        """Worded in ``locale``, the member's Discord language."""

        def tl(value: str) -> str:
            return localize(value, locale)

        super().__init__(title=tl(title)[:45], timeout=MODAL_TIMEOUT)
        self.target_member_id = target_member_id
        self.evidence = evidence
        self.reason: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="report:reason",
            placeholder=tl(t('Choose a reason'))[:100],
            options=[discord.SelectOption(label=tl(r.label), value=r.value) for r in Reason],
            min_values=1,
            max_values=1,
        )
        self.description: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="report:description",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=DESCRIPTION_MAX,
            placeholder=tl(t('What did they do? Moderators read this.'))[:100],
        )
        self.activity: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="report:activity",
            required=False,
            max_length=200,
            placeholder=tl(t("Destiny activity id, PGCR link, or the game's match id"))[:100],
        )
        self.player: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="report:player",
            required=False,
            max_length=100,
            placeholder=tl(t('Guardian#1234 or a game player id'))[:100],
        )
        # Discord's limits: a label's text 45 characters, its description 100.
        self.add_item(discord.ui.Label(text=tl(t("Reason"))[:45], component=self.reason))
        self.add_item(discord.ui.Label(text=tl(t("What happened"))[:45],
                                       component=self.description))
        self.add_item(discord.ui.Label(
            text=tl(t("Activity or match (optional)"))[:45], component=self.activity,
            description=tl(t("Needed for Bungie.net; I check you both played in it."))[:100],
        ))
        self.add_item(discord.ui.Label(
            text=tl(t("Their in-game name (optional)"))[:45], component=self.player,
            description=tl(t("Only if {name} has not linked accounts with Warden.",
                             name=target_name[:40]))[:100],
        ))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bind_log_ids(interaction_id=interaction.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None  # the menus are guild-only
        service = service_of(interaction)
        draft = await service.prepare(ReportRequest(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            reporter_id=interaction.user.id,
            reporter_name=account_handle(interaction.user),
            locale=str(interaction.locale.value),
            reason=Reason(self.reason.values[0]),
            player=self.player.value or None,
            target_member_id=self.target_member_id,
            activity=self.activity.value or None,
            description=self.description.value or None,
            evidence=self.evidence,
        ))
        notice = summary_notice(draft)
        await send_notice(interaction, notice, view=draft_view(draft.report.id, notice,
                                                                interaction.locale))

    async def on_error(  # type: ignore[override]  # discord.py's Modal narrows BaseView's
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await report_interaction_error(interaction, error)
