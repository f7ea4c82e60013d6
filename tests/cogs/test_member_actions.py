"""Warn / Timeout / Kick / Ban on the reported member, from the review post and ``/case``,
through the Discord stand-in with a real Warden."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from bot.errors import InvalidInput
from bot.i18n import Text, localize
from bot.services.review.member_actions import parse_duration
from tests.review_rig import review_world
from tests.standins.discord import DiscordStandIn
from tests.standins.discord import permissions as P

pytestmark = pytest.mark.usefixtures("isolated_env")


def member_button(action: str, case_id: int | None) -> str:
    return f"warden:member:{action}:{case_id}"


async def test_moderator_times_out_the_reported_member(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        report = await w.accept_report()
        post = await w.review_post(report)
        assert {member_button(a, report.case_id)
                for a in ("warn", "timeout", "kick", "ban")} <= set(post.custom_ids)

        opened = await w.discord.click(w.mod, post, member_button("timeout", report.case_id))
        modal = await opened.modal()
        assert modal.custom_ids == ["reason", "duration"]
        before = time.time()
        done = await opened.submit_modal({"reason": "Aimbot, clip in the report",
                                          "duration": "1d"})
        answer = (await done.wait_final(lambda m: m.ephemeral)).text
        assert f"<@{w.bob.id}> timed out for 1 day" in answer

        [action] = w.discord.moderation_actions
        assert action.kind == "timeout" and action.user_id == w.bob.id
        assert action.reason == f"Report #{report.number}: Aimbot, clip in the report"
        until = dt.datetime.fromisoformat(action.data["communication_disabled_until"])
        assert abs(until.timestamp() - (before + 86400)) < 60
        assert w.discord.guild.member("bob").communication_disabled_until is not None

        entries = [e for e in await w.store.audit.for_report(report.id)
                   if e.action == "member.timeout"]
        assert len(entries) == 1 and entries[0].actor_id == w.mod.id
        assert entries[0].details["seconds"] == 86400
        assert (await w.store.audit.verify()).ok
        # The action resolves the case, and the reporter is told (not what was done).
        assert "resolved (action taken). The reporter was told by DM." in answer
        assert report.case_id is not None
        case = await w.store.cases.get(report.case_id)
        assert case is not None and case.status == "resolved"
        assert case.outcome is not None and case.outcome.action == "timeout"
        assert case.note == "Aimbot, clip in the report"  # the moderator's words only
        # What Discord did is a line of the post's history, in the server's language.
        line = f"<@{w.bob.id}> timed out for 1 day: Aimbot, clip in the report"
        await w.discord.wait_until(
            lambda: any(line in m.text and f"Warden report id {report.id}" in m.text
                        for c in w.discord.guild.text_channels()
                        for m in w.discord.channel_messages(c)),
            description="the timeout in the review post's history")
        dm = await w.discord.wait_for_dm(w.alice, lambda m: "action was taken" in m.text)
        assert "Aimbot" not in dm.text


async def test_without_ban_members_a_moderator_cannot_ban(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    g = discord_standin.guild
    trial = discord_standin.add_role("Trial mod", permissions=P.MODERATE_MEMBERS)
    trainee = discord_standin.add_member("trainee", roles=[trial.id])
    g.role(g.bot_role_id or 0).permissions |= P.BAN_MEMBERS | P.KICK_MEMBERS
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(moderator_role=trial)
        report = await w.accept_report()
        post = await w.review_post(report)
        opened = await w.discord.click(trainee, post, member_button("ban", report.case_id))
        done = await opened.submit_modal({"reason": "cheating", "delete_days": "1"})
        answer = (await done.wait_final(lambda m: m.ephemeral)).text
        assert "you need Discord's **Ban Members** permission" in answer
        # The typed command refuses the same way.
        typed = await w.discord.slash(trainee, "case", {"number": report.number,
                                                        "reason": "cheating"},
                                      subcommand="ban")
        assert "**Ban Members**" in (await typed.wait_final()).text
        assert w.discord.moderation_actions == []
        assert w.discord.guild.member("bob") is not None


async def test_warden_below_the_member_refuses_clearly_and_changes_nothing(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    g = discord_standin.guild
    veteran = discord_standin.add_role("Veteran", position=g.role(g.bot_role_id or 0).position)
    g.member("bob").roles.append(veteran.id)
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        report = await w.accept_report()
        typed = await w.discord.slash(
            w.mod, "case", {"number": report.number, "duration": "1h", "reason": "spam"},
            subcommand="timeout")
        text = (await typed.wait_final()).text
        assert "Warden's highest role (Warden) is not above" in text and "Veteran" in text
        assert w.discord.moderation_actions == []
        assert g.member("bob").communication_disabled_until is None
        assert not [e for e in await w.store.audit.for_report(report.id)
                    if e.action.startswith("member.")]


async def test_a_refusal_from_discord_gets_the_same_clear_message(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        report = await w.accept_report()
        # Warden's cached view says it may; Discord says otherwise (its role changed since).
        discord_standin.guild.role(discord_standin.guild.bot_role_id or 0).permissions &= (
            ~P.MODERATE_MEMBERS)
        typed = await w.discord.slash(
            w.mod, "case", {"number": report.number, "duration": "10m", "reason": "spam"},
            subcommand="timeout")
        text = (await typed.wait_final()).text
        assert "Timeout Members" in text and "Nothing was changed" in text
        assert w.discord.moderation_actions == []


@pytest.mark.parametrize("duration", ["30s", "29d", "soon"])
async def test_timeout_duration_is_checked(
    tmp_path: Path, discord_standin: DiscordStandIn, duration: str
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        report = await w.accept_report()
        typed = await w.discord.slash(
            w.mod, "case", {"number": report.number, "duration": duration, "reason": "spam"},
            subcommand="timeout")
        text = (await typed.wait_final()).text
        assert "60 seconds to 28 days" in text or "could not read the duration" in text
        assert w.discord.moderation_actions == []


async def test_kick_dms_the_member_first_unless_the_server_turned_it_off(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    g = discord_standin.guild
    g.role(g.bot_role_id or 0).permissions |= P.BAN_MEMBERS | P.KICK_MEMBERS
    bob_id = g.target.id
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        report = await w.accept_report()
        post = await w.review_post(report)
        opened = await w.discord.click(w.mod, post, member_button("kick", report.case_id))
        done = await opened.submit_modal({"reason": "Repeated cheating"})
        assert "kicked. They were told by DM." in (
            await done.wait_final(lambda m: m.ephemeral)).text
        dm = await w.discord.wait_for_dm(bob_id)
        assert "Repeated cheating" in dm.text
        [kick] = w.discord.moderation_actions
        assert kick.kind == "kick" and dm.created_at <= kick.at  # told while still reachable

        w.discord.add_member(w.discord.state.users[bob_id])
        await w.setup(dm_before_removal=False)
        again = await w.accept_report()
        typed = await w.discord.slash(
            w.mod, "case", {"number": again.number, "reason": "Back at it", "delete_days": 7},
            subcommand="ban")
        assert "banned, deleting 7 days of messages." in (await typed.wait_final()).text
        ban = w.discord.moderation_actions[-1]
        assert ban.kind == "ban" and ban.data["delete_message_seconds"] == 7 * 86400
        assert len(w.discord.dms_to(bob_id)) == 1  # no second DM


async def test_a_mistyped_duration_is_refused_in_the_servers_language(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """Like every answer to a member action: the server's language, not the moderator's."""
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(language="fr")
        report = await w.accept_report()
        w.mod.user.locale = "de"
        typed = await w.discord.slash(
            w.mod, "case", {"number": report.number, "duration": "soon", "reason": "spam"},
            subcommand="timeout")
        text = (await typed.wait_final()).text
        assert text == localize(parse_error("soon"), "fr") != str(parse_error("soon"))
        assert w.discord.moderation_actions == []


def parse_error(duration: str) -> Text:
    with pytest.raises(InvalidInput) as refused:
        parse_duration(duration)
    message = refused.value.message
    assert isinstance(message, Text)
    return message
