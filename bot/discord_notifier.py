"""The Discord side of ``bot.notify``: DMs with link buttons that ping nobody."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import discord

from bot.i18n import localize
from bot.notify import DmOutcome, LinkButton, Notice

log = logging.getLogger(__name__)

DM_CLOSED = 50007


class KnowsLocales(Protocol):
    async def locale(self, discord_user_id: int) -> str | None: ...


def link_view(buttons: Sequence[LinkButton], locale: object = None) -> discord.ui.View | None:
    """URL buttons (at most five, one row); None when there are none."""
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in buttons[:5]:
        view.add_item(discord.ui.Button(label=localize(button.label, locale)[:80],
                                        url=button.url))
    return view


def render(notice: Notice, locale: object = None) -> tuple[discord.Embed, discord.ui.View | None]:
    """``notice`` in the language of ``locale`` (English when None or unknown)."""
    title = localize(notice.title, locale) if notice.title is not None else None
    embed = discord.Embed(title=title, description=localize(notice.text, locale)[:4096])
    return embed, link_view(notice.buttons, locale)


class DiscordNotifier:
    def __init__(self, client: discord.Client, locales: KnowsLocales | None = None) -> None:
        self._client = client
        self._locales = locales

    async def send_dm(self, user_id: int, notice: Notice) -> DmOutcome:
        locale = await self._locales.locale(user_id) if self._locales is not None else None
        embed, view = render(notice, locale)
        try:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            if view is None:
                await user.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())
            else:
                await user.send(
                    embed=embed, view=view, allowed_mentions=discord.AllowedMentions.none()
                )
        except discord.Forbidden as exc:
            if exc.code == DM_CLOSED:
                return DmOutcome.DMS_CLOSED
            log.warning("DM to user %s refused: %s", user_id, exc.code)
            return DmOutcome.FAILED
        except discord.HTTPException as exc:
            log.warning("DM to user %s failed: %s %s", user_id, exc.status, exc.code)
            return DmOutcome.FAILED
        return DmOutcome.SENT

    async def is_member(self, guild_id: int, user_id: int) -> bool:
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return False
        if guild.get_member(user_id) is not None:
            return True
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            return False
        except discord.HTTPException as exc:
            log.warning("could not tell whether user %s is in server %s: %s %s", user_id,
                        guild_id, exc.status, exc.code)
            return False
        return True

    async def live_reply_text(self, token: str) -> str | None:
        """The text (content, embed titles and descriptions) of the original reply of the
        interaction ``token``; None once Discord no longer has it."""
        app_id = self._client.application_id
        if app_id is None:
            return None
        try:
            hook = discord.Webhook.partial(app_id, token, client=self._client)
            message = await hook.fetch_message("@original")  # type: ignore[arg-type]
        except discord.HTTPException as exc:
            log.info("could not read back a live reply: %s %s", exc.status, exc.code)
            return None
        parts = [message.content] + [f"{e.title or ''}\n{e.description or ''}"
                                     for e in message.embeds]
        return "\n".join(parts)
