"""Issue 12 items 5 and 6 through the Discord stand-in: a review channel is private
only if everyone who can read it is a moderator, and ``/warden`` is for members who
manage the server, with a moderator role an admin hands out."""

from __future__ import annotations

import json
from pathlib import Path

from bot.services.review.access import Moderators
from bot.services.review.ports import Actor
from tests.review_rig import ReviewWorld, review_world
from tests.standins.discord import Channel, DiscordStandIn, Overwrite, RecordedMessage
from tests.standins.discord import permissions as P


def _everything(message: RecordedMessage) -> str:
    return json.dumps([message.content, message.embeds, message.components])


async def _post(w: ReviewWorld, report_id: int) -> RecordedMessage:
    def check() -> RecordedMessage | None:
        for message in w.discord.message_log:
            if f"Warden report id {report_id}" in message.text:
                return message
        return None

    found: RecordedMessage = await w.discord.wait_until(check, description="the review post")
    return found


async def _seen_by_bot(w: ReviewWorld, *ids: int) -> None:
    guild = w.bot.get_guild(w.guild_id)
    assert guild is not None
    await w.discord.wait_until(
        lambda: all(guild.get_role(i) or guild.get_channel(i) for i in ids),
        description="the bot to see the new roles and channels")


async def _mod_queue(w: ReviewWorld, extra: Overwrite, *, also: tuple[int, ...]) -> Channel:
    """#mod-queue: @everyone denied, the moderator role and Warden allowed, plus
    ``extra``; returns once the bot sees it and the roles in ``also``."""
    g = w.discord.guild
    channel = w.discord.add_channel("mod-queue", overwrites=[
        Overwrite(g.id, 0, deny=P.VIEW_CHANNEL),
        Overwrite(g.moderator_role.id, 0, allow=P.VIEW_CHANNEL),
        Overwrite(g.bot_role.id, 0, allow=P.VIEW_CHANNEL),
        extra,
    ])
    await _seen_by_bot(w, channel.id, *also)
    return channel


async def test_a_channel_a_member_role_can_read_hides_the_reporter(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        verified = w.discord.add_role("Verified", permissions=P.EVERYONE_DEFAULT)
        # The common set-up: @everyone denied, a member role allowed.
        channel = await _mod_queue(w, Overwrite(verified.id, 0, allow=P.VIEW_CHANNEL),
                                   also=(verified.id,))
        reply = await w.setup(channel=channel)
        assert "@Verified can read #mod-queue without being moderators" in reply.text
        assert "leaves reporters' names out" in reply.text
        report = await w.accept_report()
        post = await _post(w, report.id)
        assert str(w.alice.id) not in _everything(post)
        assert "hidden" in post.text


async def test_a_member_overwrite_for_a_non_moderator_hides_the_reporter(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        admins = w.discord.add_role("Admins", permissions=P.ADMINISTRATOR)
        channel = await _mod_queue(w, Overwrite(w.carol.id, 1, allow=P.VIEW_CHANNEL),
                                   also=(admins.id,))
        reply = await w.setup(channel=channel)
        assert f"<@{w.carol.id}> can read #mod-queue" in reply.text
        assert "@Admins" not in reply.text  # Administrator is staff
        report = await w.accept_report()
        assert str(w.alice.id) not in _everything(await _post(w, report.id))


async def test_a_channel_only_staff_can_read_shows_the_reporter(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        managers = w.discord.add_role("Managers", permissions=P.MANAGE_GUILD)
        channel = await _mod_queue(w, Overwrite(managers.id, 0, allow=P.VIEW_CHANNEL),
                                   also=(managers.id,))
        reply = await w.setup(channel=channel)
        assert "Review channel privacy" not in reply.text
        report = await w.accept_report()
        assert f"<@{w.alice.id}>" in (await _post(w, report.id)).text


async def test_warden_needs_manage_server_at_run_time(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        helpers = w.discord.add_role("Helpers")
        dave = w.discord.add_member("dave", roles=[helpers.id])
        # An admin let the Helpers role see /warden under Server Settings > Integrations.
        w.discord.allow_command("warden", helpers.id)
        await _seen_by_bot(w, helpers.id)
        for sub, options in (("settings", {}), ("limits", {"hour_count": 1000}),
                             ("setup", {"mode": "auto"})):
            reply = await (await w.discord.slash(dave, "warden", options,
                                                 subcommand=sub)).wait_final()
            assert reply.ephemeral
            assert "Only members with the Manage Server permission" in reply.text, sub
        saved = await w.store.guilds.get(w.guild_id)
        assert saved.limits.hour_count != 1000 and saved.review_mode.value == "approve"


async def test_everyone_and_managed_roles_are_refused_as_moderator_role(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        g = w.discord.guild
        await w.setup()
        reply = await w.setup(moderator_role=g.everyone_role)
        assert "@everyone can't be the moderator role" in reply.text
        reply = await w.setup(moderator_role=g.bot_role)
        assert "managed by an integration" in reply.text
        saved = await w.store.guilds.get(w.guild_id)
        assert saved.moderator_role_id == g.moderator_role.id
        # A row an older version saved with @everyone makes no member a moderator.
        await w.store.guilds.update(w.guild_id, actor_id=None, moderator_role_id=g.id)
        member = Actor(w.alice.id, frozenset({g.id}))
        assert not Moderators.includes(await w.store.guilds.get(w.guild_id), member)
