"""Warn / Timeout / Kick / Ban on a review post whose reported player is a Discord
member, each through a modal asking the reason. Persistent like the other review
buttons (``warden:member:timeout:42``); the member-action service decides everything."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.app import report_interaction_error, services_of
from bot.domain import CaseStatus
from bot.errors import InvalidInput
from bot.i18n import t
from bot.log_context import bind_log_ids
from bot.services.review.card import ReviewCard
from bot.services.review.member_actions import (
    BAN_DELETE_DAYS_MAX,
    REASON_MAX,
    MemberActionRequest,
    parse_duration,
)
from bot.services.review.ports import MemberAction
from cogs.review.buttons import ReviewFormModal, after_action
from cogs.review.facts import actor_of, guild_id_of

TEMPLATE = re.compile(r"warden:member:(?P<action>warn|timeout|kick|ban):(?P<report_id>[0-9]+)")
ROW = 2
_LABELS = {
    MemberAction.WARN: t("Warn"),
    MemberAction.TIMEOUT: t("Timeout"),
    MemberAction.KICK: t("Kick"),
    MemberAction.BAN: t("Ban"),
}
_STYLES = {
    MemberAction.WARN: discord.ButtonStyle.secondary,
    MemberAction.TIMEOUT: discord.ButtonStyle.secondary,
    MemberAction.KICK: discord.ButtonStyle.danger,
    MemberAction.BAN: discord.ButtonStyle.danger,
}


def member_buttons(card: ReviewCard) -> list[MemberActionButton]:
    """The member actions a card offers: its player is a Discord member, and the report
    was not dismissed (whether they are still in the server is checked on the click)."""
    if card.target.discord_id is None or card.status is CaseStatus.DISMISSED or card.purged:
        return []
    return [MemberActionButton(action, card.case_id) for action in MemberAction]


class MemberActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE
):
    def __init__(self, action: MemberAction, report_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=_LABELS[action], style=_STYLES[action],
                custom_id=f"warden:member:{action.value}:{report_id}",
            ),
            row=ROW,
        )
        self.action = action
        self.report_id = report_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> MemberActionButton:
        return cls(MemberAction(match["action"]), int(match["report_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bind_log_ids(interaction_id=interaction.id, report_id=self.report_id)
        try:
            # Refuse non-moderators and playerless reports before showing a modal.
            report = await services_of(interaction.client).member_actions.target_of(
                guild_id_of(interaction), self.report_id, actor_of(interaction))
            await interaction.response.send_modal(
                MemberActionModal(self.action, self.report_id, report.number, interaction.id))
        except Exception as exc:  # buttons have no tree error handler: answer here
            await report_interaction_error(interaction, exc)


class MemberActionModal(ReviewFormModal):
    def __init__(self, action: MemberAction, report_id: int, number: int,
                 opener_id: int) -> None:
        super().__init__(
            report_id, title=t("{action}: report #{number}", action=_LABELS[action],
                               number=number),
            custom_id=f"warden:member-{action.value}:{report_id}:{opener_id}",
        )
        self.action = action
        self.reason: discord.ui.TextInput[MemberActionModal] = discord.ui.TextInput(
            label=t("Reason (audit log; DMed to the member)"),
            style=discord.TextStyle.paragraph, required=True, max_length=REASON_MAX,
            custom_id="reason",
        )
        self.add_item(self.reason)
        self.duration: discord.ui.TextInput[MemberActionModal] | None = None
        self.delete_days: discord.ui.TextInput[MemberActionModal] | None = None
        if action is MemberAction.TIMEOUT:
            self.duration = discord.ui.TextInput(
                label=t("Duration: 60s to 28d (e.g. 10m, 1h, 3d)"), required=True, max_length=20,
                custom_id="duration", default="1h",
            )
            self.add_item(self.duration)
        if action is MemberAction.BAN:
            self.delete_days = discord.ui.TextInput(
                label=t("Delete their last N days of messages (0-{most})",
                        most=BAN_DELETE_DAYS_MAX),
                required=True, max_length=1, custom_id="delete_days", default="0",
            )
            self.add_item(self.delete_days)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        request = MemberActionRequest(
            self.action, self.reason.value,
            timeout_seconds=parse_duration(self.duration.value) if self.duration else None,
            delete_message_days=_days(self.delete_days.value) if self.delete_days else 0,
        )
        await interaction.response.defer()
        outcome = await services_of(interaction.client).member_actions.act(
            guild_id_of(interaction), self.report_id, actor_of(interaction), request)
        await after_action(interaction, outcome)


def _days(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 0 <= int(value) <= BAN_DELETE_DAYS_MAX:
        raise InvalidInput(t("Days of messages to delete: a number from 0 to {most}.",
                             most=BAN_DELETE_DAYS_MAX))
    return int(value)
