"""Several Warden processes on one PostgreSQL database: each ``Database.open`` below has
its own connections, as a separate process would, and their transactions really run at
the same time on the server."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator

import pytest

from bot.domain import NewReport, ReportLimits
from bot.store import Database, Lease, Store
from bot.store.reports import Accepted, LimitHit
from tests.store.process_racer import race

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


async def test_a_starting_process_recovers_only_expired_leases(postgres_url: str) -> None:
    a = Store(await Database.open(postgres_url), lease=Lease("host-a/0", seconds=60))
    b = Store(await Database.open(postgres_url), lease=Lease("host-b/1", seconds=60))
    try:
        ids = []
        for target in ("one", "two"):
            draft = await a.reports.create_draft(_new(7, target), now=1000.0)
            await a.reports.accept(draft.id, limits=LIMITS, deliveries=[("sanctions", "pending")],
                                   actor_id=7, now=1000.0)
            ids.append(draft.id)
        assert await a.deliveries.start_attempt(ids[0], "sanctions") is not None
        # b claims the same row at the same time as a would: only one gets it.
        assert await b.deliveries.start_attempt(ids[0], "sanctions") is None
        assert await b.deliveries.start_attempt(ids[1], "sanctions") is not None
        # b restarts while a's attempt runs: it takes back its own, never a's.
        assert await b.deliveries.recover_in_flight() == 1
        running = await b.deliveries.get(ids[0], "sanctions")
        assert running is not None and running.status == "in_flight"
        # a's lease runs out (a died): now anyone recovers it; a live sweep keeps its own.
        later = time.time() + 61
        assert await b.deliveries.recover_in_flight(now=later, own=False) == 1
        recovered = await a.deliveries.get(ids[0], "sanctions")
        assert recovered is not None and recovered.status == "pending"
    finally:
        await a.db.close()
        await b.db.close()


async def test_one_process_at_a_time_holds_a_review_post(stores: list[Store]) -> None:
    draft = await stores[0].reports.create_draft(_new(5, "p"), now=1000.0)
    claim = await stores[0].reports.claim_review_post(draft.id, seconds=60)
    assert claim is not None
    assert await stores[1].reports.claim_review_post(draft.id, seconds=60) is None
    await stores[0].reports.release_review_post(draft.id, claim)
    again = await stores[1].reports.claim_review_post(draft.id, seconds=60)
    assert again is not None
    await stores[1].reports.release_review_post(draft.id, again)
    # A claim whose process died (never released) runs out.
    assert await stores[2].reports.claim_review_post(draft.id, seconds=-1) is not None
    assert await stores[3].reports.claim_review_post(draft.id, seconds=60) is not None
    assert await stores[3].reports.claim_review_post(99999, seconds=60) == 0.0


async def test_os_processes_racing_one_reporter_accept_exactly_what_the_limits_allow(
    stores: list[Store], postgres_url: str,
) -> None:
    """As above, with real OS processes: each has its own interpreter, event loop and
    connections, released at once by a barrier."""
    context = multiprocessing.get_context("spawn")
    for round_ in range(2):
        reporter = 200 + round_
        drafts = [await stores[0].reports.create_draft(_new(reporter, f"os{round_}-{i}"),
                                                      now=1000.0)
                  for i in range(PROCESSES * 2)]
        start = context.Barrier(PROCESSES)
        results = context.Queue()
        racers = [context.Process(target=race, args=(
            postgres_url, [d.id for d in drafts[i::PROCESSES]], reporter, LIMITS, start,
            results)) for i in range(PROCESSES)]
        for racer in racers:
            racer.start()
        outcomes = [await asyncio.to_thread(results.get, True, 60.0) for _ in drafts]
        for racer in racers:
            await asyncio.to_thread(racer.join, 30.0)
            assert racer.exitcode == 0
        kinds = sorted(kind for _, kind in outcomes)
        assert kinds.count("accepted") == LIMITS.short_count, f"round {round_}: {kinds}"
        assert kinds.count("limited") == len(drafts) - LIMITS.short_count
        # The database agrees: exactly that many of them are reports now.
        [row] = await stores[1].db.fetch_all(
            "SELECT count(*) FROM reports WHERE reporter_id = ? AND status <> 'draft'",
            (reporter,))
        assert row[0] == LIMITS.short_count
    assert (await stores[0].audit.verify()).ok
