"""What a member reads when Warden refuses a report, through the Discord stand-in: every
refusal is an ephemeral reply that says what is wrong, pings nobody, and stores
nothing that could be forwarded."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import ReportLimits
from tests.report_rig import report_world
from tests.standins.discord import DiscordStandIn, RecordedMessage
from tests.standins.discord.models import iter_components

pytestmark = pytest.mark.usefixtures("isolated_env")


def url_buttons(message: RecordedMessage) -> list[str]:
    return [str(c["url"]) for c in iter_components(message.components) if c.get("url")]


def refused(message: RecordedMessage) -> None:
    assert message.ephemeral and message.pings.nobody
    assert not [c for c in message.custom_ids if c.startswith("warden:report:confirm:")]


async def test_unlinked_reporter_is_offered_links(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        reply = await w.report(w.alice, player="Bob#0042")
        refused(reply)
        assert "`/link bungie` or `/link game`" in reply.text
        [button] = url_buttons(reply)
        assert "/oauth/bungie/start?t=" in button


async def test_self_report_is_refused_before_the_form(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        handle = await w.discord.user_command(w.alice, "Report player", w.alice)
        response = await handle.response()
        assert response.name != "MODAL"
        reply = await handle.wait_final()
        refused(reply)
        assert "You can't report yourself." in reply.text
        by_name = await w.report(w.alice, player="Alice#1111")
        refused(by_name)
        assert "You can't report yourself." in by_name.text


async def test_the_short_limit_says_when_to_come_back(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    limits = ReportLimits(short_count=1, short_seconds=30, hour_count=5, day_count=20,
                          target_cooldown_hours=24)
    async with report_world(tmp_path, discord_standin, limits=limits) as w:
        await w.link_everyone()
        await w.report_and_confirm(w.alice, player="Bob#0042")
        again = await w.report(w.alice, player=str(w.sanctions.add_player("Other").uuid))
        refused(again)
        assert "This server allows 1 report every 30 seconds." in again.text
        assert "You can report again in 30 seconds" in again.text or (
            "You can report again in 29 seconds" in again.text)
        # The right-click path refuses before showing the form, too.
        handle = await w.discord.user_command(w.alice, "Report player", w.bob)
        reply = await handle.wait_final()
        refused(reply)
        assert "1 report every 30 seconds" in reply.text


async def test_duplicate_report_for_the_same_activity(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        activity = w.activity()
        first = await w.report_and_confirm(w.alice, player="Bob#0042", activity=str(activity))
        await w.wait_delivered(first)
        again = await w.report(w.alice, player=f"<@{w.bob.user.id}>", activity=str(activity))
        refused(again)
        assert "You already reported this player for this activity" in again.text
        assert w.bungie.report_count == 1 and w.sanctions.report_count == 1


async def test_unknown_player_is_echoed_without_markup(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        reply = await w.report(w.alice, player="**@everyone** `x`#9999")
        refused(reply)
        assert "No Bungie.net player is called `**@everyone** ˋxˋ#9999`" in reply.text


async def test_activity_problems_are_named(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        carol = w.bungie.add_account("Carol", 7)
        private = w.activity(private=True)
        reply = await w.report(w.alice, player="Bob#0042", activity=str(private))
        refused(reply)
        assert f"Activity `{private}` is private on Bungie.net" in reply.text

        not_bob = w.activity(w.alice_bungie, carol)
        reply = await w.report(w.alice, player="Bob#0042", activity=str(not_bob))
        refused(reply)
        assert f"did not play in activity `{not_bob}`" in reply.text

        not_alice = w.activity(w.bob_bungie, carol)
        reply = await w.report(w.alice, player="Bob#0042", activity=str(not_alice))
        refused(reply)
        assert f"You did not play in activity `{not_alice}` as `Alice#1111`" in reply.text
        assert w.store is not None
        assert await w.store.deliveries.backlog() == 0


async def test_cancel_sends_nothing(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        reply = await w.report(w.alice, player="Bob#0042")
        report_id = w.report_id(reply)
        handle = await w.discord.click(w.alice, reply, f"warden:report:cancel:{report_id}")
        done = await handle.wait_final()
        assert "Cancelled: nothing was sent." in done.text and not done.custom_ids
        report = await w.store.reports.get(report_id)
        assert report is not None and report.status == "cancelled"
        assert await w.store.deliveries.for_report(report_id) == []
