"""Discord permission bits and the guild/channel permission computation."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Channel, Guild

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40

ALL_PERMISSIONS = (1 << 51) - 1

#: What @everyone gets in the seeded guilds.
EVERYONE_DEFAULT = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

#: The seeded "Moderator" role.
MODERATOR_DEFAULT = (
    KICK_MEMBERS
    | BAN_MEMBERS
    | VIEW_AUDIT_LOG
    | MANAGE_MESSAGES
    | MANAGE_NICKNAMES
    | MANAGE_THREADS
    | MODERATE_MEMBERS
    | MENTION_EVERYONE
)

#: The bot's own managed role in every seeded guild (no ADMINISTRATOR on purpose).
BOT_DEFAULT = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | MANAGE_MESSAGES
    | MODERATE_MEMBERS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
    | MANAGE_THREADS
)


def base_permissions(guild: Guild, user_id: int) -> int:
    """Guild-level permissions of a member (owner and ADMINISTRATOR get everything)."""
    if user_id == guild.owner_id:
        return ALL_PERMISSIONS
    member = guild.members.get(user_id)
    everyone = guild.roles.get(guild.id)
    perms = everyone.permissions if everyone is not None else 0
    if member is not None:
        for role_id in member.roles:
            role = guild.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def channel_permissions(guild: Guild, user_id: int, channel: Channel | None) -> int:
    """Permissions of a member in a channel, applying overwrites in Discord's order."""
    perms = base_permissions(guild, user_id)
    if perms == ALL_PERMISSIONS or channel is None:
        return perms
    member = guild.members.get(user_id)
    role_ids = set(member.roles) if member is not None else set()
    overwrites = {ow.id: ow for ow in channel.overwrites}
    everyone_ow = overwrites.get(guild.id)
    if everyone_ow is not None:
        perms = (perms & ~everyone_ow.deny) | everyone_ow.allow
    allow = deny = 0
    for ow in channel.overwrites:
        if ow.type == 0 and ow.id in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    member_ow = overwrites.get(user_id)
    if member_ow is not None and member_ow.type == 1:
        perms = (perms & ~member_ow.deny) | member_ow.allow
    if not perms & VIEW_CHANNEL:
        return 0
    return perms


def has_all(perms: int, required: int) -> bool:
    """True when ``perms`` includes every bit of ``required`` (ADMINISTRATOR counts as all)."""
    if perms & ADMINISTRATOR:
        return True
    return perms & required == required


def top_role_position(guild: Guild, user_id: int) -> int:
    """Position of a member's highest role (@everyone is 0), what Discord's hierarchy compares."""
    member = guild.members.get(user_id)
    if member is None:
        return 0
    return max(
        (guild.roles[r].position for r in member.roles if r in guild.roles),
        default=0,
    )
