"""``/about``: what Warden is, what this installation forwards to, and where to start."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot import __version__
from bot.app import WardenBot, services_of
from bot.i18n import localize, t


class About(commands.Cog):
    def __init__(self, bot: WardenBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description=
        locale_str("What Warden does here and how to use it"))
    async def about(self, interaction: discord.Interaction[WardenBot]) -> None:
        locale = interaction.locale
        destinations = [
            localize(t("{destination}: on", destination=d.name) if d.configured else
                     t("{destination}: not configured", destination=d.name), locale)
            for d in services_of(self.bot).destinations
        ]
        embed = discord.Embed(
            title=f"Warden {__version__}",
            description=localize(
                t('Report players with `/report`, or right-click a member or message and '
                  'choose **Report player** / **Report message**. Link your accounts with '
                  "`/link` so reports reach the game's moderators."), locale),
        )
        embed.add_field(name=localize(t('Reports go to'), locale),
                        value="\n".join(destinations), inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: WardenBot) -> None:
    await bot.add_cog(About(bot))
