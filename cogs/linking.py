"""``/link``, ``/links`` and ``/unlink``: Discord's side of account linking.

Translation only: the linking service decides and remembers; this cog turns its
answers into ephemeral replies and link buttons.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app import WardenBot, send_ephemeral, services_of
from bot.discord_names import account_handle
from bot.discord_notifier import link_view
from bot.domain import GamePlatform, Provider
from bot.i18n import Text, joined, t
from bot.notify import DmOutcome, LinkButton
from bot.services.linking.service import (
    PLATFORM_LABELS,
    LinkHealth,
    LinkingService,
    LinkSummary,
    platform_label,
)

PROVIDER_NAMES = {Provider.BUNGIE: "Bungie.net", Provider.GAME: t("Game account")}


def _text(value: str) -> str:
    return discord.utils.escape_markdown(discord.utils.escape_mentions(value))


class Linking(commands.Cog):
    link = app_commands.Group(
        name="link", description=
            locale_str("Link your Bungie.net or game account to your Discord account")
    )

    def __init__(self, bot: WardenBot) -> None:
        self.bot = bot

    def _service(self) -> LinkingService:
        return services_of(self.bot).need_linking()

    @link.command(name="bungie", description=
        locale_str("Link your Bungie.net account by signing in there"))
    async def link_bungie(self, interaction: discord.Interaction[WardenBot]) -> None:
        await self._offer(interaction, Provider.BUNGIE, None)

    @link.command(name="game", description=
        locale_str("Link your game account by signing in with a platform"))
    @app_commands.describe(platform=locale_str("Where you sign in to the game"))
    @app_commands.choices(
        platform=[
            app_commands.Choice(name=PLATFORM_LABELS[p], value=p.value) for p in GamePlatform
        ]
    )
    async def link_game(
        self, interaction: discord.Interaction[WardenBot], platform: app_commands.Choice[str]
    ) -> None:
        await self._offer(interaction, Provider.GAME, GamePlatform(platform.value))

    async def _offer(
        self,
        interaction: discord.Interaction[WardenBot],
        provider: Provider,
        platform: GamePlatform | None,
    ) -> None:
        service = self._service()
        await interaction.response.defer(ephemeral=True, thinking=True)
        offer = await service.offer_link(interaction.user.id, provider, platform,
                                         discord_name=account_handle(interaction.user))
        minutes = max(1, round((offer.expires_at - time.time()) / 60))
        shown = PLATFORM_LABELS[platform] if platform is not None else None
        if offer.dm is DmOutcome.SENT:
            await send_ephemeral(
                interaction,
                t('Check your DMs: I sent you a one-time link to sign in with {platform}. It '
                  'works once, for {minutes} minutes.', platform=shown, minutes=minutes)
                if shown else
                t('Check your DMs: I sent you a one-time link to sign in. It works once, for '
                  '{minutes} minutes.', minutes=minutes),
            )
            return
        why = (
            t("I could not DM you because your DMs are closed to me (Privacy Settings > "
              "Direct Messages)")
            if offer.dm is DmOutcome.DMS_CLOSED
            else t("I could not DM you")
        )
        button = LinkButton(label=t('Link {provider_label} account',
                                    provider_label=offer.provider_label), url=offer.url)
        await send_ephemeral(
            interaction,
            t('{why}, so here is your one-time link to sign in with {platform}. Only you can '
              "see this message; don't share the link. It works once, for {minutes} minutes.",
              why=why, platform=shown, minutes=minutes)
            if shown else
            t('{why}, so here is your one-time link to sign in. Only you can see this '
              "message; don't share the link. It works once, for {minutes} minutes.",
              why=why, minutes=minutes),
            view=link_view([button]),
        )

    @app_commands.command(name="links", description=
        locale_str("See which accounts you have linked"))
    async def links(self, interaction: discord.Interaction[WardenBot]) -> None:
        service = self._service()
        found = await service.links(interaction.user.id)
        if not found:
            await send_ephemeral(
                interaction,
                t('You have not linked any account. Use `/link bungie` or `/link game`.'),
            )
            return
        lines = [_describe(link) for link in found]
        broken = [link.provider.value for link in found if link.health is not LinkHealth.WORKING]
        view = None
        if broken:
            view = link_view(await service.relink_buttons(
                interaction.user.id, broken, discord_name=account_handle(interaction.user)
            ))
        if view is None:
            await send_ephemeral(interaction, joined("\n", lines))
        else:
            await send_ephemeral(interaction, joined("\n", lines), view=view)

    @app_commands.command(
        name="unlink", description=locale_str("Forget a linked account and erase its sign-in")
    )
    @app_commands.describe(which=locale_str("Which link to remove"))
    @app_commands.choices(
        which=[
            app_commands.Choice(name=locale_str("Bungie.net"), value="bungie"),
            app_commands.Choice(name=t('Game account'), value="game"),
            app_commands.Choice(name=locale_str("Both"), value="all"),
        ]
    )
    async def unlink(
        self, interaction: discord.Interaction[WardenBot], which: app_commands.Choice[str]
    ) -> None:
        service = self._service()
        removed = await service.unlink(interaction.user.id, which.value)
        if not removed:
            await send_ephemeral(interaction, t('You had no such link; nothing was removed.'))
            return
        parts = [
            t("your {provider} link ({account})", provider=PROVIDER_NAMES[link.provider],
              account=_text(link.account_name))
            for link in removed
        ]
        await send_ephemeral(
            interaction,
            t('Removed {join}. Its sign-in tokens are erased; link again any time with '
              '`/link`.',
              join=joined(", ", parts)),
        )


def _describe(link: LinkSummary) -> Text:
    account = _text(link.account_name)
    if link.platform:
        account += f" ({_text(platform_label(link.platform))})"
    since = discord.utils.format_dt(datetime.fromtimestamp(link.linked_at, tz=UTC), style="D")
    provider = PROVIDER_NAMES[link.provider]
    if link.health is LinkHealth.WORKING:
        return t("**{provider}**: {account}, linked {since}. Working.",
                 provider=provider, account=account, since=since)
    if link.problem:
        return t("**{provider}**: {account}, linked {since}. Needs relinking ({problem}): "
                 "use `/link {command}`.", provider=provider, account=account, since=since,
                 problem=(link.problem if isinstance(link.problem, Text)
                          else _text(link.problem)), command=link.provider.value)
    return t("**{provider}**: {account}, linked {since}. Needs relinking: use "
             "`/link {command}`.", provider=provider, account=account, since=since,
             command=link.provider.value)


async def setup(bot: WardenBot) -> None:
    await bot.add_cog(Linking(bot))
