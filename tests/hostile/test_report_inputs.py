"""Hostile input through ``/report`` (every option), the "Report player" and "Report
message" menus with their form, and the draft's Confirm and Cancel buttons."""

from __future__ import annotations

import json
import re

import pytest

from bot.domain import FINAL_DELIVERY_STATUSES
from tests.hostile import corpus
from tests.hostile.rig import Hostile, clear
from tests.report_rig import bungie_link
from tests.standins.discord import RecordedMessage, Upload

pytestmark = pytest.mark.asyncio(loop_scope="module")

PLAYER_MAX, ACTIVITY_MAX, DESCRIPTION_MAX, MESSAGE_MAX = 100, 200, 4000, 2000
TEXT_NAMES = list(corpus.texts(10, mention_ids=(1, 2, 3)))
CONFIRM = "warden:report:confirm:"


def mention_ids(h: Hostile) -> tuple[int, int, int]:
    """Ids that exist in the guild, so a mention of them would be a real ping."""
    return h.world.carol.user.id, h.guild.moderator_role.id, h.guild.general_channel.id


def text(h: Hostile, name: str, limit: int) -> str:
    return corpus.texts(limit, mention_ids=mention_ids(h))[name]


def confirm_id(message: RecordedMessage) -> str | None:
    return next((c for c in message.custom_ids if c.startswith(CONFIRM)), None)


async def confirm_and_deliver(h: Hostile, draft: RecordedMessage) -> int:
    """Confirm the draft as alice; wait until both deliveries are final; the report id."""
    custom_id = confirm_id(draft)
    assert custom_id is not None, draft.text
    handle = await h.discord.click(h.world.alice, draft, custom_id)
    answer = await handle.wait_final(lambda m: "is confirmed and saved" in m.text)
    assert answer.pings.nobody
    report_id = int(custom_id.rsplit(":", 1)[1])
    rows = await h.world.wait_delivered(report_id)
    assert all(r.status in FINAL_DELIVERY_STATUSES for r in rows)
    await h.review_post(report_id)
    return report_id


# ---- /report player: names, ids and mentions -----------------------------------------

PLAYER_SPECIAL = ["other-server-member", "bot", "self", "unknown-user", "too-long-id",
                  "role-only", "channel-only"]


def special_player(h: Hostile, name: str) -> str:
    return {
        "other-server-member": f"<@{h.other.reporter.user.id}>",
        "bot": f"<@{h.discord.bot_user.id}>",
        "self": f"<@{h.world.alice.user.id}>",
        "unknown-user": "<@1>",
        "too-long-id": "<@" + "9" * 30 + ">",
        "role-only": f"<@&{h.guild.moderator_role.id}>",
        "channel-only": f"<#{h.guild.general_channel.id}>",
    }[name]


@pytest.mark.parametrize("name", TEXT_NAMES + list(corpus.BUNGIE_NAMES) + list(corpus.UUIDS)
                         + PLAYER_SPECIAL)
async def test_report_player_option(hostile: Hostile, name: str) -> None:
    h = hostile
    if name in corpus.BUNGIE_NAMES:
        value = corpus.BUNGIE_NAMES[name]
    elif name in corpus.UUIDS:
        value = corpus.UUIDS[name]
    elif name in PLAYER_SPECIAL:
        value = special_player(h, name)
    else:
        value = text(h, name, PLAYER_MAX)
    async with h.case():
        handle = await h.discord.slash(h.world.alice, "report", {
            "reason": "cheating", "player": value, "activity": str(h.activity())})
        reply = await handle.wait_final()
        assert clear(reply), reply.text
        if name in corpus.UUIDS and confirm_id(reply) is not None:
            # Any well-formed game player id is taken as given (the sanctions API will say
            # if nobody has it), and shown as code.
            assert "**Player:** `" in reply.text
        else:
            # Nothing that names bob: no draft, a refusal saying what to give instead.
            assert confirm_id(reply) is None, reply.text


# ---- /report activity ---------------------------------------------------------------------

@pytest.mark.parametrize("name", TEXT_NAMES + list(corpus.ACTIVITY_IDS))
async def test_report_activity_option(hostile: Hostile, name: str) -> None:
    h = hostile
    value = corpus.ACTIVITY_IDS.get(name) or text(h, name, ACTIVITY_MAX)
    async with h.case():
        handle = await h.discord.slash(h.world.alice, "report", {
            "reason": "teaming", "player": h.world.bob_bungie.bungie_name, "activity": value})
        reply = await handle.wait_final()
        assert clear(reply), reply.text
        if confirm_id(reply) is not None and value.strip():
            # Accepted as a game match id: shown in a code span, never as markup.
            assert "**Match:** `" in reply.text


# ---- /report description: stored, forwarded and shown as text --------------------------

