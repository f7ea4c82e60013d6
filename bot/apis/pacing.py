"""Client-side pacing for an upstream with a rolling-window request budget.

Bungie throttles at about 25 requests/s per source IP averaged over a rolling
10 s window. One ``Limiter`` is shared by everything in the process that talks
to Bungie, so the bot stays under the budget on its own instead of learning it
from throttle answers. Waiters are served first come, first served within their lane:
a burst of report look-ups cannot starve a moderator's single request behind it
forever. Urgent callers (deliveries, token refreshes) have a lane of their own that
goes first, so members' look-ups can never hold up a report or let a refresh token
lapse.

With several processes on PostgreSQL the budget is the installation's, not the
process's: ``SharedLimiter`` keeps the same lanes but takes each grant from one token
bucket in the database (``bot/store/buckets.py``), where an urgent caller may also take
the last few tokens an ordinary one leaves alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Limiter:
    """At most ``rate * window`` grants in any half-open interval ``[t, t + window)``.

    ``clock`` and ``sleep`` are injectable so tests can run minutes of traffic
    in milliseconds; they must agree (``sleep(d)`` advances ``clock()`` by ``d``).
    """

    def __init__(
        self,
        *,
        rate: float = 25.0,
        window: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or window <= 0:
            raise ValueError("rate and window must be positive")
        self.capacity = max(1, int(rate * window))
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._grants: deque[float] = deque()
        self._hold_until = 0.0
        # asyncio.Lock queues waiters FIFO, which is what makes each lane fair: only
        # the head of a lane ever sleeps on the budget.
        self._lock = asyncio.Lock()
        self._urgent_lock = asyncio.Lock()
        self._urgent_waiting = 0
        self._no_urgent = asyncio.Event()
        self._no_urgent.set()

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait until one more request fits in the budget, then count it. An ``urgent``
        caller is granted before any ordinary caller still waiting."""
        if urgent:
            self._urgent_waiting += 1
            self._no_urgent.clear()
        try:
            async with self._urgent_lock if urgent else self._lock:
                while True:
                    if not urgent and self._urgent_waiting:
                        await self._no_urgent.wait()
                        continue
                    now = self._clock()
                    if now < self._hold_until:
                        await self._sleep(self._hold_until - now)
                        continue
                    wait = await self._take(now, urgent=urgent)
                    if wait <= 0:
                        return
                    # The floor stops float rounding from spinning on zero-length sleeps.
                    await self._sleep(max(wait, 1e-6))
        finally:
            if urgent:
                self._urgent_waiting -= 1
                if not self._urgent_waiting:
                    self._no_urgent.set()

    async def _take(self, now: float, *, urgent: bool) -> float:
        """Count one grant if the budget has room (0.0), else the seconds until it may."""
        self._expire(now)
        if len(self._grants) < self.capacity:
            self._grants.append(now)
            return 0.0
        return self._grants[0] + self.window - now

    def hold(self, seconds: float) -> None:
        """Pause every caller for ``seconds`` (the upstream said it is throttling us).

        Without this only the throttled request would wait while its siblings kept
        hammering the upstream and earned longer throttles.
        """
        if seconds > 0:
            self._hold_until = max(self._hold_until, self._clock() + seconds)

    @property
    def in_window(self) -> int:
        """Grants counted in the current window (for metrics and tests)."""
        self._expire(self._clock())
        return len(self._grants)

    def _expire(self, now: float) -> None:
        grants = self._grants
        while grants and grants[0] + self.window <= now:
            grants.popleft()


class Bucket(Protocol):
    """A request budget several processes share."""

    async def take(self, *, urgent: bool) -> float:
        """Take one token: 0.0 if taken, else the seconds until one may be."""
        ...

    async def hold(self, seconds: float) -> None:
        """Nobody takes a token for ``seconds`` (the upstream is throttling us)."""
        ...


class SharedLimiter(Limiter):
    """``Limiter``'s lanes in this process; the budget itself is ``bucket``'s."""

    def __init__(self, bucket: Bucket, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(clock=clock, sleep=sleep)
        self._bucket = bucket
        self._holds: set[asyncio.Task[None]] = set()

    async def _take(self, now: float, *, urgent: bool) -> float:
        return await self._bucket.take(urgent=urgent)

    def hold(self, seconds: float) -> None:
        super().hold(seconds)
        if seconds > 0:
            # The other processes back off too (best effort; this one already does).
            task = asyncio.get_running_loop().create_task(self._share_hold(seconds))
            self._holds.add(task)
            task.add_done_callback(self._holds.discard)

    async def _share_hold(self, seconds: float) -> None:
        try:
            await self._bucket.hold(seconds)
        except Exception as exc:
            log.warning("could not share a throttle with the other processes: %s",
                        type(exc).__name__)
