"""The Bungie pace of the whole installation: two processes' limiters (each with its own
database connections, as separate processes have) take from one bucket in PostgreSQL and
together keep to the budget in every window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.apis.pacing import SharedLimiter
from bot.store import Database
from bot.store.buckets import ApiBucket

RATE, WINDOW = 20.0, 1.0
BUDGET = int(RATE * WINDOW)


class Recorded(ApiBucket):
    """The bucket, noting the database's time of each grant."""

    def __init__(self, db: Database, grants: list[float]) -> None:
        super().__init__(db, "bungie", rate=RATE, window=WINDOW)
        self.grants = grants

    async def take(self, *, urgent: bool) -> float:
        taken = await self.take_one(urgent=urgent)
        if taken.granted_at is not None:
            self.grants.append(taken.granted_at)
        return taken.wait


@pytest.fixture
async def dbs(postgres_url: str) -> AsyncIterator[list[Database]]:
    opened = [await Database.open(postgres_url) for _ in range(2)]
    yield opened
    for db in opened:
        await db.close()


def busiest_window(grants: list[float]) -> int:
    """The most grants in any half-open interval [t, t + WINDOW)."""
    times = sorted(grants)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - WINDOW:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_two_processes_together_never_exceed_the_rate_in_any_window(
    dbs: list[Database],
) -> None:
    grants: list[float] = []
    per_process: list[list[float]] = [[], []]
    limiters = []
    for db, own in zip(dbs, per_process, strict=True):
        bucket = Recorded(db, own)
        limiters.append(SharedLimiter(bucket))
    stop = time.monotonic() + 3.0

    async def caller(limiter: SharedLimiter, urgent: bool) -> None:
        while time.monotonic() < stop:
            await limiter.acquire(urgent=urgent)

    await asyncio.gather(*(caller(limiter, urgent=n % 3 == 0)
                           for limiter in limiters for n in range(6)))
    grants = per_process[0] + per_process[1]
    assert busiest_window(grants) <= BUDGET
    # ...and the budget is used, by both (not one process starving the other). Loose
    # bounds: a loaded machine slows the callers themselves (they ask one at a time through
    # a database round trip), and tokens go to whoever asks first, not in turns; a bucket
    # per process, a stuck one or a starved process still fails these.
    span = max(grants) - min(grants)
    assert len(grants) >= 0.5 * RATE * span
    assert min(len(p) for p in per_process) >= 0.1 * len(grants)


async def test_a_throttle_seen_by_one_process_holds_the_other(dbs: list[Database]) -> None:
    one, other = (SharedLimiter(ApiBucket(db, "bungie", rate=RATE, window=WINDOW))
                  for db in dbs)
    await ApiBucket(dbs[0], "bungie", rate=RATE, window=WINDOW).hold(0.6)
    started = time.monotonic()
    await other.acquire()
    assert time.monotonic() - started >= 0.5
    await one.acquire()
