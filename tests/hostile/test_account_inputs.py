"""Hostile names from upstream (the display names of linked Bungie.net and game accounts,
which players choose) through ``/links``, ``/unlink`` and reports that show them; and
every remaining command: ``/link``, ``/notifications``, ``/about``."""

from __future__ import annotations

import re

import pytest

from bot.domain import GamePlatform, Provider
from tests.hostile import corpus
from tests.hostile.rig import Hostile, clear
from tests.report_rig import bungie_link, game_link

pytestmark = pytest.mark.asyncio(loop_scope="module")

NAME_MAX = 100  # longer than Bungie or any platform allows
TEXT_NAMES = list(corpus.texts(10, mention_ids=(1, 2, 3)))


def hostile_name(h: Hostile, name: str) -> str:
    ids = (h.world.alice.user.id, h.guild.moderator_role.id, h.guild.general_channel.id)
    return corpus.texts(NAME_MAX, mention_ids=ids)[name]


@pytest.mark.parametrize("name", TEXT_NAMES)
async def test_links_and_unlink_show_hostile_account_names(hostile: Hostile, name: str) -> None:
    h = hostile
    w = h.world
    carol = w.carol
    player = w.sanctions.add_player(hostile_name(h, name) or "x")
    await w.store.links.upsert(game_link(w.box, w.sanctions, carol.user.id, player))
    async with h.case():
        listed = await (await h.discord.slash(carol, "links")).wait_final()
        assert clear(listed), listed.text
        removed = await (await h.discord.slash(carol, "unlink", {"which": "all"})).wait_final()
        assert clear(removed) and "Removed your Game account link" in removed.text


@pytest.mark.parametrize("name", TEXT_NAMES)
async def test_reports_show_a_targets_hostile_game_name_as_text(
    hostile: Hostile, name: str
) -> None:
    """carol's game account has a hostile name: the draft, the review post and the
    sanctions API all get it as plain text."""
    h = hostile
    w = h.world
    carol = w.carol
    player = w.sanctions.add_player(hostile_name(h, name) or "x")
    await w.store.links.upsert(game_link(w.box, w.sanctions, carol.user.id, player))
    try:
        async with h.case():
            handle = await h.discord.user_command(w.alice, "Report player", carol)
            submitted = await handle.submit_modal({"report:reason": ["afk"]})
            draft = await submitted.wait_final()
            assert clear(draft), draft.text
            confirm = next(c for c in draft.custom_ids if c.startswith("warden:report:confirm:"))
            click = await h.discord.click(w.alice, draft, confirm)
            await click.wait_final(lambda m: "is confirmed and saved" in m.text)
            report_id = int(confirm.rsplit(":", 1)[1])
            [row] = await w.wait_delivered(report_id)
            assert row.status == "sent"
            await h.review_post(report_id)
    finally:
        await w.store.links.delete(carol.user.id, Provider.GAME)


@pytest.mark.parametrize("platform", [p.value for p in GamePlatform])
@pytest.mark.parametrize("dms", ["open", "closed"])
async def test_link_offers(hostile: Hostile, platform: str, dms: str) -> None:
    h = hostile
    member = h.world.carol
    if dms == "closed":
        h.discord.close_dms(member)
    try:
        async with h.case():
            game = await h.discord.slash(member, "link", {"platform": platform},
                                         subcommand="game")
            assert clear(await game.wait_final())
            bungie = await h.discord.slash(member, "link", {}, subcommand="bungie")
            assert clear(await bungie.wait_final())
    finally:
        h.discord.open_dms(member)


@pytest.mark.parametrize("which", ["bungie", "game", "all"])
async def test_unlink_when_nothing_is_linked(hostile: Hostile, which: str) -> None:
    h = hostile
    async with h.case():
        reply = await (await h.discord.slash(h.world.carol, "unlink",
                                             {"which": which})).wait_final()
        assert clear(reply) and "nothing was removed" in reply.text


@pytest.mark.parametrize("dms", ["off", "on"])
async def test_notifications(hostile: Hostile, dms: str) -> None:
    h = hostile
    async with h.case():
        reply = await (await h.discord.slash(h.world.alice, "notifications",
                                             {"dms": dms})).wait_final()
        assert clear(reply)


async def test_about_in_a_server_and_in_dms(hostile: Hostile) -> None:
    h = hostile
    async with h.case():
        for who in (h.world.alice, h.world.alice.user):
            reply = await (await h.discord.slash(who, "about")).wait_final()
            assert clear(reply)


async def test_report_is_not_offered_in_dms(hostile: Hostile) -> None:
    from tests.standins.discord import CommandUnavailable

    h = hostile
    with pytest.raises(CommandUnavailable):
        await h.discord.slash(h.world.alice.user, "report",
                              {"reason": "other", "player": "x"})


LINK_BREAKERS = {
    "masked-link": "x](https://evil.example) [y",
    "brackets": "[[nested]] (parens)",
    "markdown": "**Bold** __u__ `c`",
    "everyone": "@everyone",
}


@pytest.mark.parametrize("name", list(LINK_BREAKERS))
async def test_a_hostile_bungie_name_cannot_add_a_link_to_the_review_post(
    hostile: Hostile, name: str
) -> None:
    """The target's Bungie name (chosen by that player, read from Bungie.net) is the text
    of the profile link on the review post: it must stay that one link's text."""
    h = hostile
    w = h.world
    carol = w.carol
    account = w.bungie.add_account(LINK_BREAKERS[name], 4321)
    await w.store.links.upsert(bungie_link(w.box, w.bungie, carol.user.id, account))
    activity = w.bungie.add_pgcr([w.alice_bungie, account])
    try:
        async with h.case():
            handle = await h.discord.user_command(w.alice, "Report player", carol)
            submitted = await handle.submit_modal({"report:reason": ["cheating"],
                                                   "report:activity": str(activity)})
            draft = await submitted.wait_final()
            confirm = next(c for c in draft.custom_ids if c.startswith("warden:report:confirm:"))
            click = await h.discord.click(w.alice, draft, confirm)
            await click.wait_final(lambda m: "is confirmed and saved" in m.text)
            post = await h.review_post(int(confirm.rsplit(":", 1)[1]))
        [field] = [f["value"] for f in post.embeds[0]["fields"]
                   if f["name"] == "Reported player"]
        [bungie_line] = [line for line in field.splitlines() if line.startswith("Bungie: ")]
        assert len(re.findall(r"(?<!\\)\]\(", bungie_line)) == 1, bungie_line
    finally:
        await w.store.links.delete(carol.user.id, Provider.BUNGIE)
