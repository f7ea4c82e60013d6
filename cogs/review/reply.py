"""``/reply``: the reporter answers a moderator's "ask for more info".

It is a command of its own because ``/report`` is a single command (with options), and
a slash command cannot also have subcommands.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app import WardenBot, services_of
from bot.i18n import t
from bot.services.review.lifecycle import REPLY_MAX
from cogs.review.facts import guild_id_of

REPLY_HINT = (
    "Answer with `/reply number:{number} answer:...` in the server where you reported. "
    "Your answer is added to the report for the moderators."
)


class Reply(commands.Cog):
    def __init__(self, bot: WardenBot) -> None:
        self.bot = bot

    @app_commands.command(name="reply", description=
        locale_str("Answer the moderators' question about "
                                                    "one of your reports"))
    @app_commands.guild_only()
    @app_commands.describe(number=
        locale_str("Your report's number, as in #12"), answer=locale_str("Your answer"))
    async def reply(
        self,
        interaction: discord.Interaction[WardenBot],
        number: app_commands.Range[int, 1],
        answer: app_commands.Range[str, 1, REPLY_MAX],
    ) -> None:
        report = await services_of(self.bot).lifecycle.reply(
            guild_id_of(interaction), interaction.user.id, number, answer)
        await interaction.response.send_message(
            t('Thanks: your answer was added to report #{number}. The moderators can see it '
              'now.',
              number=report.number),
            ephemeral=True,
        )
