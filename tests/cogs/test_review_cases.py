"""Cases through the Discord stand-in with the real report flow: in auto mode a post
carries the buttons its case allows; two members reporting one incident make one post
with both reports and two upstream deliveries each way; resolving tells both reporters,
never who decided nor which sanction."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import ActionKind, CaseOutcome, ReviewMode
from bot.services.review.ports import Actor
from tests.report_rig import ReportWorld, report_world
from tests.review_rig import review_world
from tests.standins.discord import DiscordStandIn, RecordedMessage

pytestmark = pytest.mark.usefixtures("isolated_env")


async def _staff_channel(w: ReportWorld) -> None:
    g = w.discord.guild
    await w.set_guild(review_channel_id=g.channel("staff-only").id,
                      moderator_role_id=g.moderator_role.id)


async def _post_saying(w: ReportWorld, report_id: int, *texts: str) -> RecordedMessage:
    def check() -> RecordedMessage | None:
        for message in w.discord.channel_messages("staff-only"):
            if f"Warden report id {report_id}" in message.text and all(
                    t in message.text for t in texts):
                return message
        return None

    found: RecordedMessage = await w.discord.wait_until(
        check, description=f"the review post of report {report_id} saying {texts}")
    return found


async def test_two_reporters_of_one_incident_share_one_case_and_both_hear_the_outcome(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, review_mode=ReviewMode.AUTO) as w:
        await _staff_channel(w)
        await w.link_everyone()
        carol_bungie = w.bungie.add_account("Carol", 7)
        await w.link_bungie(w.carol, carol_bungie)
        await w.link_game(w.carol, w.sanctions.add_player("CarolInGame"))
        activity = w.activity(w.alice_bungie, w.bob_bungie, carol_bungie)

        first = await w.report_and_confirm(w.alice, player="Bob#0042", activity=str(activity),
                                           description="Aimbot *all* match")
        await w.wait_delivered(first)
        post = await _post_saying(w, first, "Aimbot")
        # Auto mode: forwarded at once, and the case is open for moderators.
        lead = await w.store.reports.get(first)
        assert lead is not None and lead.case_id is not None
        case_id = lead.case_id
        assert [c for c in post.custom_ids if c.startswith("warden:review:")] == [
            f"warden:review:{a}:{case_id}" for a in ("claim", "resolve", "dismiss", "ask")]

        second = await w.report_and_confirm(w.carol, player="Bob#0042", activity=str(activity),
                                            description="Wallhacks, saw it too")
        await w.wait_delivered(second)
        stored = await w.store.reports.get(second)
        assert stored is not None and stored.case_id == case_id
        post = await _post_saying(w, first, "Reported by 2 members", "Wallhacks, saw it too")
        assert "Aimbot \\*all\\* match" in post.text  # each member's text, markdown escaped
        assert [m for m in w.discord.channel_messages("staff-only")
                if "Warden report id" in m.text] == [post]  # one post for the incident
        # Each report reached each destination on its own.
        assert w.sanctions.report_count == 2 and w.bungie.report_count == 2

        opened = await w.discord.click(w.discord.guild.moderator, post,
                                       f"warden:review:resolve:{case_id}")
        modal = await opened.modal()
        assert modal.custom_ids == ["outcome", "note", "to_reporter"]
        done = await opened.submit_modal({"outcome": "ban", "note": "third strike",
                                          "to_reporter": "Thanks for reporting."})
        answer = await done.wait_final(lambda m: m.ephemeral)
        assert "resolved (action taken). 2 of 2 reporters were told by DM." in answer.text
        await _post_saying(w, first, "Resolved", "Outcome: Banned", "third strike")
        for member in (w.alice, w.carol):
            dm = await w.discord.wait_for_dm(member, lambda m: "action was taken" in m.text)
            assert "Thanks for reporting." in dm.text
            assert "ban" not in dm.text.lower() and "third strike" not in dm.text
            assert str(w.discord.guild.moderator.user.id) not in dm.text
        case = await w.store.cases.get(case_id)
        assert case is not None and case.status == "resolved"


async def test_dismiss_can_block_an_abusive_reporter_until_lifted(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, review_mode=ReviewMode.APPROVE) as w:
        await _staff_channel(w)
        await w.link_everyone()
        mod = w.discord.guild.moderator
        first = await w.report_and_confirm(w.alice, player="Bob#0042", description="spam")
        post = await _post_saying(w, first, "spam")
        lead = await w.store.reports.get(first)
        assert lead is not None
        opened = await w.discord.click(mod, post, f"warden:review:dismiss:{lead.case_id}")
        done = await opened.submit_modal({"reason": "fifth fake report today",
                                          "block_days": "7"})
        answer = await done.wait_final(lambda m: m.ephemeral)
        assert "may not report in this server until" in answer.text

        # A blocked member is told why, on /report and on the right-click menu.
        again = await w.report(w.alice, player="Bob#0042")
        assert "stopped you from reporting here until" in again.text
        menu = await (await w.discord.user_command(w.alice, "Report player", w.bob)).wait_final()
        assert "stopped you from reporting here until" in menu.text
        assert w.sanctions.report_count == 0  # dismissed in approve mode: nothing sent

        owner = w.discord.guild.owner  # /warden is for Manage Server by default
        listed = await (await w.discord.slash(owner, "warden", {},
                                              subcommand="blocks")).wait_final()
        assert f"<@{w.alice.user.id}>" in listed.text and "fifth fake report" in listed.text
        lifted = await (await w.discord.slash(owner, "warden", {"lift": w.alice},
                                              subcommand="blocks")).wait_final()
        assert "may report in this server again" in lifted.text
        actions = [e.action for e in await w.store.audit.between(0, 2e10)]
        assert "reporter.blocked" in actions and "reporter.unblocked" in actions
        assert "stopped you" not in (await w.report(w.alice, player="Bob#0042")).text


async def test_the_post_shows_the_players_earlier_cases_and_reports_player_all_of_them(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(channel=w.discord.guild.channel("staff-only"))
        mod = Actor(w.mod.id, frozenset({w.discord.guild.moderator_role.id}))
        first = await w.accept_report()
        await w.lifecycle.resolve(w.guild_id, first.case_id or 0, mod,
                                  CaseOutcome(ActionKind.TIMEOUT))
        second = await w.accept_report()
        await w.lifecycle.dismiss(w.guild_id, second.case_id or 0, mod, reason="lag")
        third = await w.accept_report()
        post = await w.review_post(third)
        assert "Earlier cases in this server: 2" in post.text
        assert "dismissed" in post.text and "Timed out" in post.text

        handle = await w.discord.slash(w.mod, "reports", {"player": "Bob#1234"},
                                       subcommand="player")
        listed = await handle.wait_final()
        assert "3 case(s)" in listed.text
        assert [line.split(" ")[0] for line in listed.text.splitlines() if "**#" in line] == [
            "**#3**", "**#2**", "**#1**"]
