"""The game player, found by every name a member uses (through the Discord stand-in and
the sanctions stand-in's user look-ups): a player uuid is checked at once, an in-game
display name is looked up (several matches are offered to pick from), and a member who
never linked in Warden is found through the game backend's own Discord identity. A
look-up that fails never stops the Bungie.net side of a report."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from bot.domain import Delivery
from tests.cogs.test_report_refusals import refused
from tests.report_rig import ReportWorld, report_world
from tests.standins.discord import DiscordStandIn, RecordedMessage
from tests.standins.sanctions import LOOKUP_ROUTE, PLATFORM_USER_ROUTE, PLAYER_ID_ROUTE
from tests.support import clean_env


async def confirmed(w: ReportWorld, reply: RecordedMessage) -> list[Delivery]:
    """Confirm the draft; its deliveries once final, and the reporter told."""
    handle = await w.confirm(w.alice, reply)
    rows = await w.wait_delivered(w.report_id(reply))
    await w.told(handle)
    return rows


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, tmp_path)


async def test_an_unknown_game_player_id_is_refused_at_report_time(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        unknown = uuid4()
        reply = await w.report(w.alice, player=str(unknown))
        refused(reply)
        assert f"No game player has the id `{unknown}`" in reply.text
        assert w.sanctions.count("GET", PLAYER_ID_ROUTE) == 1

        # A known one is checked the same way and goes through.
        reply = await w.report(w.alice, player=str(w.bob_game.uuid))
        rows = await confirmed(w, reply)
        assert [(r.destination, r.status) for r in rows] == [("sanctions", "sent")]


async def test_a_player_id_is_not_refused_when_the_game_backend_cannot_be_asked(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject("unavailable", count=10, path=PLAYER_ID_ROUTE)
        reply = await w.report(w.alice, player=str(w.bob_game.uuid))
        assert "Report #1: check and confirm" in reply.text


async def test_a_player_is_found_by_in_game_name_and_several_are_offered_to_pick(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        zed = w.sanctions.add_player("Zed the Griefer")
        twins = [w.sanctions.add_player("Twin"), w.sanctions.add_player("Twin")]

        # One player with the name: found, and the report reaches the game backend.
        reply = await w.report(w.alice, player="Zed the Griefer")
        assert "`Zed the Griefer`" in reply.text
        await confirmed(w, reply)
        [stored] = w.sanctions.reports
        assert stored["target_player_uuid"] == str(zed.uuid)

        # Several: the member is asked to pick, and the player picker offers them.
        reply = await w.report(w.alice, player="Twin")
        refused(reply)
        assert "2 game players are called `Twin`" in reply.text
        assert all(str(t.uuid) in reply.text for t in twins)
        lookups = w.sanctions.count("GET", LOOKUP_ROUTE)
        choices = await w.discord.autocomplete(w.alice, "report", "player", "Twin")
        assert sorted(c["value"] for c in choices) == sorted(str(t.uuid) for t in twins)
        assert all(c["name"].startswith("Twin (game player ") for c in choices)
        assert w.sanctions.count("GET", LOOKUP_ROUTE) == lookups  # answered from the cache
        reply = await w.report(w.alice, player=choices[0]["value"])
        assert "Report #2: check and confirm" in reply.text

        # None: a clear refusal.
        reply = await w.report(w.alice, player="Nobody Here")
        refused(reply)
        assert "`Nobody Here` is not a player I can look up: no game player has that name" in (
            reply.text)


async def test_an_unlinked_member_is_found_through_the_game_backends_discord_identity(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        carol_game = w.sanctions.add_player(
            "CarolInGame", identities={"Discord": str(w.carol.user.id)})
        handle = await w.discord.user_command(w.alice, "Report player", w.carol)
        submitted = await handle.submit_modal({
            "report:reason": ["harassment"], "report:description": "Spam in voice"})
        reply = await submitted.wait_final()
        # The reporter sees the member as they named them, never the game account behind
        # it (issue 12); the game backend is where the report goes.
        assert f"<@{w.carol.user.id}>" in reply.text and "CarolInGame" not in reply.text
        assert "**Goes to:** Game backend" in reply.text
        rows = await confirmed(w, reply)
        assert [(r.destination, r.status) for r in rows] == [("sanctions", "sent")]
        [stored] = w.sanctions.reports
        assert stored["target_player_uuid"] == str(carol_game.uuid)


@pytest.mark.parametrize("backend_answers", [True, False])
async def test_a_failed_game_lookup_never_blocks_the_bungie_side(
    tmp_path: Path, discord_standin: DiscordStandIn, backend_answers: bool
) -> None:
    """Bob linked only Bungie.net in Warden; the studio linked his Discord account."""
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_bungie(w.alice, w.alice_bungie)
        await w.link_game(w.alice, w.alice_game)
        await w.link_bungie(w.bob, w.bob_bungie)
        w.sanctions.add_player("BobViaDiscord", identities={"Discord": str(w.bob.user.id)})
        if not backend_answers:
            w.sanctions.inject("unavailable", count=10, path=PLATFORM_USER_ROUTE)
        activity = w.activity()
        reply = await w.report(w.alice, player=f"<@{w.bob.user.id}>", activity=str(activity))
        rows = {r.destination: r.status for r in await confirmed(w, reply)}
        expected = {"bungie": "sent", "sanctions": "sent"} if backend_answers else {
            "bungie": "sent"}
        assert rows == expected
        assert w.bungie.report_count == 1
