"""The draft's Confirm and Cancel buttons, and how service notices become messages.

The buttons are ``DynamicItem``s whose custom_id carries the report id, so a
draft shown before a restart can still be confirmed after it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

from bot.app import report_interaction_error, services_of
from bot.discord_notifier import render
from bot.i18n import localize, t
from bot.log_context import bind_log_ids
from bot.notify import Notice
from bot.services.reporting.service import ReportService
from bot.services.reporting.text import progress_notice

log = logging.getLogger(__name__)

LIVE_FOR = 14 * 60.0
"""How long a component interaction's token can still send follow-ups (Discord: 15 min)."""
NO_MENTIONS = discord.AllowedMentions.none()
ANSWER_WITHIN = 1.5
"""Seconds a button's work may take before the click is deferred (Discord allows 3)."""
T = TypeVar("T")


def service_of(interaction: discord.Interaction[Any]) -> ReportService:
    return services_of(interaction.client).reports


def draft_view(report_id: int, notice: Notice, locale: object = None) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ConfirmButton(report_id, locale))
    view.add_item(CancelButton(report_id, locale))
    _, links = render(notice, locale)
    for item in links.children if links is not None else []:
        view.add_item(item)
    return view


async def send_notice(interaction: discord.Interaction[Any], notice: Notice, *,
                      view: discord.ui.View | None = None) -> None:
    """An ephemeral follow-up (the first one replaces a "thinking…" placeholder)."""
    embed, links = render(notice, interaction.locale)
    chosen = view if view is not None else links
    if chosen is None:
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.followup.send(embed=embed, view=chosen, ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)
        if _answered_by_pattern(chosen):
            # discord.py keeps an ephemeral message's view, with a timer task, for 15
            # minutes: 5 KB a draft, 130 MB at 30 drafts a second (bench/memory.py). Its
            # clicks are dispatched by the registered DynamicItem patterns, not through
            # this object, so it can go now.
            chosen.stop()


def _answered_by_pattern(view: discord.ui.View) -> bool:
    """Every clickable item is a ``DynamicItem`` (the rest are links, or none)."""
    return all(isinstance(item, discord.ui.DynamicItem) or not item.is_dispatchable()
               for item in view.walk_children())


async def edit_with(interaction: discord.Interaction[Any], notice: Notice) -> None:
    embed, links = render(notice, interaction.locale)
    await interaction.edit_original_response(embed=embed, view=links,
                                             allowed_mentions=NO_MENTIONS)


async def show_in_place(interaction: discord.Interaction[Any], notice: Notice) -> None:
    """Replace the clicked message with ``notice``: as the interaction's answer when it
    has none yet (one request instead of a defer and an edit), else by editing it."""
    if interaction.response.is_done():
        await edit_with(interaction, notice)
        return
    embed, links = render(notice, interaction.locale)
    await interaction.response.edit_message(embed=embed, view=links,
                                            allowed_mentions=NO_MENTIONS)


async def answer_soon(interaction: discord.Interaction[Any], work: Awaitable[T]) -> T:
    """``work``'s result; if it takes longer than ``ANSWER_WITHIN``, the interaction is
    deferred meanwhile so Discord's 3-second deadline never passes."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), ANSWER_WITHIN)
    except TimeoutError:
        await interaction.response.defer()
        return await task


class ConfirmButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                    template=r"warden:report:confirm:(?P<id>\d+)"):
    def __init__(self, report_id: int, locale: object = None) -> None:
        super().__init__(discord.ui.Button(
            label=localize(t('Confirm report'), locale), style=discord.ButtonStyle.danger,
            custom_id=f"warden:report:confirm:{report_id}",
        ))
        self.report_id = report_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> ConfirmButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bind_log_ids(interaction_id=interaction.id, report_id=self.report_id)
        try:
            service = service_of(interaction)
            outcome = await answer_soon(interaction, service.confirm(
                self.report_id, actor_id=interaction.user.id, live_for=LIVE_FOR))
            # One message tells the whole story: the draft becomes the report's status,
            # answered in place (no "thinking…" step), then edited once when it settles.
            if outcome.final:
                await service.showing_in_place(self.report_id, interaction.token)
            await show_in_place(interaction, progress_notice(outcome))
            if outcome.final:
                await service.told_in_place(self.report_id)
                return
            final = await service.wait_outcome(self.report_id)
            if final is None:
                return  # the token is about to expire: the reporter hears by DM instead
            await service.showing_in_place(self.report_id, interaction.token)
            try:
                await edit_with(interaction, progress_notice(final))
            except Exception:
                await service.tell_instead(self.report_id)
                raise
            await service.told_in_place(self.report_id)
        except Exception as exc:
            await report_interaction_error(interaction, exc)


class CancelButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                   template=r"warden:report:cancel:(?P<id>\d+)"):
    def __init__(self, report_id: int, locale: object = None) -> None:
        super().__init__(discord.ui.Button(
            label=localize(t("Cancel"), locale), style=discord.ButtonStyle.secondary,
            custom_id=f"warden:report:cancel:{report_id}",
        ))
        self.report_id = report_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> CancelButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bind_log_ids(interaction_id=interaction.id, report_id=self.report_id)
        try:
            await interaction.response.defer()
            cancelled = await service_of(interaction).cancel(self.report_id,
                                                             actor_id=interaction.user.id)
            text = localize(t("Cancelled: nothing was sent.") if cancelled
                            else t("This report was already confirmed or dropped."),
                            interaction.locale)
            await interaction.edit_original_response(content=text, embed=None, view=None,
                                                     allowed_mentions=NO_MENTIONS)
        except Exception as exc:
            await report_interaction_error(interaction, exc)
