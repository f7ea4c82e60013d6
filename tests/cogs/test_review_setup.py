"""``/warden setup|limits|settings`` through the Discord stand-in, and what happens when
the review channel cannot be used: the report is still stored and delivered per the
review mode, and ``/warden setup`` names the problem."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.discord_channels import DiscordChannelPoster
from bot.domain import ReviewMode
from bot.services.audit.heads import AuditHeadPoster
from tests.review_rig import ReviewWorld, review_world
from tests.standins.discord import CommandUnavailable, DiscordStandIn, Overwrite
from tests.standins.discord import permissions as P

pytestmark = pytest.mark.usefixtures("isolated_env")


async def test_setup_saves_the_server_settings_and_audits_them(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        g = w.discord.guild
        reply = await w.setup(channel=g.channel("staff-only"), mode="auto")
        assert reply.ephemeral
        assert "✅ **Review channel**: #staff-only: Warden can post there." in reply.text
        assert "✅ **Moderator role**: @Moderator" in reply.text
        assert "auto: reports are forwarded at once" in reply.text
        assert "Review channel privacy" not in reply.text  # staff-only is private
        assert "no destination is configured" in reply.text
        saved = await w.store.guilds.get(g.id)
        assert saved.review_channel_id == g.channel("staff-only").id
        assert saved.moderator_role_id == g.moderator_role.id
        assert saved.review_mode is ReviewMode.AUTO
        [change] = [e async for e in w.store.audit.iterate() if e.action == "settings.changed"]
        assert change.actor_id == w.owner.id and change.guild_id == g.id
        assert change.details["changes"]["review_mode"] == ["approve", "auto"]

        # Members and moderators without Manage Server never see /warden.
        for member in (w.alice, w.mod):
            with pytest.raises(CommandUnavailable):
                await w.discord.slash(member, "warden", subcommand="settings")


async def test_limits_and_settings(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        shown = await (await w.discord.slash(w.owner, "warden", subcommand="limits")).wait_final()
        assert "per hour: 5" in shown.text and "per day: 20" in shown.text
        changed = await (await w.discord.slash(
            w.owner, "warden", {"hour_count": 3, "day_count": 0}, subcommand="limits"
        )).wait_final()
        assert "Report limits updated" in changed.text
        assert "per hour: 3" in changed.text and "per day: off" in changed.text
        limits = (await w.store.guilds.get(w.guild_id)).limits
        assert (limits.hour_count, limits.day_count, limits.short_count) == (3, 0, 1)
        audit = [e async for e in w.store.audit.iterate() if e.action == "settings.changed"]
        assert audit[-1].details["changes"] == {
            "limits.hour_count": [5, 3], "limits.day_count": [20, 0]
        }

        settings = await (await w.discord.slash(
            w.owner, "warden", subcommand="settings")).wait_final()
        text = settings.text
        assert settings.ephemeral
        assert f"<#{w.discord.guild.review_channel.id}>" in text
        assert f"<@&{w.discord.guild.moderator_role.id}>" in text
        assert "approve: forwarded after a moderator approves" in text
        assert "per hour: 3" in text and "kept 365 days" in text
        assert "everyone in the server can read #reports" in text  # the checklist too
        assert settings.pings.nobody
        assert "Language of staff posts" in text and "the server's Primary Language" in text
        assert "Kick or ban" in text and "the member is DMed first" in text

        await w.bot.services.server_settings.configure(w.guild_id, w.owner.id, language="de",
                                                       dm_before_removal=False)
        chosen = (await (await w.discord.slash(
            w.owner, "warden", subcommand="settings")).wait_final()).text
        assert "Deutsch" in chosen and "no DM first" in chosen


async def test_setup_names_the_permissions_warden_lacks(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        g = w.discord.guild
        locked = w.discord.add_channel("locked", overwrites=[
            Overwrite(g.id, 0, deny=P.VIEW_CHANNEL),
            Overwrite(g.moderator_role.id, 0, allow=P.VIEW_CHANNEL),
            Overwrite(g.bot_role.id, 0, allow=P.VIEW_CHANNEL,
                      deny=P.EMBED_LINKS | P.ATTACH_FILES),
        ])
        await w.discord.wait_until(lambda: w.bot.get_channel(locked.id) is not None)
        reply = await w.setup(channel=locked)
        assert "Warden lacks Embed Links and Attach Files in #locked" in reply.text
        assert "allow these for Warden's role" in reply.text

        # A channel that was deleted since.
        await w.bot.services.server_settings.configure(g.id, w.owner.id,
                                                       review_channel_id=123456789)
        reply = await (await w.discord.slash(w.owner, "warden", subcommand="setup")).wait_final()
        assert "channel 123456789 was deleted or Warden cannot see it" in reply.text


async def _refused_then_fixed(w: ReviewWorld, mode: str) -> None:
    g = w.discord.guild
    staff = g.channel("staff-only")
    await w.setup(channel=staff, mode=mode)
    w.discord.forbid_channel(staff)  # Discord answers 403 / 50013 from now on
    held = mode == "approve"
    report = await w.accept_report(
        deliveries=(("sanctions", "held" if held else "pending"),)
    )
    stored = await w.report(report.id)
    assert stored.review_message_id is None
    assert stored.status == "accepted" and (await w.case(report)).status == "open"
    [delivery] = await w.store.deliveries.for_report(report.id)
    assert delivery.status == ("held" if held else "pending")
    assert w.discord.channel_messages(staff) == []

    reply = await (await w.discord.slash(w.owner, "warden", subcommand="setup")).wait_final()
    assert "**Last review post**: failed: Warden lacks permission in the review channel" in (
        reply.text
    )
    assert "50013" in reply.text and "(report #1)" in reply.text

    w.discord.allow_channel(staff)
    reply = await (await w.discord.slash(w.owner, "warden", subcommand="setup")).wait_final()
    assert "Last review post" not in reply.text
    # Reports that missed their post are posted once the channel works.
    assert "Posted 1 waiting report(s)" in reply.text
    post = await w.review_post(report)
    assert post.channel_id == staff.id
    assert "Report #1" in post.text
    assert ("Approve and forward" in str(post.components)) is held


async def test_forbidden_review_channel_in_approve_mode(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await _refused_then_fixed(w, "approve")


async def test_forbidden_review_channel_in_auto_mode_still_forwards(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await _refused_then_fixed(w, "auto")


async def test_no_review_channel_at_all(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        report = await w.accept_report()
        assert (await w.case(report)).status == "open"
        reply = await (await w.discord.slash(w.owner, "warden", subcommand="setup")).wait_final()
        assert "**Review channel**: not set" in reply.text
        assert "approves it with `/reports show`" in reply.text
        assert "only members with Manage Server can act on reports" in reply.text


async def test_the_audit_chain_head_is_posted_daily_to_the_chosen_channel(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    g = discord_standin.guild
    staff = g.channel("staff-only")
    async with review_world(tmp_path, discord_standin) as w:
        reply = await w.setup(audit_channel=staff)
        assert reply.ephemeral
        assert (await w.store.guilds.get(g.id)).audit_channel_id == staff.id
        settings = await (await w.discord.slash(
            w.owner, "warden", subcommand="settings")).wait_final()
        assert f"<#{staff.id}> (the chain head, daily)" in settings.text
        both = await w.setup(audit_channel=staff, clear_audit_channel=True)
        assert "Choose an audit channel or clear it, not both." in both.text
    assert w.discord.channel_messages(staff) == []

    # The next start's background task posts the head (it never was).
    async with review_world(tmp_path, discord_standin, outbox=True) as w:
        for _ in range(250):
            if w.discord.channel_messages(staff):
                break
            await asyncio.sleep(0.02)
        check = await w.store.audit.verify()
        [post] = w.discord.channel_messages(staff)
        assert f"Audit chain head: row {check.rows_checked}, hash `{check.head_hash}`" in (
            post.content)
        assert "verify --anchor" in post.content and post.pings.nobody

        # Within the day, nothing more; a day later, the head again.
        now = time.time()
        later = AuditHeadPoster(w.store, DiscordChannelPoster(w.bot), clock=lambda: now + 3600)
        assert await later.post_due() == 0
        day = AuditHeadPoster(w.store, DiscordChannelPoster(w.bot),
                              clock=lambda: now + 86400 + 60)
        assert await day.post_due() == 1
        assert len(w.discord.channel_messages(staff)) == 2

        # Cleared: no more posts.
        await w.setup(clear_audit_channel=True)
        assert (await w.store.guilds.get(g.id)).audit_channel_id is None
        week = AuditHeadPoster(w.store, DiscordChannelPoster(w.bot),
                               clock=lambda: now + 7 * 86400)
        assert await week.post_due() == 0