@pytest.mark.parametrize("name", TEXT_NAMES)
async def test_report_description_is_stored_and_shown_inert(hostile: Hostile, name: str) -> None:
    h = hostile
    value = text(h, name, DESCRIPTION_MAX)
    async with h.case():
        handle = await h.discord.slash(h.world.alice, "report", {
            "reason": "harassment", "player": h.world.bob_bungie.bungie_name,
            "activity": str(h.activity()), "description": value})
        draft = await handle.wait_final()
        assert clear(draft) and confirm_id(draft), draft.text
        report_id = await confirm_and_deliver(h, draft)
        report = await h.world.store.reports.get(report_id)
        assert report is not None
        assert report.description == (value.strip() or None)
        sent = h.world.sanctions.reports_with_warden_id(str(report_id))
        assert [r.get("description") for r in sent] == [report.description]
        # Moderators read it as typed: no masked link or styling takes effect.
        post = await h.review_post(report_id)
        assert not re.search(corpus.LIVE_MASKED_LINK, json.dumps(post.embeds)), post.embeds


# ---- /report player: who is behind a name stays private ---------------------------------

LINKED_ELSEWHERE = ["bungie-name-linked-elsewhere", "mention-of-linked-member",
                    "mention-of-member-elsewhere"]


@pytest.mark.parametrize("name", LINKED_ELSEWHERE)
async def test_report_never_reveals_who_linked_a_player(hostile: Hostile, name: str) -> None:
    """A member of another server linked "Dana#0700": a draft about that name must not
    mention them, a draft about a linked member must not show their Bungie or game
    names, and a typed mention of someone outside this server is refused."""
    h = hostile
    w = h.world
    dana = h.other.reporter
    code = 700 + LINKED_ELSEWHERE.index(name)  # a Bungie account of her own per case
    account = w.bungie.add_account("Dana", code)
    await w.store.links.upsert(bungie_link(w.box, w.bungie, dana.user.id, account))
    value = {"bungie-name-linked-elsewhere": f"Dana#{code:04d}",
             "mention-of-linked-member": f"<@{w.bob.user.id}>",
             "mention-of-member-elsewhere": f"<@{dana.user.id}>"}[name]
    # An activity all three played, so that a draft can be made.
    activity = w.activity(w.alice_bungie, w.bob_bungie, account, hours_ago=0.1)
    async with h.case() as case:
        handle = await h.discord.slash(w.alice, "report", {
            "reason": "cheating", "player": value, "activity": str(activity)})
        reply = await handle.wait_final()
        assert clear(reply), reply.text
    shown = " ".join(case.texts)
    assert str(dana.user.id) not in shown or name == "mention-of-member-elsewhere"
    assert "Bob#0042" not in shown and "BobInGame" not in shown
    if name == "mention-of-member-elsewhere":
        assert "not in this server" in reply.text and confirm_id(reply) is None
    else:
        assert confirm_id(reply) is not None, reply.text


async def test_one_unknown_activity_typed_fifty_times_asks_bungie_once(
    hostile: Hostile,
) -> None:
    h = hostile
    activity = corpus.UNKNOWN_ACTIVITY_REPEATED
    async with h.case():
        for _ in range(50):
            found = await h.discord.autocomplete(h.world.alice, "report", "player", "",
                                                 options={"activity": activity})
            assert found == []
    assert len(h.world.bungie.requests_to(f"/PostGameCarnageReport/{activity}/")) == 1


# ---- /report evidence ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(corpus.files()))
async def test_report_evidence_attachment(hostile: Hostile, name: str) -> None:
    h = hostile
    file = corpus.files()[name]
    async with h.case():
        handle = await h.discord.slash(
            h.world.alice, "report",
            {"reason": "cheating", "player": h.world.bob_bungie.bungie_name,
             "activity": str(h.activity())},
            attachments={"evidence": Upload(file.filename, file.data)})
        draft = await handle.wait_final()
        assert clear(draft) and confirm_id(draft), draft.text
        report_id = await confirm_and_deliver(h, draft)
        post = await h.review_post(report_id)
        if len(file.data) > 8 * 1024 * 1024:
            assert "not copied: too large (10.0 MB)" in post.text
        else:
            # Kept as a copy (the member may delete the original), under the same name.
            assert "copy attached to this post" in post.text, post.text
            assert [a.size for a in post.attachments] == [len(file.data)]


# ---- "Report player" and its form ---------------------------------------------------------

