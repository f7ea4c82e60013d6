"""Several Warden processes on one PostgreSQL database: each ``Database.open`` below has
its own connections, as a separate process would, and their transactions really run at
the same time on the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.domain import NewReport, ReportLimits
from bot.store import Database, Store
from bot.store.reports import Accepted, LimitHit

GUILD = 10
LIMITS = ReportLimits(short_count=2, short_seconds=60, hour_count=5, day_count=20,
                      target_cooldown_hours=0)
PROCESSES = 4


@pytest.fixture
async def stores(postgres_url: str) -> AsyncIterator[list[Store]]:
    dbs = [await Database.open(postgres_url) for _ in range(PROCESSES)]
    yield [Store(db) for db in dbs]
    for db in dbs:
        await db.close()


def _new(reporter: int, target: str) -> NewReport:
    return NewReport(guild_id=GUILD, channel_id=1, reporter_id=reporter, reason="cheating",
                     target_key=target, description="aimbot")


async def test_processes_racing_one_reporter_accept_exactly_what_the_limits_allow(
    stores: list[Store],
) -> None:
    for round_ in range(5):
        reporter = 100 + round_
        # Each process holds drafts for a different player; all confirm at once.
        drafts = [
            await store.reports.create_draft(_new(reporter, f"t{i}"), now=1000.0)
            for i, store in enumerate(stores * 2)
        ]
        outcomes = await asyncio.gather(*(
            stores[i % PROCESSES].reports.accept(
                draft.id, limits=LIMITS, deliveries=[("sanctions", "pending")],
                actor_id=reporter, now=1000.0,
            )
            for i, draft in enumerate(drafts)
        ))
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        refused = [o for o in outcomes if isinstance(o, LimitHit)]
        assert len(accepted) == LIMITS.short_count, f"round {round_}"
        assert len(refused) == len(drafts) - LIMITS.short_count
    assert (await stores[0].audit.verify()).ok


async def test_report_numbers_never_collide_across_processes(stores: list[Store]) -> None:
    drafts = await asyncio.gather(*(
        stores[i % PROCESSES].reports.create_draft(_new(i, "x")) for i in range(40)
    ))
    assert sorted(d.number for d in drafts) == list(range(1, 41))


async def test_audit_appends_from_every_process_keep_one_chain(stores: list[Store]) -> None:
    await asyncio.gather(*(
        stores[i % PROCESSES].guilds.update(i, actor_id=7, review_channel_id=100 + i)
        for i in range(40)
    ))
    assert (await stores[0].audit.verify()).ok
