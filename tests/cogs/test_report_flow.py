"""A report from start to finish as a member lives it: ``/report`` (or a right-click)
in the Discord stand-in, the draft with its Confirm button, and delivery to the
Bungie and sanctions stand-ins, whose records show exactly what arrived."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.apis.bungie import snapshot_table
from bot.apis.bungie.reasons import OTHER_REASON_HASH, ReasonTarget
from bot.crypto import TokenBox, generate_key
from bot.domain import Reason, ReviewMode
from bot.store.cases import CaseChange
from bot.store.notices import ProcessRun
from tests.linking_rig import free_port
from tests.report_rig import ReportWorld, report_world, run_warden, world_settings
from tests.standins.bungie import BungieStandin
from tests.standins.discord import DiscordStandIn, RecordedMessage, Upload
from tests.standins.sanctions import REPORTS_ROUTE, SanctionsStandin

pytestmark = pytest.mark.usefixtures("isolated_env")


async def test_slash_report_with_autocomplete_reaches_both_apis(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        carol = w.bungie.add_account("Carol", 7)
        w.bungie.manifest_entities[("DestinyActivityDefinition", 588019350)] = {
            "hash": 588019350, "displayProperties": {"name": "Burnout"}}
        activity = w.activity(w.alice_bungie, w.bob_bungie, carol, hours_ago=2)
        older = w.activity(w.alice_bungie, hours_ago=30)

        # The activity picker offers the reporter's recent activities, newest first.
        choices = await w.discord.autocomplete(w.alice, "report", "activity", "")
        assert [c["value"] for c in choices[:2]] == [str(activity), str(older)]
        assert choices[0]["name"] == f"Trials of Osiris · Burnout · 2 hours ago · {activity}"
        assert choices[1]["name"].startswith("Trials of Osiris · Burnout · 30 hours ago")

        # With the activity chosen, the player picker offers the others who played in it.
        players = await w.discord.autocomplete(
            w.alice, "report", "player", "", options={"activity": str(activity)})
        assert sorted(c["value"] for c in players) == ["Bob#0042", "Carol#0007"]

        reply = await w.report(w.alice, reason="cheating", player="Bob#0042",
                               activity=str(activity), description="Aimbot all match")
        assert reply.ephemeral
        assert "Report #1: check and confirm" in reply.text
        assert "Bob#0042" in reply.text and "Cheating" in reply.text
        assert "Bungie.net" in reply.text and "Game backend" in reply.text
        # Nothing left Warden before the member confirmed.
        assert w.bungie.report_count == 0 and w.sanctions.report_count == 0

        confirm = await w.confirm(w.alice, reply)
        report_id = w.report_id(reply)
        rows = await w.wait_delivered(report_id)
        assert {(r.destination, r.status) for r in rows} == {("bungie", "sent"),
                                                             ("sanctions", "sent")}

        # Bungie: filed as Alice, against Bob's character in that activity.
        [filed] = w.bungie.reports
        assert filed.activity_id == activity and filed.reporter is w.alice_bungie
        # The stand-in serves the packaged manifest table, so its hashes are expected.
        cheating = snapshot_table()[Reason.CHEATING]
        assert (cheating.category_name, cheating.reason_name) == ("Cheating", "Hacking")
        assert filed.body == {"reasonCategoryHashes": [cheating.category_hash],
                              "reasonHashes": [cheating.reason_hash],
                              "offendingCharacterId": w.bob_bungie.character_id}

        # Sanctions: filed with Alice's own game token, Warden's id in custom_data.
        [request] = w.sanctions.requests_to(REPORTS_ROUTE, "POST")
        assert request.path == f"/sanctions/v2/player/{w.bob_game.uuid}/reports"
        assert request.json == {
            "reason": "cheating",
            "description": "Aimbot all match",
            "custom_data": {"warden_report_id": str(report_id), "warden_report_number": "1",
                            "warden_report_uuid": request.json["custom_data"][
                                "warden_report_uuid"],
                            "discord_guild_id": str(w.guild_id),
                            "destiny_activity_id": str(activity)},
        }
        accepted = await w.store.reports.get(report_id)
        assert accepted is not None and accepted.uuid is not None
        assert request.json["custom_data"]["warden_report_uuid"] == accepted.uuid
        [stored] = w.sanctions.reports
        assert stored["source_player_uuid"] == str(w.alice_game.uuid)
        sanctions_row = next(r for r in rows if r.destination == "sanctions")
        assert sanctions_row.upstream_id == stored["report_id"]

        # The reporter is told per destination, in place: Confirm turned the draft into
        # the report's status at once (no "thinking…" step), and that message is edited
        # when the deliveries settle. No further messages, no DM.
        assert (await confirm.response()).name == "UPDATE_MESSAGE"
        outcome = await w.told(confirm)
        assert outcome.id == reply.id and outcome.ephemeral
        assert "Bungie.net:** delivered" in outcome.text
        assert f"Game backend:** delivered (reference `{stored['report_id']}`)" in outcome.text
        assert not outcome.custom_ids  # Confirm and Cancel are gone
        assert confirm.followups == []
        assert not w.discord.dms_to(w.alice)
        # ...and recorded as told, so the next start has nothing to send her by DM.
        for _ in range(250):
            if not await w.store.notices.untold():
                break
            await asyncio.sleep(0.02)
        w.service.messenger.started_at = float("inf")  # as the next process would see it
        assert await w.service.messenger.tell_untold() == 0
        assert not w.discord.dms_to(w.alice)


async def test_report_player_menu_opens_a_form_and_uses_the_members_links(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        handle = await w.discord.user_command(w.alice, "Report player", w.bob)
        modal = await handle.modal()
        assert set(modal.custom_ids) == {"report:reason", "report:description",
                                         "report:activity", "report:player"}
        submitted = await handle.submit_modal({
            "report:reason": ["harassment"],
            "report:description": "Kept messaging me slurs",
        })
        reply = await submitted.wait_final()
        assert "Harassment" in reply.text and f"<@{w.bob.user.id}>" in reply.text
        # Without an activity, Bungie.net cannot take it; the form says why.
        assert "Not to Bungie.net:** Bungie.net only takes reports about one activity" in (
            reply.text)
        await w.confirm(w.alice, reply)
        rows = await w.wait_delivered(w.report_id(reply))
        assert [(r.destination, r.status) for r in rows] == [("sanctions", "sent")]
        [stored] = w.sanctions.reports
        assert stored["reason"] == "harassment"
        assert stored["target_player_uuid"] == str(w.bob_game.uuid)


async def test_report_message_keeps_the_message_as_evidence(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        message = await w.discord.post_user_message(
            "general", w.bob, "you are trash, uninstall",
            attachments=[Upload("proof.png", b"\x89PNG...", "image/png")])
        handle = await w.discord.message_command(w.alice, "Report message", message)
        submitted = await handle.submit_modal({"report:reason": ["hate_speech"]})
        reply = await submitted.wait_final()
        assert "Hate speech" in reply.text and "1 attachment" in reply.text
        await w.confirm(w.alice, reply)
        report_id = w.report_id(reply)
        await w.wait_delivered(report_id)

        report = await w.store.reports.get(report_id)
        assert report is not None
        kept = {e.kind: e for e in report.evidence}
        assert kept["message"].text == "you are trash, uninstall"
        assert kept["message"].author_id == w.bob.user.id
        assert kept["message"].url and str(message.id) in kept["message"].url
        assert kept["attachment"].filename == "proof.png"
        [stored] = w.sanctions.reports
        assert "you are trash, uninstall" in stored["custom_data"]["evidence"]
        assert "proof.png" in stored["custom_data"]["evidence"]


async def test_mentions_in_a_description_are_delivered_as_text_and_ping_nobody(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        text = f"@everyone look <@{w.carol.user.id}> @here"
        reply = await w.report(w.alice, player=f"<@{w.bob.user.id}>", description=text)
        assert "@everyone" in reply.text
        confirm = await w.confirm(w.alice, reply)
        await w.wait_delivered(w.report_id(reply))
        outcome = await w.told(confirm)
        [stored] = w.sanctions.reports
        assert stored["description"] == text
        for message in [reply, w.discord.message(reply), outcome]:
            assert message.pings.nobody
            assert message.allowed_mentions is not None
            assert message.allowed_mentions.get("parse") == []


async def test_approve_mode_holds_deliveries_until_a_moderator_releases_them(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, review_mode=ReviewMode.APPROVE) as w:
        await w.link_everyone()
        reply = await w.report(w.alice, player=str(w.bob_game.uuid))
        assert "moderators review reports before they are forwarded" in reply.text
        confirm = await w.confirm(w.alice, reply)
        progress = await confirm.wait_final()
        assert "waiting for a moderator's approval" in progress.text
        report_id = w.report_id(reply)
        [row] = await w.store.deliveries.for_report(report_id)
        assert row.status == "held" and w.sanctions.report_count == 0

        # What the review side does on approval: release the rows and say so.
        from bot.services.events import Event, EventKind

        report = await w.store.reports.get(report_id)
        assert report is not None and report.case_id is not None
        await w.store.cases.change(report.case_id, CaseChange(
            ("open",), None, "report.forwarded", {}, release_held=True),
            actor_id=w.discord.guild.moderator.user.id)
        await w.bot.services.events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id))
        await w.wait_delivered(report_id)
        assert w.sanctions.report_count == 1
        told = await w.told(confirm)  # approved within the 15 minutes: told in place
        assert "Game backend:** delivered" in told.text


async def test_a_draft_shown_before_a_restart_can_be_confirmed_after_it(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    port, key = free_port(), generate_key()
    async with BungieStandin() as bungie, SanctionsStandin() as rh:
        settings = world_settings(tmp_path, discord_standin, bungie, rh, port, key)
        accounts = (bungie.add_account("Alice", 1111), bungie.add_account("Bob", 42))
        players = (rh.add_player("AliceInGame"), rh.add_player("BobInGame"))
        async with run_warden(settings, discord_standin) as bot:
            w = ReportWorld(discord_standin, bungie, rh, bot, settings,
                            TokenBox(settings.token_keys()), *accounts, *players)
            await w.set_guild(review_mode=ReviewMode.AUTO)
            await w.link_everyone()
            reply = await w.report(w.alice, player=str(w.bob_game.uuid))
        async with run_warden(settings, discord_standin) as bot:
            w = ReportWorld(discord_standin, bungie, rh, bot, settings, w.box,
                            *accounts, *players)
            confirm = await w.confirm(w.alice, reply)
            await w.wait_delivered(w.report_id(reply))
            outcome = await w.told(confirm)
            assert "Game backend:** delivered" in outcome.text
        assert rh.report_count == 1


async def test_notifications_off_means_no_outcome_dm(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        reply = await (await w.discord.slash(w.alice, "notifications",
                                             options={"dms": "off"})).wait_final()
        assert "I won't DM you about report outcomes" in reply.text
        assert not await w.store.prefs.notify_dm(w.alice.user.id)
        w.sanctions.inject("unavailable", count=1000, path=REPORTS_ROUTE, method="POST")
        report_id = await w.file(w.alice, str(w.bob_game.uuid))
        [row] = await w.wait_delivered(report_id)
        assert row.status == "failed"
        await w.discord.wait_idle()
        assert w.discord.dms_to(w.alice) == []


async def test_the_operators_reason_map_decides_what_bungie_receives(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin,
                            bungie_reason_map="cheating=Cheating/Other") as w:
        await w.link_everyone()
        activity = w.activity()
        report_id = await w.file(w.alice, "Bob#0042", activity)
        await w.wait_delivered(report_id)
        [filed] = w.bungie.reports
        other = snapshot_table({Reason.CHEATING: ReasonTarget("Cheating", "Other")})
        assert filed.body["reasonCategoryHashes"] == [other[Reason.CHEATING].category_hash]
        assert filed.body["reasonHashes"] == [OTHER_REASON_HASH]


async def test_a_new_reports_review_post_waits_for_its_deliveries_and_is_posted_once(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, review_post_settle_seconds=1.0) as w:
        reviews = w.discord.guild.channel("reports")
        await w.set_guild(review_channel_id=reviews.id)
        await w.link_everyone()
        reply = await w.report(w.alice, player="Bob#0042", activity=str(w.activity()))
        confirm = await w.confirm(w.alice, reply)
        await w.told(confirm)
        assert w.discord.channel_messages("reports") == []  # still settling

        def posted() -> RecordedMessage | None:
            found = w.discord.channel_messages("reports")
            return found[0] if found else None

        post = await w.discord.wait_until(posted, description="the review post")
        assert "**Bungie.net**: sent" in post.text
        assert "**Game backend**: sent (id `" in post.text
        await w.discord.wait_idle(quiet=0.3)
        channel_calls = [r for r in w.discord.requests
                         if r.path.startswith(f"/channels/{reviews.id}/messages")]
        assert [r.method for r in channel_calls] == ["POST"]  # no edit followed


async def test_an_outcome_shown_in_place_just_before_a_crash_is_not_dmed_again(
    tmp_path: Path, discord_standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services.reporting.service import ReportService
    from cogs.report import views

    async def crashed(self: ReportService, report_id: int) -> None:
        """Warden dies after the edit, before recording that the reporter was told."""

    monkeypatch.setattr(ReportService, "told_in_place", crashed)
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        # Shown in place, then the crash: the next start reads the reply back.
        reply = await w.report(w.alice, reason="cheating", player="Bob#0042",
                               activity=str(w.activity()))
        shown = await w.told(await w.confirm(w.alice, reply))
        assert "Game backend:** delivered" in shown.text
        [waiting] = await w.store.notices.untold()
        assert waiting.live_token is not None
        # As the next run of this process sees it: it takes over the live replies the
        # dead run held, and reads this one back before any DM.
        messenger = w.service.messenger
        messenger.started_at = float("inf")
        messenger.me = ProcessRun(messenger.me.host, "next-run")
        assert await messenger.tell_untold() == 0
        assert await w.store.notices.untold() == []
        assert not w.discord.dms_to(w.alice)

        # Dead before the edit reached Discord: the reply still says "sending…", so the
        # next start tells her by DM, once.
        async def no_edit(*_: object) -> None:
            return None

        monkeypatch.setattr(views, "edit_with", no_edit)
        reply = await w.report(w.alice, reason="cheating", player="Bob#0042",
                               activity=str(w.activity()))
        await w.confirm(w.alice, reply)
        report_id = w.report_id(reply)
        await w.wait_delivered(report_id)
        for _ in range(250):
            untold = await w.store.notices.untold()
            if untold and untold[0].live_token is not None:
                break
            await asyncio.sleep(0.02)
        assert await w.service.messenger.tell_untold() == 1
        assert await w.service.messenger.tell_untold() == 0
        [dm] = w.discord.dms_to(w.alice)
        assert "Report #2: delivery" in dm.text


async def test_a_start_leaves_an_outcome_to_the_live_reply_another_process_holds(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """With several processes, one starting must not DM an outcome that another running
    process is about to edit into the member's open reply (she would read it twice); it
    looks again once that reply has run out, and tells her if nobody has."""
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        await w.outbox.stop()
        report_id = await w.file(w.alice, "Bob#0042", activity=w.activity())
        await w.store.db.execute(  # the member's reply is open on another host's process
            "UPDATE reports SET live_owner = ?, live_until = ? WHERE id = ?",
            ("elsewhere.example/0:5f2c", time.time() + 60, report_id))
        await w.outbox.start()
        await w.wait_delivered(report_id)

        messenger = w.service.messenger
        messenger.started_at = float("inf")  # as a process starting now sees it
        later: list[tuple[int, float]] = []
        assert await messenger.tell_untold(lambda r, s: later.append((r, s))) == 0
        assert [r for r, _ in later] == [report_id] and 50 < later[0][1] <= 60
        await asyncio.sleep(0.3)
        assert not w.discord.dms_to(w.alice)

        # That process died with the reply open: once it has run out, she is told.
        await w.store.db.execute("UPDATE reports SET live_until = ? WHERE id = ?",
                                 (time.time() - 1, report_id))
        assert await messenger.tell_untold(lambda r, s: later.append((r, s))) == 1
        [dm] = w.discord.dms_to(w.alice)
        assert "delivery" in dm.text
