"""Plain facts from Discord objects for the review service: who is acting, and what the
bot can do in the review channel."""

from __future__ import annotations

from typing import Any

import discord

from bot.app import services_of
from bot.domain import GuildSettings
from bot.errors import UserFacingError
from bot.i18n import t
from bot.services.review.checklist import ChannelFacts, SetupFacts
from bot.services.review.ports import PERMISSION_LABELS, Actor
from cogs.review.privacy import outside_viewers

# What a review post needs: see the channel, post, show the embed, re-upload evidence.
REVIEW_PERMISSIONS: dict[str, str] = {
    "view_channel": t('View Channel'),
    "send_messages": t('Send Messages'),
    "embed_links": t('Embed Links'),
    "attach_files": t('Attach Files'),
}


def actor_of(interaction: discord.Interaction[Any]) -> Actor:
    user = interaction.user
    if not isinstance(user, discord.Member):
        return Actor(user.id)
    perms = interaction.permissions
    return Actor(
        user_id=user.id,
        role_ids=frozenset(role.id for role in user.roles),
        manages_server=perms.manage_guild or perms.administrator,
        permissions=frozenset(
            name for name in PERMISSION_LABELS if perms.administrator or getattr(perms, name)
        ),
    )


def guild_id_of(interaction: discord.Interaction[Any]) -> int:
    if interaction.guild_id is None:
        raise UserFacingError(t('This only works in a server.'))
    return interaction.guild_id


def channel_facts(guild: discord.Guild, channel_id: int,
                  moderator_role_id: int | None) -> ChannelFacts:
    channel = guild.get_channel(channel_id)
    if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
        return ChannelFacts(channel_id, exists=False)
    me = guild.me
    perms = channel.permissions_for(me) if me is not None else discord.Permissions.none()
    missing = tuple(label for name, label in REVIEW_PERMISSIONS.items() if not getattr(perms, name))
    return ChannelFacts(
        channel_id, exists=True, name=channel.name, missing_permissions=missing,
        outside_viewers=tuple(outside_viewers(channel, moderator_role_id)),
    )


def setup_facts(guild: discord.Guild, settings: GuildSettings) -> SetupFacts:
    channel = (
        channel_facts(guild, settings.review_channel_id, settings.moderator_role_id)
        if settings.review_channel_id is not None
        else None
    )
    role = guild.get_role(settings.moderator_role_id) if settings.moderator_role_id else None
    return SetupFacts(
        review_channel=channel,
        moderator_role_exists=None if settings.moderator_role_id is None else role is not None,
        moderator_role_name=role.name if role is not None else None,
    )


async def server_locale(interaction: discord.Interaction[Any]) -> str:
    """The language of the server's staff answers: chosen with ``/warden setup``, else the
    server's preferred locale."""
    return await services_of(interaction.client).server_settings.language(
        guild_id_of(interaction), interaction.guild_locale)
