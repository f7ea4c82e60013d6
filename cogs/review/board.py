"""The review channel as the review service's ``ReviewBoard``: posts and edits the
review embed, and re-uploads attachment evidence so it outlives the original message.

Evidence is downloaded from its Discord URL with the bot's own HTTP session; only
files whose declared size fits are fetched, and the bytes are checked again.
"""

from __future__ import annotations

import dataclasses
import io
import logging

import discord

from bot.discord_endpoints import is_discord_cdn_url
from bot.services.review.card import ReviewCard
from bot.services.review.ports import BoardError, BoardProblem, Posted
from cogs.review.buttons import review_view
from cogs.review.privacy import outside_viewers
from cogs.review.render import (
    NO_ATTACH,
    NO_LINK,
    NOT_DISCORD,
    SIZE_UNKNOWN,
    UPLOAD_LIMIT,
    download_failed,
    render_embed,
    too_large,
)

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 8 * 1024 * 1024
# Discord's upload limit for a message in a server without boosts is 10 MiB.
MAX_TOTAL_BYTES = 10 * 1024 * 1024 - 64 * 1024
MAX_FILES = 10
COPIED = "copied"

UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


class DiscordReviewBoard:
    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    def is_public(self, channel_id: int, moderator_role_id: int | None) -> bool:
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.GuildChannel):
            # Unknown to this process (not cached yet): it cannot be shown private.
            return True
        return bool(outside_viewers(channel, moderator_role_id))

    def _locale(self, card: ReviewCard) -> object:
        """The server's chosen language, else the one it set in Discord."""
        if card.language:
            return card.language
        guild = self.bot.get_guild(card.guild_id)
        return guild.preferred_locale if guild is not None else None

    async def post(self, channel_id: int, card: ReviewCard) -> Posted:
        files, states = await self._copy_evidence(card)
        shown = _with_copy_states(card, states)
        target = self.bot.get_partial_messageable(channel_id)
        try:
            message = await self._send(target, shown, files)
        except BoardError as exc:
            if not files or exc.problem is not BoardProblem.MISSING_PERMISSION:
                raise
            # Maybe only Attach Files is missing: post without the copies rather than not
            # at all.
            states = {k: NO_ATTACH for k in states}
            message = await self._send(target, _with_copy_states(card, states), [])
        return Posted(message.id, states)

    async def _send(
        self,
        target: discord.PartialMessageable,
        card: ReviewCard,
        files: list[discord.File],
    ) -> discord.Message:
        locale = self._locale(card)
        try:
            return await target.send(
                embed=render_embed(card, locale), view=review_view(card, locale), files=files,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            raise _board_error(exc) from None

    async def update(self, channel_id: int, message_id: int, card: ReviewCard) -> None:
        message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        locale = self._locale(card)
        try:
            if card.purged:
                # Retention: the re-uploaded evidence goes with the rest of the content.
                await message.edit(
                    embed=render_embed(card, locale), view=review_view(card, locale),
                    attachments=[],
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            else:
                await message.edit(
                    embed=render_embed(card, locale), view=review_view(card, locale),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
        except discord.HTTPException as exc:
            raise _board_error(exc) from None

    async def _copy_evidence(self, card: ReviewCard) -> tuple[list[discord.File], dict[str, str]]:
        files: list[discord.File] = []
        states: dict[str, str] = {}
        total = 0
        for index, evidence in enumerate(card.evidence):
            if evidence.kind != "attachment":
                continue
            key = str(index)
            if not evidence.url:
                states[key] = NO_LINK
                continue
            if not is_discord_cdn_url(evidence.url):
                states[key] = NOT_DISCORD
                continue
            if evidence.size is None:
                states[key] = SIZE_UNKNOWN
                continue
            if evidence.size > MAX_FILE_BYTES:
                states[key] = too_large(_mb(evidence.size))
                continue
            if len(files) >= MAX_FILES or total + evidence.size > MAX_TOTAL_BYTES:
                states[key] = UPLOAD_LIMIT
                continue
            try:
                data = await self.bot.http.get_from_cdn(evidence.url)
            except discord.HTTPException as exc:
                states[key] = download_failed(f"HTTP {exc.status}")
                continue
            except OSError as exc:
                states[key] = download_failed(type(exc).__name__)
                continue
            if len(data) > MAX_FILE_BYTES or total + len(data) > MAX_TOTAL_BYTES:
                states[key] = too_large(_mb(len(data)))
                continue
            total += len(data)
            files.append(discord.File(io.BytesIO(data), filename=evidence.label))
            states[key] = COPIED
        return files, states


def _with_copy_states(card: ReviewCard, states: dict[str, str]) -> ReviewCard:
    evidence = tuple(
        dataclasses.replace(e, copy_state=states.get(str(i), e.copy_state))
        for i, e in enumerate(card.evidence)
    )
    return dataclasses.replace(card, evidence=evidence)


def _board_error(exc: discord.HTTPException) -> BoardError:
    detail = f"Discord answered {exc.status} ({exc.code}: {exc.text or 'no details'})"
    if isinstance(exc, discord.Forbidden):
        return BoardError(
            BoardProblem.MISSING_PERMISSION,
            f"Warden lacks permission in the review channel: {detail}",
        )
    if isinstance(exc, discord.NotFound):
        if exc.code == UNKNOWN_MESSAGE:
            return BoardError(BoardProblem.MISSING_MESSAGE, "the review post was deleted")
        return BoardError(BoardProblem.MISSING_CHANNEL, "the review channel no longer exists")
    return BoardError(BoardProblem.FAILED, detail)
