"""Issue 12 item 2 through the Discord stand-in with a real Warden: a report draft never
tells the reporter who is behind a Bungie name (or what a member's linked accounts
are), a player's Discord account is attached only when they are in this server, a
member can start only so many drafts, and unconfirmed drafts do not stay forever."""

from __future__ import annotations

import time
from pathlib import Path

from bot.domain import NewReport
from bot.runtime import open_app
from tests.report_rig import bungie_link, report_world
from tests.standins.discord import DiscordStandIn


async def test_a_bungie_name_never_reveals_who_linked_it(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        reply = await w.report(w.alice, player="Bob#0042")
        assert "Report #1: check and confirm" in reply.text
        assert "Bob#0042" in reply.text
        assert str(w.bob.user.id) not in reply.text  # no mention of who linked it
        assert "BobInGame" not in reply.text  # nor their game account
        # Moderators still get the whole identity with the report.
        stored = await w.store.reports.get(w.report_id(reply))
        assert stored is not None and stored.target_discord_id == w.bob.user.id


async def test_a_member_target_shows_no_linked_names(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        reply = await w.report(w.alice, player=f"<@{w.bob.user.id}>")
        assert "check and confirm" in reply.text and f"<@{w.bob.user.id}>" in reply.text
        assert "Bob#0042" not in reply.text and "BobInGame" not in reply.text
        assert reply.pings.nobody
        # The activity check does not name them either when they were not in it.
        carol = w.bungie.add_account("Carol", 7)
        activity = w.activity(w.alice_bungie, carol)
        refused = await w.report(w.alice, player=f"<@{w.bob.user.id}>",
                                 activity=str(activity))
        assert "did not play in activity" in refused.text
        assert "Bob#0042" not in refused.text and "BobInGame" not in refused.text


async def test_a_player_outside_this_server_is_not_attached(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_bungie(w.alice, w.alice_bungie)
        await w.link_game(w.alice, w.alice_game)
        # Dave linked his Bungie account in another server of this Warden.
        dave = w.discord.add_user("dave")
        dave_bungie = w.bungie.add_account("Dave", 77)
        await w.store.links.upsert(bungie_link(w.box, w.bungie, dave.id, dave_bungie))
        activity = w.activity(w.alice_bungie, dave_bungie)
        reply = await w.report(w.alice, player="Dave#0077", activity=str(activity))
        assert "check and confirm" in reply.text and str(dave.id) not in reply.text
        stored = await w.store.reports.get(w.report_id(reply))
        assert stored is not None and stored.target_discord_id is None
        # A typed mention of someone who is not in the server is refused.
        refused = await w.report(w.alice, player=f"<@{dave.id}>")
        assert "That member is not in this server" in refused.text


async def test_drafts_per_member_are_limited_across_servers(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, report_drafts_per_hour=3) as w:
        await w.link_everyone()
        for _ in range(2):
            reply = await w.report(w.alice, player="Bob#0042")
            handle = await w.discord.click(w.alice, reply,
                                           f"warden:report:cancel:{w.report_id(reply)}")
            await handle.wait_final()
        other = w.discord.add_guild("Other server")
        alice_there = w.discord.add_member(w.alice.user, guild=other)
        await w.discord.wait_until(lambda: w.bot.get_guild(other.id) is not None)
        third = await w.report(alice_there, player="Bob#0042")
        assert "check and confirm" in third.text
        refused = await w.report(w.alice, player="Bob#0042")
        assert "You started 3 reports in the last hour without confirming them" in refused.text
        assert refused.ephemeral
        # The refused draft cost no look-up.
        assert len(w.bungie.requests_to("SearchDestinyPlayer")) == 3


async def test_unconfirmed_drafts_are_deleted_at_start_up(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        old = time.time() - 2 * 3600
        new = NewReport(guild_id=w.guild_id, channel_id=None, reporter_id=w.alice.user.id,
                        reason="cheating", target_key="bungie:1", target_bungie_name="X#1")
        stale = await w.store.reports.create_draft(new, now=old)
        fresh = await w.store.reports.create_draft(new)
        async with open_app(w.settings, start_background=False):
            pass
        assert await w.store.reports.get(stale.id) is None
        assert await w.store.reports.get(fresh.id) is not None
