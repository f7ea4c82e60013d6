"""Who besides moderators can read a channel, from Discord's permission model.

A review channel is private only if everyone who can view it is a moderator: holds the
moderator role, or Manage Server, or Administrator. Checking ``@everyone`` alone misses
the common set-up where ``@everyone`` is denied and a "Member" role allowed. Every role
(by its own overwrite and base permissions) and every member overwrite that grants View
Channel is checked.
"""

from __future__ import annotations

import discord


def _moderator_role(role: discord.Role, moderator_role_id: int | None) -> bool:
    perms = role.permissions
    # @everyone is never the moderator role, whatever id an older version saved.
    named = role.id == moderator_role_id and not role.is_default()
    return named or perms.manage_guild or perms.administrator


def _moderator_member(member: discord.Member, moderator_role_id: int | None) -> bool:
    perms = member.guild_permissions
    return (perms.manage_guild or perms.administrator
            or any(_moderator_role(r, moderator_role_id) for r in member.roles))


def outside_viewers(channel: discord.abc.GuildChannel,
                    moderator_role_id: int | None) -> list[str]:
    """Roles and members who can view ``channel`` without being moderators, by name
    (``@everyone`` first); empty when the channel is private to staff."""
    guild = channel.guild
    me = guild.me
    found: list[str] = []
    for role in sorted(guild.roles, key=lambda r: r.position):
        if _moderator_role(role, moderator_role_id):
            continue
        if role.managed and me is not None and role in me.roles:
            continue  # Warden's own role: Warden posts there
        if channel.permissions_for(role).view_channel:
            found.append(role.name if role.is_default() else f"@{role.name}")
    for target, overwrite in channel.overwrites.items():
        if isinstance(target, discord.Role) or not overwrite.pair()[0].view_channel:
            continue
        if me is not None and target.id == me.id:
            continue
        if isinstance(target, discord.Member):
            if _moderator_member(target, moderator_role_id) or not (
                channel.permissions_for(target).view_channel
            ):
                continue
            found.append(f"<@{target.id}>")
        else:
            # Without the members intent Warden cannot tell who this is: not a moderator.
            found.append(f"<@{target.id}>")
    return found
