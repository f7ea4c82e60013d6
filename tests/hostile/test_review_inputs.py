"""Hostile input on the moderators' side: the review post's buttons and their Dismiss and
Ask modals, ``/reply``, ``/reports list|show|export|stats`` and ``/warden
setup|limits|settings``. Reports wait for approval here, so every button is live."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict

import pytest

from bot.domain import ReviewMode
from tests.hostile import corpus
from tests.hostile.rig import Hostile, clear
from tests.report_rig import NO_LIMITS
from tests.standins.discord import Member, Overwrite, RecordedMessage
from tests.standins.discord import permissions as P
from tests.standins.sanctions import REPORTS_ROUTE

pytestmark = pytest.mark.asyncio(loop_scope="module")
MODE = ReviewMode.APPROVE

REASON_MAX, QUESTION_MAX, REPLY_MAX, OPTION_MAX = 1000, 1000, 1500, 6000
TEXT_NAMES = list(corpus.texts(10, mention_ids=(1, 2, 3)))


def text(h: Hostile, name: str, limit: int) -> str:
    ids = (h.world.carol.user.id, h.guild.moderator_role.id, h.guild.general_channel.id)
    return corpus.texts(limit, mention_ids=ids)[name]


async def refusal_to(h: Hostile, who: Member, post: RecordedMessage, action: str,
                     report_id: int) -> RecordedMessage:
    handle = await h.discord.click(who, post, f"warden:review:{action}:{report_id}")
    return await handle.wait_final(lambda m: m.ephemeral)


async def press_until(h: Hostile, post: RecordedMessage, custom_id: str,
                      shows: str) -> RecordedMessage:
    """A moderator presses ``custom_id``; the post once its buttons include ``shows``."""
    handle = await h.discord.click(h.mod, post, custom_id)
    await handle.response()

    def check() -> RecordedMessage | None:
        latest = h.discord.message(post.id)
        return latest if shows in latest.custom_ids else None

    found: RecordedMessage = await h.discord.wait_until(check, description=shows)
    return found


# ---- the review post's modals -------------------------------------------------------------

@pytest.mark.parametrize("name", TEXT_NAMES)
async def test_dismiss_with_a_hostile_reason_and_message(hostile: Hostile, name: str) -> None:
    h = hostile
    report_id = await h.accepted_report()
    post = await h.review_post(report_id)
    value = text(h, name, REASON_MAX)
    async with h.case():
        # Each report here is a case of its own, numbered like the report.
        handle = await h.discord.click(h.mod, post, f"warden:review:dismiss:{report_id}")
        submitted = await handle.submit_modal({"reason": value, "to_reporter": value})
        answer = await submitted.wait_final(lambda m: m.ephemeral)
        assert clear(answer), answer.text
    report = await h.world.store.reports.get(report_id)
    assert report is not None and report.case_id is not None
    case = await h.world.store.cases.get(report.case_id)
    assert case is not None
    if value.strip():
        assert "dismissed" in answer.text
        assert case.status == "dismissed" and case.note == value.strip()
        told = h.discord.dms_to(h.world.alice)[-1]
        assert f"Report #{report.number}: no action" in told.text
    else:
        assert case.status == "open" and "Please give a reason" in answer.text


@pytest.mark.parametrize("name", TEXT_NAMES)
async def test_ask_and_reply_with_hostile_text(hostile: Hostile, name: str) -> None:
    h = hostile
    report_id = await h.accepted_report()
    post = await h.review_post(report_id)
    report = await h.world.store.reports.get(report_id)
    assert report is not None
    question, answer = text(h, name, QUESTION_MAX), text(h, name, REPLY_MAX)
    async with h.case():
        handle = await h.discord.click(h.mod, post, f"warden:review:ask:{report_id}")
        submitted = await handle.submit_modal({"question": question})
        asked = await submitted.wait_final(lambda m: m.ephemeral)
        assert clear(asked), asked.text
    async with h.case() as case:
        handle = await h.discord.slash(h.world.alice, "reply",
                                       {"number": report.number, "answer": answer})
        reply = await handle.wait_final()
        assert clear(reply), reply.text
    notes = await h.world.store.reports.notes(report_id)
    if question.strip():
        assert [n.kind for n in notes] == ["info_request", "reply"][: len(notes)]
        assert notes[0].body == question.strip()
        if answer.strip():
            assert notes[1].body == answer.strip() and "Thanks" in reply.text
    else:
        assert not notes
    assert case.replies


@pytest.mark.parametrize("action", ["claim", "unclaim", "approve", "dismiss", "ask"])
async def test_buttons_refuse_members_who_are_not_moderators(
    hostile: Hostile, action: str
) -> None:
    h = hostile
    report_id = await h.accepted_report()
    post = await h.review_post(report_id)
    if action == "unclaim":
        post = await press_until(h, post, f"warden:review:claim:{report_id}",
                                 f"warden:review:unclaim:{report_id}")
    async with h.case():
        refusal = await refusal_to(h, h.world.carol, post, action, report_id)
        assert clear(refusal) and "Only this server's moderators" in refusal.text


async def test_every_button_for_a_moderator(hostile: Hostile) -> None:
    """Claim, unclaim, approve (which releases the held deliveries), then retry a failed
    delivery: the game backend does not know the player the report names."""
    h = hostile
    w = h.world
    first = await h.accepted_report()
    post = await h.review_post(first)
    async with h.case():
        post = await press_until(h, post, f"warden:review:claim:{first}",
                                 f"warden:review:unclaim:{first}")
        post = await press_until(h, post, f"warden:review:unclaim:{first}",
                                 f"warden:review:claim:{first}")
        handle = await h.discord.click(h.mod, post, f"warden:review:approve:{first}")
        await handle.response()
        rows = await w.wait_delivered(first)
        assert {r.status for r in rows} == {"sent"}
    # A report the game backend refuses when it is sent (the player it names is gone by
    # then): its delivery fails, and Retry puts it back in the queue (where it fails
    # again, for the same reason). An unknown uuid is refused at report time instead.
    ghost = w.sanctions.add_player("Ghost")
    w.sanctions.inject("respond", count=2, method="POST", path=REPORTS_ROUTE, status=404,
                       body={"auth_success": True, "error_code": "player_not_found",
                             "desc": f"Player {ghost.uuid} not found"})
    reply = await w.report(w.alice, player=str(ghost.uuid), activity=str(h.activity()))
    handle = await h.discord.click(w.alice, reply, w.confirm_id(reply))
    await handle.wait_final(lambda m: "is confirmed and saved" in m.text)
    report_id = w.report_id(reply)
    post = await h.review_post(report_id)
    retry = f"warden:review:retry:{report_id}:sanctions"
    post = await press_until(h, post, f"warden:review:approve:{report_id}", retry)
    async with h.case():
        handle = await h.discord.click(h.mod, post, retry)
        answer = await handle.wait_final(lambda m: m.ephemeral)
        assert clear(answer) and "Retrying" in answer.text
        await w.wait_delivered(report_id)


# ---- /reply -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [*corpus.INTS, "other-server", "no-question", "not-yours"])
async def test_reply_to_numbers_that_are_not_a_question(hostile: Hostile, name: str) -> None:
    h = hostile
    w = h.world
    if name in corpus.INTS:
        number = corpus.INTS[name] + 10_000  # past any report this module makes
    elif name == "other-server":
        number = 3  # the other server has #3; ask there so a reply would be valid there
        other_id = (await w.store.reports.by_number(h.other.id, 3))
        assert other_id is not None
        await w.store.reports.add_note(other_id.id, author_id=h.mod.user.id,
                                       kind="info_request", body="Which round?")
        number = other_id.number + 100_000
    else:
        report_id = await h.accepted_report()
        report = await w.store.reports.get(report_id)
        assert report is not None
        number = report.number
    member = w.carol if name == "not-yours" else w.alice
    async with h.case():
        handle = await h.discord.slash(member, "reply", {"number": number, "answer": "hi"})
        reply = await handle.wait_final()
        assert clear(reply) and "Thanks" not in reply.text, reply.text


# ---- /reports list|show|export|stats ------------------------------------------------------

@pytest.mark.parametrize("name", TEXT_NAMES + list(corpus.BUNGIE_NAMES) + list(corpus.UUIDS))
async def test_reports_list_player_filter(hostile: Hostile, name: str) -> None:
    h = hostile
    value = (corpus.BUNGIE_NAMES.get(name) or corpus.UUIDS.get(name)
             or text(h, name, OPTION_MAX))
    async with h.case():
        handle = await h.discord.slash(h.mod, "reports", {"player": value}, subcommand="list")
        reply = await handle.wait_final()
        assert clear(reply), reply.text


async def test_reports_list_by_a_reporter_of_another_server(hostile: Hostile) -> None:
    h = hostile
    outsider = h.other.reporter  # alice of the other server: a different user
    async with h.case():
        handle = await h.discord.slash(h.mod, "reports", {"reporter": outsider.user},
                                       subcommand="list")
        reply = await handle.wait_final()
        assert clear(reply) and "No reports match." in reply.text


async def test_reports_list_pages(hostile: Hostile) -> None:
    """Next and Previous on the list, with a filter made of hostile text that matches all."""
    h = hostile
    for _ in range(11):
        await h.accepted_report(description=text(h, "all-mentions", 200))
    async with h.case():
        handle = await h.discord.slash(h.mod, "reports", {"status": "open"}, subcommand="list")
        first = await handle.wait_final()
        assert clear(first) and "Page 1 of" in first.text
        turned = await (await h.discord.click(h.mod, first, first.custom_ids[1])).wait_final()
        assert "Page 2 of" in turned.text
        back = await (await h.discord.click(h.mod, turned, turned.custom_ids[0])).wait_final()
        assert "Page 1 of" in back.text


@pytest.mark.parametrize("command", ["list", "export", "stats"])
@pytest.mark.parametrize("option", ["since", "until"])
@pytest.mark.parametrize("name", [*corpus.DATES, "sql-text", "mentions"])
async def test_report_dates(hostile: Hostile, command: str, option: str, name: str) -> None:
    h = hostile
    value = corpus.DATES.get(name) or text(h, "sql" if name == "sql-text" else "all-mentions",
                                           OPTION_MAX)
    async with h.case():
        handle = await h.discord.slash(h.mod, "reports", {option: value}, subcommand=command)
        reply = await handle.wait_final()
        assert clear(reply), reply.text


@pytest.mark.parametrize("name", [*corpus.INTS, "other-server-only"])
async def test_reports_show_numbers(hostile: Hostile, name: str) -> None:
    h = hostile
    other_only = await h.accepted_report(guild_id=h.other.id)
    other = await h.world.store.reports.get(other_only)
    assert other is not None
    number = corpus.INTS[name] + 10_000 if name in corpus.INTS else other.number + 50_000
    async with h.case():
        handle = await h.discord.slash(h.mod, "reports", {"number": number}, subcommand="show")
        reply = await handle.wait_final()
        assert clear(reply), reply.text
        assert f"Warden report id {other_only}" not in reply.text


async def test_reports_show_never_shows_another_servers_report(hostile: Hostile) -> None:
    h = hostile
    mine = await h.world.store.reports.by_number(h.guild.id, 1)
    theirs = await h.world.store.reports.by_number(h.other.id, 1)
    assert mine is not None and theirs is not None
    async with h.case():
        handle = await h.discord.slash(h.mod, "reports", {"number": 1}, subcommand="show")
        reply = await handle.wait_final()
        assert f"Warden report id {mine.id}" in reply.text
        assert f"Warden report id {theirs.id}" not in reply.text


async def test_export_keeps_hostile_text_inert(hostile: Hostile) -> None:
    """Descriptions that look like spreadsheet formulas or mentions stay text in the CSV."""
    h = hostile
    for name in ("formula", "everyone", "sql", "control-chars"):
        await h.accepted_report(description=text(h, name, 4000))
    async with h.case() as case:
        handle = await h.discord.slash(h.mod, "reports", {}, subcommand="export")
        reply = await handle.wait_final()
        assert clear(reply), reply.text
    [export] = [m for m in case.replies if m.attachments]
    [reports_csv] = [a for a in export.attachments if a.filename.endswith("-reports.csv")]
    rows = list(csv.DictReader(io.StringIO(reports_csv.data.decode("utf-8"))))
    descriptions = [r["description"] for r in rows if r["description"]]
    assert descriptions
    assert not [d for d in descriptions if d[:1] in ("=", "+", "-", "@")], descriptions


# ---- /warden (last: they change the server's configuration) -------------------------------

@pytest.mark.parametrize("name", ["everyone-role", "bot-role", "public-channel",
                                  "forbidden-channel", "hidden-channel",
                                  "member-role-channel"])
async def test_warden_setup_with_odd_choices(hostile: Hostile, name: str) -> None:
    h = hostile
    g = h.guild
    assert g.bot_role_id is not None
    choices: dict[str, dict[str, object]] = {
        "everyone-role": {"moderator_role": g.roles[g.id]},
        "bot-role": {"moderator_role": g.roles[g.bot_role_id]},
        "public-channel": {"channel": g.general_channel},
        "forbidden-channel": {"channel": g.channel("mod-log")},
        "hidden-channel": {"channel": g.channel("staff-only")},
    }
    if name == "member-role-channel":
        # @everyone denied, a "Verified" role every member gets allowed: not private.
        verified = h.discord.add_role("Verified")
        channel = h.discord.add_channel("verified-queue", overwrites=[
            Overwrite(g.id, 0, deny=P.VIEW_CHANNEL),
            Overwrite(verified.id, 0, allow=P.VIEW_CHANNEL),
            Overwrite(g.moderator_role.id, 0, allow=P.VIEW_CHANNEL),
            Overwrite(g.bot_role.id, 0, allow=P.VIEW_CHANNEL),
        ])
        guild = h.world.bot.get_guild(g.id)
        assert guild is not None
        await h.discord.wait_until(lambda: guild.get_channel(channel.id) is not None
                                   and guild.get_role(verified.id) is not None)
        choices[name] = {"channel": channel}
    expected = {
        "everyone-role": "@everyone can't be the moderator role",
        "bot-role": "managed by an integration",
        "member-role-channel": "@Verified can read #verified-queue without being moderators",
    }
    options = choices[name]
    if name == "forbidden-channel":
        h.discord.forbid_channel(g.channel("mod-log"))
    try:
        async with h.case():
            handle = await h.discord.slash(g.owner, "warden", options, subcommand="setup")
            reply = await handle.wait_final()
            assert clear(reply), reply.text
            assert expected.get(name, "") in reply.text
            settings = await h.discord.slash(g.owner, "warden", {}, subcommand="settings")
            assert clear(await settings.wait_final())
    finally:
        h.discord.allow_channel(g.channel("mod-log"))
        await h.world.store.guilds.update(
            g.id, actor_id=None, review_channel_id=g.review_channel.id,
            moderator_role_id=g.moderator_role_id)


LIMITS = {
    "all-off": {"short_count": 0, "hour_count": 0, "day_count": 0, "target_cooldown_hours": 0},
    "all-max": {"short_count": 100, "short_seconds": 86400, "hour_count": 1000,
                "day_count": 10000, "target_cooldown_hours": 720},
    "shortest-window": {"short_count": 1, "short_seconds": 1},
    "none-given": {},
}


@pytest.mark.parametrize("name", list(LIMITS))
async def test_warden_limits_at_their_bounds(hostile: Hostile, name: str) -> None:
    h = hostile
    try:
        async with h.case():
            handle = await h.discord.slash(h.guild.owner, "warden", LIMITS[name],
                                           subcommand="limits")
            reply = await handle.wait_final()
            assert clear(reply), reply.text
    finally:
        await h.world.store.guilds.update(h.guild.id, actor_id=None, **asdict(NO_LIMITS))


async def test_warden_commands_are_refused_to_members(hostile: Hostile) -> None:
    """A member without Manage Server cannot even see /warden; the check in Warden holds
    for one who is shown it anyway (permissions changed since the command list loaded)."""
    from tests.standins.discord import CommandUnavailable

    h = hostile
    async with h.case():
        with pytest.raises(CommandUnavailable):
            await h.discord.slash(h.world.carol, "warden", {}, subcommand="settings")
    # An admin showed /warden to carol under Integrations: Warden still refuses her.
    h.discord.allow_command("warden", h.world.carol.user.id)
    try:
        for sub in ("settings", "limits", "setup"):
            async with h.case():
                handle = await h.discord.slash(h.world.carol, "warden", {}, subcommand=sub)
                reply = await handle.wait_final()
                assert clear(reply)
                assert "Only members with the Manage Server permission" in reply.text
    finally:
        h.discord.state.command_allowed.clear()
