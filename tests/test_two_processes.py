"""Two real Warden apps on one PostgreSQL database, each running half of the Discord
shards, as two processes would: an outcome settled by one reaches the member through the
other, which holds the member's open interaction, and the member is told exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bot.app import WardenBot
from bot.domain import ReviewMode
from bot.store.event_channel import LISTENER_NAME
from tests.linking_rig import free_port
from tests.report_rig import ReportWorld, report_world, run_warden, world_settings
from tests.standins.discord import DiscordStandIn, start_discord_standin

pytestmark = pytest.mark.usefixtures("isolated_env")


@asynccontextmanager
async def two_processes(tmp_path: Path, postgres_url: str,
                        ) -> AsyncIterator[tuple[ReportWorld, WardenBot, DiscordStandIn]]:
    """``a`` runs shard 0, which holds the server (members' clicks reach it); ``b`` runs
    shard 1. ``a``'s outbox is stopped, so ``b`` sends every delivery."""
    async with start_discord_standin(guild_shard=(0, 2), shards=2) as standin:
        async with report_world(tmp_path / "a", standin, database_url=postgres_url,
                                shard_ids="0", shard_count=2,
                                review_mode=ReviewMode.AUTO) as a:
            await a.link_everyone()
            key = a.settings.token_encryption_key
            assert key is not None
            settings_b = world_settings(
                tmp_path / "b", standin, a.bungie, a.sanctions, free_port(),
                key.get_secret_value(), database_url=postgres_url, shard_ids="1",
                shard_count=2)
            async with run_warden(settings_b, standin) as b:
                await a.outbox.stop()
                yield a, b, standin


async def _told_via(a: ReportWorld, report_id: int, tries: int = 500) -> str | None:
    for _ in range(tries):
        rows = await a.store.db.fetch_all(
            "SELECT told_via FROM reporter_notices WHERE report_id = ? AND kind = 'outcome'",
            (report_id,))
        if rows and rows[0][0] is not None:
            return str(rows[0][0])
        await asyncio.sleep(0.02)
    return None


async def test_an_outcome_settled_by_the_other_process_is_edited_into_the_live_reply(
    tmp_path: Path, postgres_url: str,
) -> None:
    async with two_processes(tmp_path, postgres_url) as (a, b, standin):
        reply = await a.report(a.alice, player=str(a.bob_game.uuid))
        confirm = await a.confirm(a.alice, reply)
        report_id = a.report_id(reply)
        told = await a.told(confirm)  # a's live reply, edited once b's deliveries settled
        assert "Game backend:** delivered" in told.text
        # Sent by b (the last claim on each row is b's: host and shard 1).
        claims = await b.services.store.db.fetch_all(
            "SELECT status, claimed_by FROM deliveries WHERE report_id = ?", (report_id,))
        assert claims and all(c[0] == "sent" and str(c[1]).endswith("/1") for c in claims)
        assert await _told_via(a, report_id) == "interaction"
        await asyncio.sleep(0.5)  # room for a wrong DM from b to arrive
        assert standin.dms_to(a.alice) == []


async def test_an_outcome_with_no_live_reply_is_dmed_once_by_the_process_that_settled_it(
    tmp_path: Path, postgres_url: str,
) -> None:
    async with two_processes(tmp_path, postgres_url) as (a, _, standin):
        # Confirmed without an interaction to answer in (as after the 15 minutes).
        report_id = await a.file(a.alice, str(a.bob_game.uuid))
        await a.wait_delivered(report_id)
        assert await _told_via(a, report_id) == "dm"
        await asyncio.sleep(0.5)
        [dm] = standin.dms_to(a.alice)
        assert "delivered" in dm.text


async def test_an_outcome_missed_while_the_relay_was_down_still_reaches_the_live_reply(
    tmp_path: Path, postgres_url: str,
) -> None:
    """The other process settles the outcome while this one cannot listen (its listening
    connection dropped and the database refuses new connections): no notification can
    reach it. Once it listens again it looks up what its open replies wait for."""
    async with two_processes(tmp_path, postgres_url) as (a, b, standin):
        await b.services.outbox.stop()
        reply = await a.report(a.alice, player=str(a.bob_game.uuid))
        confirm = await a.confirm(a.alice, reply)
        await confirm.wait_final(lambda m: "sending…" in m.text)
        report_id = a.report_id(reply)

        database = conninfo_to_dict(postgres_url)["dbname"]
        admin_url = make_conninfo(postgres_url, dbname="postgres")
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s AND datname = %s",
                    (LISTENER_NAME, database))
                await b.services.outbox.start()
                await a.wait_delivered(report_id)  # settled by b, unheard by a
                await asyncio.sleep(0.3)
                assert await _told_via(a, report_id, tries=1) is None
            finally:
                await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

        told = await a.told(confirm)  # a listens again, and catches up
        assert "Game backend:** delivered" in told.text
        assert await _told_via(a, report_id) == "interaction"
        await asyncio.sleep(0.5)
        assert standin.dms_to(a.alice) == []
