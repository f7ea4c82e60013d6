"""``/warden setup``, ``/warden limits`` and ``/warden settings``: per-server configuration.

Manage Server by default (server admins can grant it to other roles under Server
Settings > Integrations). Changes are saved in SQLite, audited, and take effect at once.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.app import WardenBot, services_of
from bot.domain import GuildSettings, ReportLimits, ReviewMode
from bot.errors import UserFacingError
from bot.i18n import LANGUAGES, localize, t
from bot.services.review.server_settings import Overview
from bot.services.status import CheckItem, CheckState
from cogs.review.facts import actor_of, setup_facts

log = logging.getLogger(__name__)

MARKS = {CheckState.OK: "✅", CheckState.PROBLEM: "⚠️", CheckState.INFO: "ℹ️"}


def _guild(interaction: discord.Interaction[WardenBot]) -> discord.Guild:
    """The server, once the member is known to manage it. ``default_permissions`` only
    hides the commands: an admin can grant them to any role under Integrations, so the
    permission is checked again on every use."""
    if interaction.guild is None:
        raise UserFacingError(t('This only works in a server.'))
    perms = interaction.permissions
    if not (perms.manage_guild or perms.administrator):
        raise UserFacingError(t('Only members with the Manage Server permission can '
                                'configure Warden.'))
    return interaction.guild


def checklist_text(items: list[CheckItem], locale: object = None) -> str:
    """The checklist in the reader's language (its lines are messages with parameters)."""
    lines = []
    for item in items:
        line = (f"{MARKS[item.state]} **{localize(item.subject, locale)}**: "
                f"{localize(item.detail, locale)}")
        if item.fix and item.state is not CheckState.OK:
            line += f"\n  → {localize(item.fix, locale)}"
        lines.append(line)
    return "\n".join(lines)[:4000]


def limits_text(limits: ReportLimits) -> str:
    def rule(count: int, text: str) -> str:
        return "off" if count == 0 else text

    burst = rule(limits.short_count, f"{limits.short_count} per {limits.short_seconds} s")
    again = rule(limits.target_cooldown_hours, f"after {limits.target_cooldown_hours} h")
    return "\n".join([
        "Per reporter (only accepted reports count):",
        f"• short burst: {burst}",
        f"• per hour: {rule(limits.hour_count, str(limits.hour_count))}",
        f"• per day: {rule(limits.day_count, str(limits.day_count))}",
        f"• the same player again (no activity given): {again}",
        "One report per player per activity, always.",
    ])


def settings_fields(embed: discord.Embed, guild: GuildSettings, retention_days: int) -> None:
    channel = f"<#{guild.review_channel_id}>" if guild.review_channel_id else "not set"
    role = f"<@&{guild.moderator_role_id}>" if guild.moderator_role_id else (
        "not set (Manage Server only)"
    )
    mode = ("approve: forwarded after a moderator approves"
            if guild.review_mode is ReviewMode.APPROVE
            else "auto: forwarded at once, posted for visibility")
    embed.add_field(name=t('Review channel'), value=channel)
    embed.add_field(name=t('Moderator role'), value=role)
    embed.add_field(name=t('Review mode'), value=mode, inline=False)
    audit_channel = (f"<#{guild.audit_channel_id}> (the chain head, daily)"
                     if guild.audit_channel_id else "not set")
    embed.add_field(name=t('Audit log channel'), value=audit_channel)
    embed.add_field(name=t('Kick or ban'), value=t('the member is DMed first')
                    if guild.dm_before_removal else t('no DM first'))
    embed.add_field(name=t('Report limits'), value=limits_text(guild.limits), inline=False)
    embed.add_field(name="Retention",
                    value=t("Report content is kept {retention_days} days (set by the bot's "
                            'operator).',
                            retention_days=retention_days), inline=False)


SETUP_CATCH_UP_WAIT = 2.0
"""Seconds ``/warden setup`` waits for waiting review posts before answering."""


