"""Discord as the member-action service's ``MemberModeration`` (built in
``bot.runtime.open_app``): facts about the reported member and Warden's own standing,
and the timeout, kick and ban calls (the reason goes to Discord's audit log)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import discord

from bot.services.review.ports import PERMISSION_LABELS, MemberActionRefused, MemberFacts

MISSING_PERMISSIONS = 50013


class DiscordMemberModeration:
    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    def _guild(self, guild_id: int) -> discord.Guild:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise MemberActionRefused(f"server {guild_id} is not available to Warden")
        return guild

    async def _member(self, guild: discord.Guild, member_id: int) -> discord.Member | None:
        member = guild.get_member(member_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(member_id)
        except discord.NotFound:
            return None

    async def facts(self, guild_id: int, member_id: int) -> MemberFacts:
        guild = self.bot.get_guild(guild_id)
        member = None if guild is None else await self._member(guild, member_id)
        if guild is None or member is None:
            return MemberFacts(is_member=False)
        me = guild.me
        perms = me.guild_permissions
        return MemberFacts(
            is_member=True,
            is_owner=member.id == guild.owner_id,
            top_role_position=member.top_role.position,
            top_role_name=discord.utils.escape_markdown(member.top_role.name),
            bot_top_role_position=me.top_role.position,
            bot_top_role_name=discord.utils.escape_markdown(me.top_role.name),
            bot_permissions=frozenset(
                name for name in PERMISSION_LABELS if perms.administrator or getattr(perms, name)
            ),
        )

    async def timeout(self, guild_id: int, member_id: int, until: float, reason: str) -> None:
        when = dt.datetime.fromtimestamp(until, dt.UTC)
        await self._call(guild_id, member_id, lambda m: m.timeout(when, reason=reason))

    async def kick(self, guild_id: int, member_id: int, reason: str) -> None:
        await self._call(guild_id, member_id, lambda m: m.kick(reason=reason))

    async def ban(
        self, guild_id: int, member_id: int, reason: str, delete_message_seconds: int
    ) -> None:
        guild = self._guild(guild_id)
        try:
            await guild.ban(discord.Object(member_id), reason=reason,
                            delete_message_seconds=delete_message_seconds)
        except discord.Forbidden as exc:
            raise MemberActionRefused(str(exc.code)) from exc

    async def _call(
        self, guild_id: int, member_id: int, do: Callable[[discord.Member], Awaitable[None]]
    ) -> None:
        guild = self._guild(guild_id)
        member = await self._member(guild, member_id)
        if member is None:
            raise MemberActionRefused("not a member")
        try:
            await do(member)
        except discord.Forbidden as exc:
            raise MemberActionRefused(str(exc.code)) from exc
