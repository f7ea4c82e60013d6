"""Shutdown as a member lives it, in-process: while Warden drains, commands and report
confirmations are answered "Warden is restarting" (never left to time out), nothing is
half-accepted, and after the restart the same Confirm button works and the delivery
that was cut short is reconciled, not sent twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.crypto import TokenBox, generate_key
from bot.domain import ReviewMode
from bot.runtime import shutdown
from tests.linking_rig import free_port
from tests.report_rig import NO_LIMITS, ReportWorld, run_warden, world_settings
from tests.standins.bungie import BungieStandin
from tests.standins.discord import DiscordStandIn
from tests.standins.sanctions import REPORTS_ROUTE, SanctionsStandin

pytestmark = pytest.mark.usefixtures("isolated_env")


async def test_while_draining_members_are_told_to_retry_and_nothing_is_lost(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    port, key = free_port(), generate_key()
    async with BungieStandin() as bungie, SanctionsStandin() as rh:
        settings = world_settings(tmp_path, discord_standin, bungie, rh, port, key,
                                  outbox_shutdown_grace_seconds=1.5, http_read_timeout=10.0)
        accounts = (bungie.add_account("Alice", 1111), bungie.add_account("Bob", 42))
        players = (rh.add_player("AliceInGame"), rh.add_player("BobInGame"))
        box = TokenBox(settings.token_keys())
        # At the stop, both deliveries of a report are under way: Bungie answers within
        # the shutdown grace, the game backend hangs past it.
        bungie.inject("slow", path="/Report/", method="POST", delay=0.8)
        rh.inject("slow", path=REPORTS_ROUTE, method="POST", delay=30)

        async with run_warden(settings, discord_standin) as bot:
            w = ReportWorld(discord_standin, bungie, rh, bot, settings, box, *accounts,
                            *players)
            await w.set_guild(review_mode=ReviewMode.AUTO, short_count=NO_LIMITS.short_count,
                              hour_count=NO_LIMITS.hour_count, day_count=NO_LIMITS.day_count,
                              target_cooldown_hours=NO_LIMITS.target_cooldown_hours)
            await w.link_everyone()
            draft = await w.report(w.alice, player=f"<@{w.bob.user.id}>", reason="harassment")
            in_flight = await w.file(w.alice, "Bob#0042", activity=w.activity())
            await discord_standin.wait_until(
                lambda: (rh.count("POST", REPORTS_ROUTE) == 1
                         and any(r.path.endswith("/Report/") for r in bungie.requests)) or None,
                description="the report's requests to reach both upstreams")

            stopping = asyncio.create_task(shutdown(bot))
            await asyncio.sleep(0)
            assert bot.draining

            # A Confirm pressed now: told plainly, and the draft is kept for later.
            confirm = await w.confirm(w.alice, draft)
            refused = await confirm.wait_final(lambda m: "restarting" in m.text)
            assert refused.ephemeral
            assert "report #1 was not sent yet" in refused.text
            assert "Press Confirm again in a minute" in refused.text
            # A new command now: the same plain answer, before any work is done.
            slash = await discord_standin.slash(w.carol, "report",
                                                options={"reason": "cheating", "player": "x"})
            answer = await slash.wait_final()
            assert answer.ephemeral and answer.text == (
                "Warden is restarting, so this did not go through. Please try again in a "
                "minute.")

            await asyncio.wait_for(stopping, timeout=5)
            assert bot.is_closed()
            store = bot.services.store
            kept = await store.reports.get(w.report_id(draft))
            assert kept is not None and kept.status == "draft"
            rows = {r.destination: r for r in await store.deliveries.for_report(in_flight)}
            # Bungie answered within the grace and was recorded; the game backend's attempt
            # was cut short and left in_flight, so the next start checks with the upstream
            # before sending again.
            assert rows["bungie"].status == "sent"
            assert rows["sanctions"].status == "in_flight"

        async with run_warden(settings, discord_standin) as bot:
            w = ReportWorld(discord_standin, bungie, rh, bot, settings, box, *accounts,
                            *players)
            await w.wait_delivered(in_flight)
            confirm = await w.confirm(w.alice, draft)
            await confirm.wait_final(lambda m: "confirmed" in m.text)
            delivered = await w.wait_delivered(w.report_id(draft))
            assert {r.status for r in delivered} == {"sent"}
            check = await w.store.audit.verify()
            assert check.ok
        # One report each at the game backend: the interrupted one was not sent twice.
        assert len(rh.reports_with_warden_id(str(in_flight))) == 1
        assert len(rh.reports_with_warden_id(str(w.report_id(draft)))) == 1
