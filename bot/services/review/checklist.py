"""The ``/warden setup`` checklist: what is configured for a server, what is not, and how
to fix each problem. The Discord side gathers the facts (channel permissions, whether a
role still exists); this module only judges them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain import GuildSettings, ReviewMode
from bot.i18n import Items, t
from bot.services.status import CheckItem, CheckState


def review_problem_key(guild_id: int) -> str:
    """kv key of the last failure to post or edit a review post in this server."""
    return f"review.problem.{guild_id}"


@dataclass(frozen=True)
class ChannelFacts:
    """What the bot can see of the configured review channel."""

    channel_id: int
    exists: bool
    name: str | None = None
    missing_permissions: tuple[str, ...] = ()
    outside_viewers: tuple[str, ...] = ()
    """Roles and members who can read the channel without being moderators."""

    @property
    def usable(self) -> bool:
        return self.exists and not self.missing_permissions


@dataclass(frozen=True)
class SetupFacts:
    review_channel: ChannelFacts | None
    moderator_role_exists: bool | None  # None when no role is configured
    moderator_role_name: str | None = None


def moderator_role_refusal(guild_id: int, role_id: int, *, managed: bool) -> str | None:
    """Why a role cannot be the moderator role, or None when it can.

    Moderators see reporters' names and forward reports, so the role must be one an admin
    hands out: Discord gives ``@everyone`` (its id is the server's) to every member, and
    managed roles (a bot's, Server Booster, a subscription) to whoever the integration
    picks."""
    if role_id == guild_id:
        return (t("@everyone can't be the moderator role: every member has it, so every "
                  "member could act on reports and read reporters' names. Choose a role only "
                  'your moderators have.'))
    if managed:
        return (t('That role is managed by an integration (a bot, Server Booster or a '
                  'subscription), so Discord, not your admins, decides who has it. Choose a '
                  'role your moderators are given by hand.'))
    return None


def checklist(
    guild: GuildSettings,
    facts: SetupFacts,
    *,
    destinations: list[CheckItem],
    last_problem: dict[str, Any] | None,
) -> list[CheckItem]:
    """``destinations``: each destination's own line (the destination registry's)."""
    items: list[CheckItem] = []
    channel = facts.review_channel
    if guild.review_channel_id is None or channel is None:
        items.append(CheckItem(
            CheckState.PROBLEM, t('Review channel'),
            t('not set: reports are stored and delivered per the review mode, but no '
              'moderator is shown them. In approve mode nothing is forwarded until a '
              'moderator approves it with `/reports show`.')
            if guild.review_mode == ReviewMode.APPROVE else
            t('not set: reports are stored and delivered per the review mode, but no '
              'moderator is shown them.'),
            t('Run `/warden setup channel:` with a channel only moderators can read.'),
        ))
    elif not channel.exists:
        items.append(CheckItem(
            CheckState.PROBLEM, t('Review channel'),
            t('channel {channel_id} was deleted or Warden cannot see it.',
              channel_id=channel.channel_id),
            t("Pick another channel with `/warden setup channel:`, or give Warden's role "
              'View Channel there.'),
        ))
    else:
        where = (f"#{channel.name}" if channel.name
                 else t("channel {channel_id}", channel_id=channel.channel_id))
        if channel.missing_permissions:
            items.append(CheckItem(
                CheckState.PROBLEM, t('Review channel'),
                t('Warden lacks {join} in {where}, so review posts cannot be made or updated.',
                  join=Items(channel.missing_permissions), where=where),
                t("In {where}'s permission settings, allow these for Warden's role.",
                  where=where),
            ))
        else:
            items.append(CheckItem(CheckState.OK, t('Review channel'), t('{where}: Warden can '
                                                                      'post there.',
                                                                      where=where)))
        if "@everyone" in channel.outside_viewers:
            items.append(CheckItem(
                CheckState.PROBLEM, t('Review channel privacy'),
                t("everyone in the server can read {where}; Warden leaves reporters' names "
                  'out of posts there.',
                  where=where),
                t('Deny View Channel to @everyone and allow it for your moderator role.'),
            ))
        elif channel.outside_viewers:
            shown = ", ".join(channel.outside_viewers[:10])
            more = len(channel.outside_viewers) - 10
            items.append(CheckItem(
                CheckState.PROBLEM, t('Review channel privacy'),
                t('{shown} and {more} more can read {where} without being moderators (the '
                  "moderator role, Manage Server or Administrator); Warden leaves reporters' "
                  'names out of posts there.', shown=shown, more=more, where=where)
                if more > 0 else
                t('{shown} can read {where} without being moderators (the moderator role, '
                  "Manage Server or Administrator); Warden leaves reporters' names out of "
                  'posts there.', shown=shown, where=where),
                t("In {where}'s permission settings, allow View Channel only for your "
                  'moderator role.',
                  where=where),
            ))
    if last_problem:
        items.append(CheckItem(
            CheckState.PROBLEM, t('Last review post'),
            t("failed: {detail} (report #{number})",
              detail=last_problem.get("detail", "-"), number=last_problem["number"])
            if last_problem.get("number") else
            t("failed: {detail}", detail=last_problem.get("detail", "-")),
            t('Fix the channel, then run `/warden setup` again: Warden re-posts reports that '
              'are still waiting for review.'),
        ))

    if guild.moderator_role_id is None:
        items.append(CheckItem(
            CheckState.INFO, t('Moderator role'),
            t('not set: only members with Manage Server can act on reports.'),
            t('Run `/warden setup moderator_role:` to let your moderators act.'),
        ))
    elif facts.moderator_role_exists is False:
        items.append(CheckItem(
            CheckState.PROBLEM, t('Moderator role'),
            t('role {moderator_role_id} no longer exists: only members with Manage Server '
              'can act on reports.',
              moderator_role_id=guild.moderator_role_id),
            t('Choose the current role with `/warden setup moderator_role:`.'),
        ))
    else:
        name = f"@{facts.moderator_role_name}" if facts.moderator_role_name else t("set")
        items.append(CheckItem(CheckState.OK, t('Moderator role'), name))

    if guild.review_mode == ReviewMode.APPROVE:
        items.append(CheckItem(CheckState.INFO, t('Review mode'),
                               t('approve: reports are forwarded only after a moderator '
                                 'approves.')))
    else:
        items.append(CheckItem(CheckState.INFO, t('Review mode'),
                               t('auto: reports are forwarded at once and posted for '
                                 'visibility.')))

    items += destinations
    return items
