"""The shared pacing limiter: Bungie's 25 req/s over a rolling 10 s window."""

from __future__ import annotations

import asyncio
import bisect

import pytest

from bot.apis.pacing import Limiter


class FakeTime:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def max_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    return max(
        bisect.bisect_left(stamps, start + window) - i for i, start in enumerate(stamps)
    )


async def test_never_more_than_250_in_any_10s_window() -> None:
    fake = FakeTime()
    limiter = Limiter(rate=25, window=10, clock=fake.clock, sleep=fake.sleep)
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        granted.append(fake.now)

    await asyncio.gather(*(one() for _ in range(1000)))

    assert len(granted) == 1000
    assert max_in_any_window(granted, 10.0) == 250
    # It paces rather than stalls: 1000 requests fit in just over three windows.
    assert granted[-1] == pytest.approx(30.0)


async def test_window_holds_for_trickling_traffic() -> None:
    fake = FakeTime()
    limiter = Limiter(rate=25, window=10, clock=fake.clock, sleep=fake.sleep)
    granted: list[float] = []
    for i in range(900):
        if i % 7 == 0:
            fake.now += 0.013 * i % 1.7  # irregular gaps between bursts
        await limiter.acquire()
        granted.append(fake.now)
    assert max_in_any_window(granted, 10.0) <= 250


async def test_the_first_burst_is_not_delayed() -> None:
    fake = FakeTime()
    limiter = Limiter(rate=25, window=10, clock=fake.clock, sleep=fake.sleep)
    for _ in range(250):
        await limiter.acquire()
    assert fake.sleeps == []
    assert limiter.in_window == 250


async def test_waiters_are_served_first_come_first_served() -> None:
    fake = FakeTime()
    limiter = Limiter(rate=0.2, window=10, clock=fake.clock, sleep=fake.sleep)  # 2 per 10 s
    order: list[int] = []

    async def one(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    tasks = []
    for i in range(8):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0)  # queue them in a known order
    await asyncio.gather(*tasks)
    assert order == list(range(8))


async def test_hold_pauses_everyone() -> None:
    fake = FakeTime()
    limiter = Limiter(clock=fake.clock, sleep=fake.sleep)
    await limiter.acquire()
    limiter.hold(5)
    await limiter.acquire()
    assert fake.now == pytest.approx(5.0)
    limiter.hold(0)  # no-op
    limiter.hold(-3)
    await limiter.acquire()
    assert fake.now == pytest.approx(5.0)


async def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    fake = FakeTime()
    limiter = Limiter(rate=0.1, window=10, clock=fake.clock, sleep=fake.sleep)  # 1 per 10 s
    await limiter.acquire()
    blocked = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    await limiter.acquire()  # not deadlocked


async def test_real_clock_paces() -> None:
    limiter = Limiter(rate=100, window=0.05)  # 5 per 50 ms
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(10):
        await limiter.acquire()
    assert loop.time() - start >= 0.045


def test_rejects_a_meaningless_budget() -> None:
    with pytest.raises(ValueError):
        Limiter(rate=0)
