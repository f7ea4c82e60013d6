"""The review post as moderators live it, through the Discord stand-in: a report arrives
in the review channel, every button pressed by a moderator and by a member, two
moderators racing, approval releasing held deliveries, dismissal and questions
reaching the reporter by DM without the moderator's name, buttons after a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.domain import Case, CaseOutcome, Evidence, Report
from bot.errors import UserFacingError
from bot.services.events import Event, EventKind
from bot.services.review.ports import Actor
from bot.store.deliveries import RESEND_CONFIRMED
from tests.review_rig import ReviewWorld, review_world
from tests.standins.discord import DiscordStandIn, Member, RecordedMessage, Upload
from tests.support import clean_env

pytestmark = pytest.mark.usefixtures("isolated_env")


def everything(message: RecordedMessage) -> str:
    """All the text a reader could see, embeds and components included."""
    return json.dumps([message.content, message.embeds, message.components])


async def staff_setup(w: ReviewWorld, **options: object) -> None:
    await w.setup(channel=w.discord.guild.channel("staff-only"), **options)


async def post_of(w: ReviewWorld, report: Report) -> RecordedMessage:
    def check() -> RecordedMessage | None:
        for channel in ("staff-only", "reports"):
            for message in w.discord.channel_messages(channel):
                if f"Warden report id {report.id}" in message.text:
                    return message
        return None

    found: RecordedMessage = await w.discord.wait_until(check, description="the review post")
    return found


async def post_when(w: ReviewWorld, report: Report, text: str) -> RecordedMessage:
    """The review post once it says ``text`` (posts are edited after the click is acked)."""
    first = await post_of(w, report)

    def check() -> RecordedMessage | None:
        latest = w.discord.message(first.id)
        return latest if text in latest.text else None

    found: RecordedMessage = await w.discord.wait_until(
        check, description=f"the review post to say {text!r}"
    )
    return found


async def refusal(w: ReviewWorld, member: Member, message: RecordedMessage, action: str,
                  report: Report) -> str:
    handle = await w.click(member, message, action, report)
    reply = await handle.wait_final(lambda m: m.ephemeral)
    return reply.text


async def test_a_report_arrives_with_everything_staff_need(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        report = await w.accept_report()
        post = await post_of(w, report)
        text = post.text
        assert "Report #1 · Cheating" in text
        assert "Aimbot all match" in text
        # The target on every side, linked to the Bungie profile.
        assert f"<@{w.bob.id}>" in text and "Bob#1234" in text and "bobthebad" in text
        assert "https://www.bungie.net/7/en/User/Profile/3/4611686018467284386" in text
        assert "2305843009300000001" in text and "9f1c2d3e-0000-4000-8000-00000000b0b0" in text
        # The reporter, in a channel only staff can read.
        assert f"<@{w.alice.id}>" in text and "4611686018400000001" in text
        # The activity with its PGCR link.
        assert "Trials of Osiris" in text and "https://www.bungie.net/en/PGCR/12345678901" in text
        assert "Bungie.net**: waiting for a moderator's approval" in text
        assert "Report received" in text
        case = report.case_id
        assert post.custom_ids == [
            f"warden:review:claim:{case}", f"warden:review:approve:{case}",
            f"warden:review:resolve:{case}", f"warden:review:dismiss:{case}",
            f"warden:review:ask:{case}",
            # Bob is a member here: the post also offers to act on him.
            f"warden:member:warn:{case}", f"warden:member:timeout:{case}",
            f"warden:member:kick:{case}", f"warden:member:ban:{case}",
        ]
        assert post.pings.nobody
        stored = await w.report(report.id)
        assert stored.review_message_id == post.id


async def test_a_public_review_channel_never_shows_the_reporter(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        setup = await w.setup()  # #reports: every member can read it
        assert "everyone in the server can read #reports" in setup.text
        report = await w.accept_report()
        post = await post_of(w, report)
        assert str(w.alice.id) not in everything(post)
        assert "4611686018400000001" not in everything(post)
        assert "hidden" in post.text
        # Still hidden after the reporter answers a question (their own history line).
        await w.lifecycle.ask_reporter(w.guild_id, report.id, await _mod_actor(w), question="When?")
        await w.discord.slash(w.alice, "reply", {"number": 1, "answer": "Round 3"})
        post = await post_when(w, report, "Round 3")
        assert str(w.alice.id) not in everything(post)


async def _mod_actor(w: ReviewWorld) -> Actor:
    return Actor(w.mod.id, frozenset({w.discord.guild.moderator_role.id}))


async def test_evidence_is_reuploaded_and_survives_the_original(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        clip = b"\x89PNG fake screenshot bytes" * 100
        original = await w.discord.post_user_message(
            "general", w.alice, "look", attachments=[Upload("aimbot.png", clip, "image/png")]
        )
        [att] = original.attachments
        huge = Evidence(kind="attachment", url=att.url, filename="huge.mp4",
                        size=50 * 1024 * 1024)
        report = await w.accept_report(evidence=(
            Evidence(kind="attachment", url=att.url, filename="aimbot.png",
                     content_type="image/png", size=len(clip)),
            huge,
            Evidence(kind="message", url="https://discord.com/channels/1/2/3", author_id=w.bob.id,
                     text="get rekt, enjoy the wallhack"),
        ))
        post = await post_of(w, report)
        [copy] = post.attachments
        assert copy.filename == "aimbot.png" and copy.data == clip
        assert copy.id != att.id  # a new upload, not a link to the original
        assert "aimbot.png" in post.text and "copy attached to this post" in post.text
        assert "not copied: too large (50.0 MB)" in post.text
        assert "get rekt, enjoy the wallhack" in post.text
        # The original is deleted: the copy stays, and later edits keep it.
        await w.discord.messaging.delete(original)
        await w.lifecycle.claim(w.guild_id, report.id, await _mod_actor(w))
        post = await post_when(w, report, "Claimed")
        assert [a.data for a in post.attachments] == [clip]
        assert "copy attached to this post" in post.text


async def test_evidence_is_downloaded_only_from_discords_attachment_hosts(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """A stored evidence URL that is not Discord's (an internal address, say) is never
    fetched: the post says why there is no copy."""
    connections: list[str] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append("connected")
        writer.close()

    internal = await asyncio.start_server(record, "127.0.0.1", 0)
    port = internal.sockets[0].getsockname()[1]
    try:
        async with review_world(tmp_path, discord_standin) as w:
            await staff_setup(w)
            report = await w.accept_report(evidence=(
                Evidence(kind="attachment", url=f"http://127.0.0.1:{port}/latest/meta-data",
                         filename="meta.png", content_type="image/png", size=100),
            ))
            post = await post_of(w, report)
            assert post.attachments == []
            assert "not copied: not a Discord attachment link" in post.text
    finally:
        internal.close()
        await internal.wait_closed()
    assert connections == []


async def test_claim_and_unclaim_by_moderators_and_refusals_for_others(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        mod2 = w.discord.add_member("mod2", roles=[w.discord.guild.moderator_role.id])
        report = await w.accept_report()
        post = await post_of(w, report)

        # A plain member can press nothing.
        for action in ("claim", "approve"):
            text = await refusal(w, w.carol, post, action, report)
            assert "Only this server's moderators" in text
        assert (await w.case(report)).status == "open"

        await (await w.click(w.mod, post, "claim", report)).response()
        post = await post_when(w, report, f"Claimed by <@{w.mod.id}>")
        assert post.custom_ids[0] == f"warden:review:unclaim:{report.case_id}"
        assert (await w.case(report)).claimed_by == w.mod.id

        # Another moderator may not release or decide someone else's claim...
        text = await refusal(w, mod2, post, "unclaim", report)
        assert f"claimed by <@{w.mod.id}>" in text
        text = await refusal(w, mod2, post, "approve", report)
        assert f"claimed by <@{w.mod.id}>" in text
        assert (await w.case(report)).status == "claimed"

        # ...but the claimer can, and the owner (Manage Server) could.
        await (await w.click(w.mod, post, "unclaim", report)).response()
        post = await post_when(w, report, "Released the claim")
        assert (await w.case(report)).status == "open"
        assert post.custom_ids[0] == f"warden:review:claim:{report.case_id}"
        actions = [e.action for e in await w.store.audit.for_report(report.id)]
        assert actions.count("case.claimed") == 1 and actions.count("case.unclaimed") == 1


async def test_two_moderators_racing_only_one_wins(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        mod2 = w.discord.add_member("mod2", roles=[w.discord.guild.moderator_role.id])
        report = await w.accept_report()
        post = await post_of(w, report)
        first, second = await asyncio.gather(
            w.click(w.mod, post, "claim", report), w.click(mod2, post, "claim", report)
        )
        await post_when(w, report, "Claimed by")
        stored = await w.case(report)
        assert stored.claimed_by in (w.mod.id, mod2.id)
        winner, loser = (first, second) if stored.claimed_by == w.mod.id else (second, first)
        lost = await loser.wait_final(lambda m: m.ephemeral)
        assert f"claimed by <@{stored.claimed_by}>" in lost.text
        assert not [m for m in winner.followups if m.ephemeral]
        claims = [e for e in await w.store.audit.for_report(report.id)
                  if e.action == "case.claimed"]
        assert len(claims) == 1

        # Resolve and dismiss at once: exactly one decision stands.
        await (await w.click(winner_member(w, stored, mod2), post, "unclaim", report)).response()
        await post_when(w, report, "Released the claim")
        case_id = stored.id
        results = await asyncio.gather(
            w.lifecycle.resolve(w.guild_id, case_id, await _mod_actor(w), CaseOutcome(None)),
            w.lifecycle.dismiss(w.guild_id, case_id, await _mod_actor(w), reason="dup"),
            return_exceptions=True,
        )
        assert sum(1 for r in results if isinstance(r, Exception)) == 1
        decided = await w.case(report)
        assert decided.status in ("resolved", "dismissed")


def winner_member(w: ReviewWorld, report: Case, other: Member) -> Member:
    return w.mod if report.claimed_by == w.mod.id else other


async def test_approve_releases_held_deliveries_and_tells_the_reporter(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        report = await w.accept_report()
        post = await post_of(w, report)
        handle = await w.click(w.mod, post, "approve", report)
        reply = await handle.wait_final(lambda m: m.ephemeral)
        assert "Approved: forwarding 1 report(s) to Bungie.net and Game backend" in reply.text

        deliveries = await w.store.deliveries.for_report(report.id)
        assert [(d.destination, d.status) for d in deliveries] == [
            ("bungie", "pending"), ("sanctions", "pending")
        ]
        kinds = w.published_kinds(report.id)
        assert EventKind.DELIVERIES_QUEUED in kinds
        assert kinds.index(EventKind.DELIVERIES_QUEUED) < len(kinds) - 1  # then REPORT_CHANGED
        # Approval forwards; the case stays open for what moderators do about the player.
        assert (await w.case(report)).status == "open"

        post = await post_when(w, report, "Approved and forwarded")
        assert "Bungie.net**: queued" in post.text
        assert "approve" not in " ".join(post.custom_ids)
        assert f"warden:review:resolve:{report.case_id}" in post.custom_ids
        # The member can still be acted on.
        assert f"warden:member:warn:{report.case_id}" in post.custom_ids

        dm = await w.discord.wait_for_dm(w.alice)
        assert "approved your report #1" in dm.text
        assert str(w.mod.id) not in everything(dm) and "mod" not in dm.text.lower().split()

        # A second approval (say, from an older /reports show copy) changes nothing.
        with pytest.raises(UserFacingError, match="nothing waiting for approval"):
            await w.lifecycle.approve(w.guild_id, report.case_id or 0, await _mod_actor(w))
        assert [e.action for e in await w.store.audit.for_report(report.id)].count(
            "report.forwarded") == 1


async def test_dismiss_needs_a_reason_and_tells_the_reporter_without_names(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        report = await w.accept_report()
        post = await post_of(w, report)

        # A member gets a refusal, not the modal.
        member_click = await w.click(w.carol, post, "dismiss", report)
        assert (await member_click.response()).ephemeral
        assert w.discord.state.interactions[member_click.id].modal is None

        opened = await w.click(w.mod, post, "dismiss", report)
        modal = await opened.modal()
        assert modal.custom_ids == ["reason", "to_reporter", "block_days"]
        blank = await opened.submit_modal({"reason": "   "})
        assert "Please give a reason" in (await blank.wait_final(lambda m: m.ephemeral)).text
        assert (await w.case(report)).status == "open"

        opened = await w.click(w.mod, post, "dismiss", report)
        done = await opened.submit_modal({
            "reason": "Same match as report #0; clip shows a lag spike",
            "to_reporter": "We looked at the clip: it was lag, not cheating.",
        })
        assert "dismissed. The reporter was told by DM." in (
            await done.wait_final(lambda m: m.ephemeral)
        ).text
        stored = await w.case(report)
        assert stored.status == "dismissed"
        assert stored.note == "Same match as report #0; clip shows a lag spike"
        deliveries = await w.store.deliveries.for_report(report.id)
        assert {d.status for d in deliveries} == {"skipped"}  # nothing will ever be sent

        post = await post_when(w, report, "Dismissed by")
        assert "lag spike" in post.text and post.custom_ids == []

        dm = await w.discord.wait_for_dm(w.alice)
        assert "closed it: no action was taken" in dm.text
        assert "it was lag, not cheating" in dm.text
        assert "lag spike" not in dm.text  # the staff reason stays with the staff
        assert str(w.mod.id) not in everything(dm) and "mod" not in dm.text.lower().split()
        audit = [e for e in await w.store.audit.for_report(report.id)
                 if e.action == "case.dismissed"]
        assert audit[0].actor_id == w.mod.id and "lag spike" in audit[0].details["reason"]


async def test_ask_for_more_info_and_the_reporters_reply(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        report = await w.accept_report()
        post = await post_of(w, report)

        opened = await w.click(w.mod, post, "ask", report)
        done = await opened.submit_modal({"question": "Which round did it happen in?"})
        assert "got your question by DM" in (await done.wait_final(lambda m: m.ephemeral)).text
        dm = await w.discord.wait_for_dm(w.alice)
        assert "Which round did it happen in?" in dm.text and "/reply number:1" in dm.text
        assert str(w.mod.id) not in everything(dm)
        await post_when(w, report, "Which round did it happen in?")

        # Someone else cannot answer for the reporter.
        bob = await (await w.discord.slash(w.bob, "reply", {"number": 1, "answer": "lies"}))\
            .wait_final()
        assert "You have no report #1" in bob.text
        answer = await (await w.discord.slash(
            w.alice, "reply", {"number": 1, "answer": "Round 3, the last one"}
        )).wait_final()
        assert answer.ephemeral and "added to report #1" in answer.text
        post = await post_when(w, report, "Round 3, the last one")
        assert "The reporter answered" in post.text

        # Closed DMs: the moderator is told, the question is still recorded.
        w.discord.close_dms(w.alice)
        opened = await w.click(w.mod, post, "ask", report)
        done = await opened.submit_modal({"question": "Do you have a clip?"})
        assert "DMs are closed" in (await done.wait_final(lambda m: m.ephemeral)).text
        notes = await w.store.reports.notes(report.id)
        assert [n.kind for n in notes] == ["info_request", "reply", "info_request"]


async def test_retry_a_failed_delivery(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w, mode="auto")
        report = await w.accept_report(deliveries=(("bungie", "pending"), ("sanctions", "pending")))
        post = await post_when(w, report, "Bungie.net**: queued")
        assert (await w.case(report)).status == "open"
        assert "approve" not in " ".join(post.custom_ids)

        # The outbox gives up on the sanctions API.
        assert await w.store.deliveries.start_attempt(report.id, "sanctions") is not None
        await w.store.deliveries.finish(report.id, "sanctions", status="failed",
                                        error="403 insufficient_permissions")
        changed = Event(EventKind.DELIVERY_CHANGED, report.id, "sanctions")
        await w.bot.services.events.publish(changed)
        post = await post_when(w, report, "insufficient_permissions")
        retry_id = f"warden:review:retry:{report.id}:sanctions"
        assert retry_id in post.custom_ids

        member = await w.click(w.carol, post, "retry", report, destination="sanctions")
        assert "Only this server's moderators" in (
            await member.wait_final(lambda m: m.ephemeral)
        ).text
        handle = await w.click(w.mod, post, "retry", report, destination="sanctions")
        assert "Retrying the Game backend delivery" in (
            await handle.wait_final(lambda m: m.ephemeral)
        ).text
        delivery = await w.store.deliveries.get(report.id, "sanctions")
        assert delivery is not None and delivery.status == "pending" and delivery.attempts == 0
        queued = [e for e in w.published if e.kind is EventKind.DELIVERIES_QUEUED
                  and e.report_id == report.id and e.destination == "sanctions"]
        assert len(queued) == 1
        post = await post_when(w, report, "Retry of the Game backend delivery requested")
        assert retry_id not in post.custom_ids


async def test_retry_of_a_delivery_that_may_have_landed_asks_to_confirm(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w, mode="auto")
        report = await w.accept_report(deliveries=(("bungie", "pending"),))
        assert await w.store.deliveries.start_attempt(report.id, "bungie") is not None
        await w.store.deliveries.finish(report.id, "bungie", status="failed",
                                        error="may have landed: Bungie.net did not answer")
        await w.bot.services.events.publish(
            Event(EventKind.DELIVERY_CHANGED, report.id, "bungie"))
        post = await post_when(w, report, "did not answer")

        first = await w.click(w.mod, post, "retry", report, destination="bungie")
        assert "Press **Retry** again" in (await first.wait_final(lambda m: m.ephemeral)).text
        delivery = await w.store.deliveries.get(report.id, "bungie")
        assert delivery is not None and delivery.status == "failed"

        second = await w.click(w.mod, post, "retry", report, destination="bungie")
        assert "Retrying the Bungie.net delivery" in (
            await second.wait_final(lambda m: m.ephemeral)
        ).text
        delivery = await w.store.deliveries.get(report.id, "bungie")
        assert delivery is not None and delivery.status == "pending"
        assert delivery.last_error == (
            RESEND_CONFIRMED + "may have landed: Bungie.net did not answer")
        [requeued] = [e for e in await w.store.audit.for_report(report.id)
                      if e.action == "delivery.requeued"]
        assert requeued.actor_id == w.mod.id
        assert requeued.details == {"destination": "bungie", "confirmed_may_have_landed": True}


async def test_buttons_still_work_after_a_restart(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        report = await w.accept_report()
        post = await post_of(w, report)
    # A new process: a new bot, the same database, the same Discord post.
    async with review_world(tmp_path, discord_standin) as w2:
        assert w2.bot is not w.bot
        handle = await w2.click(w2.mod, post, "claim", report)
        await handle.response()
        await post_when(w2, report, f"Claimed by <@{w2.mod.id}>")
        assert (await w2.case(report)).status == "claimed"
        opened = await w2.click(w2.mod, w2.discord.message(post.id), "dismiss", report)
        await opened.submit_modal({"reason": "duplicate"})
        await post_when(w2, report, "Dismissed by")


async def test_a_report_whose_post_a_stop_cut_off_is_posted_at_the_next_start(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        await caught_up(w)
        # Stored and accepted, but the process stopped before its review post was made.
        report = await w.accept_report(announce=False)
        await asyncio.sleep(0.2)
        assert w.discord.channel_messages("staff-only") == []
    async with review_world(tmp_path, discord_standin) as w2:
        post = await post_of(w2, report)
        assert post.channel_id == w2.discord.guild.channel("staff-only").id
        await caught_up(w2)  # the post is recorded after Discord took it
        assert (await w2.report(report.id)).review_message_id == post.id
    async with review_world(tmp_path, discord_standin) as w3:  # and only once
        await caught_up(w3)
        assert len(w3.discord.channel_messages("staff-only")) == 1


async def caught_up(w: ReviewWorld) -> None:
    # By name: each bot loads the cog module afresh (discord.py drops it on unload).
    event = getattr(w.bot.get_cog("WardenAdmin"), "caught_up", None)
    assert isinstance(event, asyncio.Event)
    await asyncio.wait_for(event.wait(), timeout=10)


async def test_a_deleted_review_post_is_posted_again_on_the_next_change(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await staff_setup(w)
        report = await w.accept_report()
        post = await post_of(w, report)
        await w.discord.messaging.delete(post)
        await w.lifecycle.claim(w.guild_id, report.id, await _mod_actor(w))
        again = await post_when(w, report, "Claimed by")
        assert again.id != post.id
        assert (await w.report(report.id)).review_message_id == again.id


async def test_approval_forwards_to_both_apis_end_to_end(
    tmp_path: Path, discord_standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real report flow, the real outbox, the Bungie and sanctions stand-ins."""
    from bot.domain import ReviewMode
    from tests.report_rig import report_world

    clean_env(monkeypatch, tmp_path)
    async with report_world(tmp_path, discord_standin, review_mode=ReviewMode.APPROVE) as w:
        g = w.discord.guild
        await w.set_guild(review_channel_id=g.channel("staff-only").id,
                          moderator_role_id=g.moderator_role.id)
        await w.link_everyone()
        activity = w.activity()
        reply = await w.report(w.alice, player="Bob#0042", activity=str(activity),
                               description="Aimbot all match")
        await (await w.confirm(w.alice, reply)).wait_final()
        report_id = w.report_id(reply)

        def post() -> RecordedMessage | None:
            for message in w.discord.channel_messages("staff-only"):
                if f"Warden report id {report_id}" in message.text:
                    return message
            return None

        review_post: RecordedMessage = await w.discord.wait_until(post)
        assert "waiting for a moderator's approval" in review_post.text
        assert w.bungie.report_count == 0 and w.sanctions.report_count == 0

        await (await w.discord.click(
            g.moderator, review_post, f"warden:review:approve:{report_id}")).response()
        rows = await w.wait_delivered(report_id)
        assert {(r.destination, r.status) for r in rows} == {("bungie", "sent"),
                                                             ("sanctions", "sent")}
        assert w.bungie.report_count == 1 and w.sanctions.report_count == 1

        def delivered() -> RecordedMessage | None:
            latest = w.discord.message(review_post.id)
            ok = latest.text.count("**: sent") == 2 and "Sent to Bungie.net" in latest.text
            return latest if ok else None

        final = await w.discord.wait_until(delivered, description="both sent on the post")
        assert "Approved and forwarded" in final.text and "Status: Open" in final.text
