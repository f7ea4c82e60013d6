"""The floor for the Discord side: a bare discord.py client with Warden's intents and
a ``/report`` of the same shape as Warden's whose only work is to defer, as
Warden's does first. Only discord.py and Warden's list of reasons are imported."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.domain import Reason


class BareBot(discord.Client):
    def __init__(self, *, guild_ready_timeout: float) -> None:
        super().__init__(intents=discord.Intents(guilds=True),
                         member_cache_flags=discord.MemberCacheFlags.none(),
                         chunk_guilds_at_startup=False,
                         guild_ready_timeout=guild_ready_timeout)
        self.tree: app_commands.CommandTree[BareBot] = app_commands.CommandTree(self)
        self.tree.add_command(report)


@app_commands.command(name="report", description="Report a player to the game's moderators")
@app_commands.guild_only()
@app_commands.choices(reason=[app_commands.Choice(name=r.label, value=r.value) for r in Reason])
async def report(
    interaction: discord.Interaction[BareBot],
    reason: app_commands.Choice[str],
    player: app_commands.Range[str, 1, 100],
    activity: app_commands.Range[str, 1, 200] | None = None,
    description: app_commands.Range[str, 1, 4000] | None = None,
    evidence: discord.Attachment | None = None,
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
