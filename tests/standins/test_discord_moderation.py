"""The stand-in's member moderation (timeout, kick, ban) and Discord's refusals, driven
through a real discord.py bot's own calls."""

from __future__ import annotations

import datetime as dt

import discord
import pytest

from tests.standins.discord import DiscordStandIn, run_bot
from tests.standins.discord import permissions as P
from tests.standins.test_discord_standin import TinyBot


def _grant_bot(standin: DiscordStandIn, bits: int) -> None:
    role = standin.guild.role(standin.guild.bot_role_id or 0)
    role.permissions |= bits


async def test_timeout_kick_and_ban_are_recorded_with_their_reasons(
    discord_standin: DiscordStandIn,
) -> None:
    standin = discord_standin
    g = standin.guild
    _grant_bot(standin, P.KICK_MEMBERS | P.BAN_MEMBERS)
    carol_id, bob_id = g.member("carol").id, g.target.id
    async with run_bot(TinyBot(members_intent=True), standin) as bot:
        guild = bot.get_guild(g.id)
        assert guild is not None
        bob = await guild.fetch_member(bob_id)
        until = discord.utils.utcnow() + dt.timedelta(hours=1)
        await bob.timeout(until, reason="Case #12: spam — ünïcode")
        carol = await guild.fetch_member(carol_id)
        await carol.kick(reason="Case #13")
        await guild.ban(discord.Object(bob_id), reason="Case #14", delete_message_seconds=86400)
    kinds = [(a.kind, a.user_id, a.reason) for a in standin.moderation_actions]
    assert kinds == [
        ("timeout", bob_id, "Case #12: spam — ünïcode"),
        ("kick", carol_id, "Case #13"),
        ("ban", bob_id, "Case #14"),
    ]
    timeout = standin.moderation_actions[0]
    assert dt.datetime.fromisoformat(timeout.data["communication_disabled_until"]) == until
    assert standin.moderation_actions[2].data["delete_message_seconds"] == 86400
    assert bob_id not in g.members and carol_id not in g.members


async def test_refusals_match_discord(discord_standin: DiscordStandIn) -> None:
    standin = discord_standin
    g = standin.guild
    async with run_bot(TinyBot(members_intent=True), standin) as bot:
        guild = bot.get_guild(g.id)
        assert guild is not None
        bob = await guild.fetch_member(g.target.id)
        # The seeded bot role has no Ban Members.
        with pytest.raises(discord.Forbidden) as refused:
            await bob.ban(reason="x")
        assert refused.value.code == 50013
        # The owner cannot be timed out, whatever the bot holds.
        owner = await guild.fetch_member(g.owner_id)
        with pytest.raises(discord.Forbidden):
            await owner.timeout(dt.timedelta(minutes=5))
        # A member whose top role is at or above the bot's.
        high = standin.add_role("Veteran", position=g.role(g.bot_role_id or 0).position)
        g.member("bob").roles.append(high.id)
        with pytest.raises(discord.Forbidden):
            await bob.timeout(dt.timedelta(minutes=5), reason="no")
        # Longer than 28 days is a form error.
        g.member("bob").roles.remove(high.id)
        with pytest.raises(discord.HTTPException) as too_long:
            await bob.edit(timed_out_until=discord.utils.utcnow() + dt.timedelta(days=29))
        assert too_long.value.status == 400
    assert standin.moderation_actions == []
    assert g.member("bob").communication_disabled_until is None