class WardenAdmin(commands.Cog):
    warden = app_commands.Group(
        name="warden",
        description=locale_str("Configure Warden for this server"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: WardenBot) -> None:
        self.bot = bot
        self.caught_up = asyncio.Event()
        """Set once the review posts missing since the last stop were made (or tried)."""
        self._catching_up = False

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Once per process (on_ready repeats after a reconnect): review posts that a stop
        # cut off are made as soon as the channels are known.
        if self._catching_up:
            return
        self._catching_up = True
        try:
            await services_of(self.bot).review_posts.catch_up()
        except Exception:
            log.exception("could not post the review posts missing since the last stop")
        finally:
            self.caught_up.set()

    @warden.command(name="setup", description=
        locale_str("Choose the review channel, moderator role and "
                                              "review mode, and check what is missing"))
    @app_commands.describe(
        channel=locale_str("Where reports are posted for moderators (keep it private to staff)"),
        moderator_role=locale_str("Members with this role can act on reports"),
        mode=locale_str("approve: moderators approve before anything is sent; auto: send at once"),
        audit_channel=
            locale_str("Where Warden posts its audit chain head once a day (for the operator)"),
        clear_audit_channel=locale_str("Stop the daily audit chain head posts"),
        language=locale_str("The language of review posts, moderator answers and /reports"),
        dm_before_removal=
            locale_str("DM a member before Warden kicks or bans them (on by default)"),
    )
    @app_commands.choices(mode=[
        app_commands.Choice(name=t('approve (moderators approve first)'), value="approve"),
        app_commands.Choice(name=t('auto (forward at once, post for visibility)'), value="auto"),
    ], language=[
        # Each language in its own name: these choices are not translated.
        app_commands.Choice(name=lang.name, value=lang.discord) for lang in LANGUAGES
    ])
    async def setup(
        self,
        interaction: discord.Interaction[WardenBot],
        channel: discord.TextChannel | None = None,
        moderator_role: discord.Role | None = None,
        mode: app_commands.Choice[str] | None = None,
        audit_channel: discord.TextChannel | None = None,
        clear_audit_channel: bool = False,
        language: app_commands.Choice[str] | None = None,
        dm_before_removal: bool | None = None,
    ) -> None:
        services = services_of(self.bot)
        service = services.server_settings
        guild = _guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        saved = await service.configure(
            guild.id, interaction.user.id,
            review_channel_id=channel.id if channel else None,
            moderator_role_id=moderator_role.id if moderator_role else None,
            moderator_role_managed=moderator_role is not None and moderator_role.managed,
            review_mode=ReviewMode(mode.value) if mode else None,
            audit_channel_id=audit_channel.id if audit_channel else None,
            clear_audit_channel=clear_audit_channel,
            language=language.value if language else None,
            dm_before_removal=dm_before_removal,
        )
        facts = setup_facts(guild, saved)
        reposted: int | None = 0
        if facts.review_channel is not None and facts.review_channel.usable:
            # Thousands may be waiting, posted at Discord's pace: the reply does not wait
            # for all of them.
            task = services.review_posts.start_repost_missing(guild.id)
            done, _ = await asyncio.wait({task}, timeout=SETUP_CATCH_UP_WAIT)
            reposted = task.result() if done else None
        items = await service.checklist(guild.id, facts)
        problems = sum(1 for i in items if i.state is CheckState.PROBLEM)
        embed = discord.Embed(
            title=t('Warden setup'),
            description=checklist_text(items, interaction.locale),
            colour=discord.Colour.orange() if problems else discord.Colour.green(),
        )
        if reposted is None:
            embed.set_footer(text=t('Posting the waiting reports to the review channel, '
                                    'oldest first, at the pace Discord allows.'))
        elif reposted:
            embed.set_footer(text=t('Posted {reposted} waiting report(s) to the review '
                                    'channel.',
                                    reposted=reposted))
        await interaction.followup.send(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @warden.command(name="limits", description=
        locale_str("View or change how often members may report"))
    @app_commands.describe(
        short_count=locale_str("Reports allowed in the short window (0 = off)"),
        short_seconds=locale_str("Length of the short window in seconds"),
        hour_count=locale_str("Reports allowed per hour (0 = off)"),
        day_count=locale_str("Reports allowed per day (0 = off)"),
        target_cooldown_hours=locale_str("Hours before reporting the same player again (0 = off)"),
    )
    async def limits(
        self,
        interaction: discord.Interaction[WardenBot],
        short_count: app_commands.Range[int, 0, 100] | None = None,
        short_seconds: app_commands.Range[int, 1, 86400] | None = None,
        hour_count: app_commands.Range[int, 0, 1000] | None = None,
        day_count: app_commands.Range[int, 0, 10000] | None = None,
        target_cooldown_hours: app_commands.Range[int, 0, 720] | None = None,
    ) -> None:
        service = services_of(self.bot).server_settings
        guild = _guild(interaction)
        changes = {
            name: value
            for name, value in (
                ("short_count", short_count), ("short_seconds", short_seconds),
                ("hour_count", hour_count), ("day_count", day_count),
                ("target_cooldown_hours", target_cooldown_hours),
            )
            if value is not None
        }
        limits = await service.set_limits(guild.id, interaction.user.id, changes)
        title = "Report limits updated" if changes else "Report limits"
        embed = discord.Embed(title=title, description=limits_text(limits))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @warden.command(name="settings", description=
        locale_str("Show every Warden setting for this server"))
    async def settings(self, interaction: discord.Interaction[WardenBot]) -> None:
        service = services_of(self.bot).server_settings
        guild = _guild(interaction)
        current = await service.get(guild.id)
        overview: Overview = await service.overview(guild.id, setup_facts(guild, current))
        embed = discord.Embed(
            title=t('Warden settings for {name}', name=guild.name)[:256],
            description=checklist_text(overview.checklist, interaction.locale),
        )
        settings_fields(embed, overview.guild, overview.retention_days)
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @warden.command(name="blocks", description="Members stopped from reporting here, or lift "
                                               "one member's block")
    @app_commands.describe(lift="Lift this member's block (leave empty to list blocks)")
    async def blocks(self, interaction: discord.Interaction[WardenBot],
                     lift: discord.User | None = None) -> None:
        lifecycle = services_of(self.bot).lifecycle
        guild = _guild(interaction)
        actor = actor_of(interaction)
        if lift is not None:
            text = await lifecycle.lift_block(guild.id, actor, lift.id)
        else:
            found = await lifecycle.blocks(guild.id, actor)
            text = "\n".join(
                f"<@{b.member_id}> until <t:{int(b.until)}:f>"
                + (f": {discord.utils.escape_markdown(b.reason[:100])}" if b.reason else "")
                for b in found
            ) or "Nobody is blocked from reporting in this server."
        await interaction.response.send_message(
            text[:2000], ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
