"""The moderator buttons on a review post, and the two modals they open.

Every button is a ``ReviewButton``, a ``DynamicItem`` whose custom_id carries the action
and the case id (``warden:review:claim:42``), or for Retry the report id and destination
(``warden:review:retry:43:bungie``); registered with ``add_dynamic_items``, it works on
any post, including posts made before a restart (and before cases: migration 0012 gave
each existing report's case the report's id). Buttons only translate: the review service
decides who may act and what happens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import discord

from bot.app import report_interaction_error, send_ephemeral, services_of
from bot.errors import InvalidInput
from bot.i18n import localize, t
from bot.log_context import bind_log_ids
from bot.services.review.card import ReviewAction, ReviewCard
from bot.services.review.lifecycle import QUESTION_MAX, REASON_MAX, parse_outcome
from bot.services.review.ports import ActionResult
from cogs.review.facts import actor_of, guild_id_of, server_locale
from cogs.review.render import button_specs, render_embed

TEMPLATE = re.compile(
    r"warden:review:(?P<action>claim|unclaim|approve|resolve|dismiss|ask|retry)"
    r":(?P<report_id>[0-9]+)"
    r"(?::(?P<destination>[a-z_]+))?"
)
MODAL_TIMEOUT = 15 * 60  # the life of the interaction that opened it


def custom_id(action: ReviewAction, report_id: int, destination: str | None = None) -> str:
    suffix = f":{destination}" if destination else ""
    return f"warden:review:{action.value}:{report_id}{suffix}"


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE
):
    def __init__(
        self,
        action: ReviewAction,
        report_id: int,
        *,
        destination: str | None = None,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action.value.title(), style=style,
                custom_id=custom_id(action, report_id, destination),
            ),
            row=row,
        )
        self.action = action
        self.report_id = report_id
        self.destination = destination

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ReviewButton:
        style = item.style if isinstance(item, discord.ui.Button) else discord.ButtonStyle.secondary
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(
            ReviewAction(match["action"]), int(match["report_id"]),
            destination=match["destination"], label=label, style=style,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bind_log_ids(interaction_id=interaction.id, report_id=self.report_id)
        try:
            await press(interaction, self.action, self.report_id, self.destination)
        except Exception as exc:  # buttons have no tree error handler: answer here
            await report_interaction_error(interaction, exc)


def review_view(card: ReviewCard, locale: object = None) -> discord.ui.View:
    # member_buttons builds on this module (its modal answers like the others do).
    from cogs.review.member_buttons import member_buttons

    view = discord.ui.View(timeout=None)
    for spec in button_specs(card, locale):
        view.add_item(ReviewButton(
            spec.action, spec.report_id or card.case_id, destination=spec.destination,
            label=spec.label, style=spec.style, row=spec.row,
        ))
    for button in member_buttons(card):
        view.add_item(button)
    return view


async def press(
    interaction: discord.Interaction[Any],
    action: ReviewAction,
    report_id: int,
    destination: str | None,
) -> None:
    services = services_of(interaction.client)
    lifecycle = services.lifecycle
    guild_id = guild_id_of(interaction)
    actor = actor_of(interaction)
    if action in MODALS:
        # A modal must be the first answer; check the member first so others get a refusal.
        card = await services.queries.case_card(guild_id, report_id, actor)
        await interaction.response.send_modal(MODALS[action](card, interaction.id))
        return
    await interaction.response.defer()
    if action is ReviewAction.CLAIM:
        outcome = await lifecycle.claim(guild_id, report_id, actor)
    elif action is ReviewAction.UNCLAIM:
        outcome = await lifecycle.unclaim(guild_id, report_id, actor)
    elif action is ReviewAction.APPROVE:
        outcome = await lifecycle.approve(guild_id, report_id, actor)
    else:
        if destination is None:
            raise InvalidInput(t('That button names no destination.'))
        outcome = await lifecycle.retry(guild_id, report_id, destination, actor)
    await after_action(interaction, outcome)


async def after_action(interaction: discord.Interaction[Any], outcome: ActionResult) -> None:
    """The review post was already edited by the board; a copy elsewhere (an ephemeral
    ``/reports show``) is edited here. Then the moderator gets the outcome, if any."""
    message = interaction.message
    report = outcome.report
    locale = await server_locale(interaction)
    if message is not None and message.id != report.review_message_id and message.flags.ephemeral:
        card = await services_of(interaction.client).queries.card_for(
            report.guild_id, report.id, actor_of(interaction))
        await interaction.edit_original_response(embed=render_embed(card, locale),
                                                 view=review_view(card, locale))
    if outcome.message:
        await send_ephemeral(interaction, localize(outcome.message, locale))


class ReviewFormModal(discord.ui.Modal):
    """A form about one report: its log lines carry the ids, its errors are answered.
    ``custom_id`` must be unique per opening: two moderators with the same modal open
    must not share one."""

    def __init__(self, report_id: int, *, title: str, custom_id: str) -> None:
        super().__init__(title=title[:45], timeout=MODAL_TIMEOUT, custom_id=custom_id)
        self.report_id = report_id

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # Runs in the submission's own task, right before on_submit: its log lines (and
        # the services' beneath it) carry the ids.
        bind_log_ids(interaction_id=interaction.id, report_id=self.report_id)
        return True

    async def on_error(  # type: ignore[override]  # Modal takes two arguments, View three
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await report_interaction_error(interaction, error)


class _ReviewModal(ReviewFormModal):
    action: ReviewAction

    def __init__(self, card: ReviewCard, opener_id: int, title: str) -> None:
        super().__init__(
            card.case_id, title=title,
            custom_id=f"warden:review-{self.action.value}:{card.case_id}:{opener_id}",
        )


class DismissModal(_ReviewModal):
    action = ReviewAction.DISMISS

    def __init__(self, card: ReviewCard, opener_id: int) -> None:
        super().__init__(card, opener_id, f"Dismiss report #{card.number}")
        self.reason: discord.ui.TextInput[DismissModal] = discord.ui.TextInput(
            label=t('Reason (kept in the audit log)'), style=discord.TextStyle.paragraph,
            required=True, max_length=REASON_MAX, custom_id="reason",
        )
        self.to_reporter: discord.ui.TextInput[DismissModal] = discord.ui.TextInput(
            label=t('Message to the reporter (optional)'), style=discord.TextStyle.paragraph,
            required=False, max_length=REASON_MAX, custom_id="to_reporter",
            placeholder=t('Sent by DM without your name. Leave empty to send none.'),
        )
        self.block_days: discord.ui.TextInput[DismissModal] = discord.ui.TextInput(
            label="Block the reporter from reporting (days)", required=False, max_length=3,
            custom_id="block_days",
            placeholder="Only for abuse of reporting. Leave empty to block nobody.",
        )
        self.add_item(self.reason)
        self.add_item(self.to_reporter)
        self.add_item(self.block_days)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        typed = self.block_days.value.strip()
        if typed and not typed.isdigit():
            raise InvalidInput("The block is a whole number of days, or empty.")
        await interaction.response.defer()
        outcome = await services_of(interaction.client).lifecycle.dismiss(
            guild_id_of(interaction), self.report_id, actor_of(interaction),
            reason=self.reason.value, to_reporter=self.to_reporter.value,
            block_days=int(typed) if typed else None,
        )
        await after_action(interaction, outcome)


class ResolveModal(_ReviewModal):
    action = ReviewAction.RESOLVE

    def __init__(self, card: ReviewCard, opener_id: int) -> None:
        super().__init__(card, opener_id, f"Resolve the case of report #{card.number}")
        self.outcome: discord.ui.TextInput[ResolveModal] = discord.ui.TextInput(
            label="Action taken: warn, timeout, kick, ban, other", required=False,
            max_length=20, custom_id="outcome",
            placeholder="Leave empty or write 'none' if no action was taken.",
        )
        self.note: discord.ui.TextInput[ResolveModal] = discord.ui.TextInput(
            label="Note (staff only, kept in the audit log)", style=discord.TextStyle.paragraph,
            required=False, max_length=REASON_MAX, custom_id="note",
        )
        self.to_reporter: discord.ui.TextInput[ResolveModal] = discord.ui.TextInput(
            label="Message to the reporters (optional)", style=discord.TextStyle.paragraph,
            required=False, max_length=REASON_MAX, custom_id="to_reporter",
            placeholder="Sent by DM without your name. They are told only whether action "
                        "was taken.",
        )
        for item in (self.outcome, self.note, self.to_reporter):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        outcome = parse_outcome(self.outcome.value)  # refused before anything is deferred
        await interaction.response.defer()
        result = await services_of(interaction.client).lifecycle.resolve(
            guild_id_of(interaction), self.report_id, actor_of(interaction), outcome,
            note=self.note.value, to_reporter=self.to_reporter.value,
        )
        await after_action(interaction, result)


class AskModal(_ReviewModal):
    action = ReviewAction.ASK

    def __init__(self, card: ReviewCard, opener_id: int) -> None:
        super().__init__(card, opener_id, f"Question about report #{card.number}")
        self.question: discord.ui.TextInput[AskModal] = discord.ui.TextInput(
            label=t('Your question (DMed without your name)'), style=discord.TextStyle.paragraph,
            required=True, max_length=QUESTION_MAX, custom_id="question",
        )
        self.add_item(self.question)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer()
        outcome = await services_of(interaction.client).lifecycle.ask_reporter(
            guild_id_of(interaction), self.report_id, actor_of(interaction),
            question=self.question.value,
        )
        await after_action(interaction, outcome)


MODALS: dict[ReviewAction, Callable[[ReviewCard, int], discord.ui.Modal]] = {
    ReviewAction.RESOLVE: ResolveModal,
    ReviewAction.DISMISS: DismissModal,
    ReviewAction.ASK: AskModal,
}