@pytest.mark.parametrize("name", TEXT_NAMES + list(corpus.BUNGIE_NAMES))
async def test_report_player_form_for_an_unlinked_member(hostile: Hostile, name: str) -> None:
    """carol never linked: the form's in-game name field is all Warden has."""
    h = hostile
    value = corpus.BUNGIE_NAMES.get(name) or text(h, name, PLAYER_MAX)
    async with h.case():
        handle = await h.discord.user_command(h.world.alice, "Report player", h.world.carol)
        submitted = await handle.submit_modal({
            "report:reason": ["cheating"], "report:player": value,
            "report:activity": str(h.activity())})
        reply = await submitted.wait_final()
        assert clear(reply), reply.text
        assert confirm_id(reply) is None, reply.text


@pytest.mark.parametrize("name", TEXT_NAMES)
async def test_report_player_form_description(hostile: Hostile, name: str) -> None:
    h = hostile
    value = text(h, name, DESCRIPTION_MAX)
    async with h.case():
        handle = await h.discord.user_command(h.world.alice, "Report player", h.world.bob)
        submitted = await handle.submit_modal({
            "report:reason": ["hate_speech"], "report:description": value,
            "report:activity": str(h.activity())})
        draft = await submitted.wait_final()
        assert clear(draft) and confirm_id(draft), draft.text
        # Cancel: the member changed their mind; nothing is sent.
        cancel = next(c for c in draft.custom_ids if c.startswith("warden:report:cancel:"))
        cancelled = await (await h.discord.click(h.world.alice, draft, cancel)).wait_final()
        assert "Cancelled: nothing was sent." in cancelled.text


@pytest.mark.parametrize("name", list(corpus.ACTIVITY_IDS))
async def test_report_player_form_activity(hostile: Hostile, name: str) -> None:
    h = hostile
    async with h.case():
        handle = await h.discord.user_command(h.world.alice, "Report player", h.world.bob)
        submitted = await handle.submit_modal({
            "report:reason": ["teaming"], "report:activity": corpus.ACTIVITY_IDS[name]})
        assert clear(await submitted.wait_final())


NICKS = {"everyone": "@everyone", "zalgo": corpus.ZALGO[:32], "rtl": "\u202eevil\u202c name",
         "markdown": "**[x](https://e.x)**", "role": "<@&1>"}


@pytest.mark.parametrize("name", list(NICKS))
async def test_report_player_form_for_a_member_with_a_hostile_name(
    hostile: Hostile, name: str
) -> None:
    h = hostile
    target = h.discord.add_member(f"nick-{name}", nick=NICKS[name])
    async with h.case():
        handle = await h.discord.user_command(h.world.alice, "Report player", target)
        modal = await handle.modal()
        assert len(modal.title) <= 45
        submitted = await h.discord.submit_modal(h.world.alice, modal, {
            "report:reason": ["other"], "report:player": h.world.bob_bungie.bungie_name})
        reply = await submitted.wait_final()
        assert clear(reply), reply.text


# ---- "Report message": the message's own text and files as evidence -----------------------

@pytest.mark.parametrize("name", [*TEXT_NAMES, "with-files"])
async def test_report_message_with_hostile_content(hostile: Hostile, name: str) -> None:
    h = hostile
    files = [Upload(f.filename, f.data) for key, f in corpus.files().items()
             if key != "ten-mib"] if name == "with-files" else []
    content = "see files" if name == "with-files" else text(h, name, MESSAGE_MAX)
    message = await h.discord.post_user_message(h.guild.general_channel, h.world.bob,
                                                content, attachments=files)
    async with h.case():
        handle = await h.discord.message_command(h.world.alice, "Report message", message)
        submitted = await handle.submit_modal({
            "report:reason": ["harassment"], "report:activity": str(h.activity())})
        draft = await submitted.wait_final()
        assert clear(draft) and confirm_id(draft), draft.text
        report_id = await confirm_and_deliver(h, draft)
        report = await h.world.store.reports.get(report_id)
        assert report is not None
        [kept] = [e for e in report.evidence if e.kind == "message"]
        assert kept.text == (content or None)


# ---- autocomplete: what the member is still typing ----------------------------------------

@pytest.mark.parametrize("name", TEXT_NAMES + list(corpus.ACTIVITY_IDS))
async def test_autocomplete_with_hostile_typing(hostile: Hostile, name: str) -> None:
    """Choices are answered within Discord's limits (the stand-in refuses any other), or
    not at all; the typed activity also steers the player choices."""
    h = hostile
    activity = corpus.ACTIVITY_IDS.get(name) or text(h, name, ACTIVITY_MAX)
    player = corpus.ACTIVITY_IDS.get(name) or text(h, name, PLAYER_MAX)
    async with h.case():
        found = await h.discord.autocomplete(h.world.alice, "report", "activity", activity)
        assert all(1 <= len(c["name"]) <= 100 for c in found)
        found = await h.discord.autocomplete(h.world.alice, "report", "player", player,
                                             options={"activity": activity})
        assert all(1 <= len(c["name"]) <= 100 for c in found)
