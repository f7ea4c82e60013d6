"""Issue 12 item 4 through the Discord stand-in: one member typing activity ids into
``/report``'s pickers cannot spend the installation's Bungie budget. Bad ids are
remembered, each member has an allowance, the member's own recent activities are free,
and a member with no Bungie link causes no look-up at all."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.report_rig import ReportWorld, report_world
from tests.standins.discord import DiscordStandIn, Member

PGCR = "/PostGameCarnageReport/"


async def _players(w: ReportWorld, member: Member, activity: str) -> list[str]:
    choices = await w.discord.autocomplete(member, "report", "player", "",
                                           options={"activity": activity})
    return [c["value"] for c in choices]


async def test_fifty_autocompletes_of_one_bad_id_make_one_bungie_call(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        for _ in range(40):
            assert await _players(w, w.alice, "98765432101") == []
        # A burst at once shares the one answer too.
        burst = await asyncio.gather(*(_players(w, w.alice, "98765432101")
                                       for _ in range(10)))
        assert burst == [[]] * 10
        assert len(w.bungie.requests_to(PGCR + "98765432101/")) == 1
        private = w.activity(w.alice_bungie, w.bob_bungie, private=True)
        for _ in range(20):
            assert await _players(w, w.bob, str(private)) == []
        assert len(w.bungie.requests_to(f"{PGCR}{private}/")) == 1


async def test_each_member_has_an_allowance_of_lookups(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin,
                            autocomplete_lookups_per_minute=5) as w:
        await w.link_everyone()
        played = w.activity(w.alice_bungie, w.bob_bungie)
        # Alice's own recent activity: offered by her picker, so free.
        recent = await w.discord.autocomplete(w.alice, "report", "activity", "")
        assert str(played) in [c["value"] for c in recent]
        for i in range(30):
            await _players(w, w.alice, str(90000000000 + i))
        # Five look-ups in the minute: her recent list, then four activity ids.
        assert len(w.bungie.requests_to(PGCR)) == 4
        assert await _players(w, w.alice, str(played)) == ["Bob#0042"]
        # Someone else's allowance is untouched.
        other = w.activity(w.alice_bungie, w.bob_bungie)
        assert await _players(w, w.bob, str(other)) == ["Alice#1111"]


async def test_a_member_without_a_bungie_link_causes_no_lookup(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        played = w.activity(w.alice_bungie, w.bob_bungie)
        for _ in range(5):
            assert await _players(w, w.carol, str(played)) == []
        assert w.bungie.requests_to(PGCR) == []
