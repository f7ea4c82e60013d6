"""A request budget shared by every process on the database (PostgreSQL): one row of
``api_buckets`` per upstream, a token bucket refilled by elapsed time on the database's
clock (the processes' clocks may disagree), taken in one statement under the row's lock.

The upstream's rule is a rolling window: at most ``rate * window`` requests in any
``window`` seconds. A bucket that can hold ``burst`` tokens admits ``burst`` plus what it
refills within any window, so it refills at ``(rate * window - burst) / window`` per
second: never more than the window allows, whatever the timing. Ordinary takers leave
the last ``reserve`` tokens to urgent ones (deliveries, token refreshes), so an urgent
request in one process is not stuck behind another process's look-ups.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bot.store.database import Database

_NOW = "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8"


@dataclass(frozen=True)
class Taken:
    granted_at: float | None
    """The database's time of the grant; None when none was granted."""
    wait: float
    """Seconds until one may be (0 when granted)."""


@dataclass(frozen=True)
class BucketShape:
    rate: float
    window: float

    @property
    def burst(self) -> float:
        return max(1.0, self.rate * self.window / 50)

    @property
    def refill(self) -> float:
        return (self.rate * self.window - self.burst) / self.window

    @property
    def reserve(self) -> float:
        return self.burst / 2 if self.burst >= 2 else 0.0


class ApiBucket:
    def __init__(self, db: Database, name: str, *, rate: float, window: float = 10.0) -> None:
        if rate <= 0 or window <= 0 or rate * window < 1:
            raise ValueError("rate and window must allow at least one request")
        self._db = db
        self._name = name
        self.shape = BucketShape(rate, window)

    async def take(self, *, urgent: bool) -> float:
        return (await self.take_one(urgent=urgent)).wait

    async def take_one(self, *, urgent: bool) -> Taken:
        shape = self.shape
        need = 1.0 if urgent else 1.0 + shape.reserve
        ticket = uuid.uuid4().hex
        # One statement, so one round trip: UPDATE locks the row and computes from its
        # newest version. The clock is read before the lock, so a taker that waited
        # refills from a moment that may already be past (never more than is due).
        have = "LEAST(?, b.tokens + GREATEST(c.t - b.updated_at, 0) * ?)"
        grant = f"(c.t >= b.held_until AND {have} >= ?)"
        sql = (
            f"UPDATE api_buckets AS b SET tokens = {have} - CASE WHEN {grant} THEN 1 ELSE 0"  # noqa: S608 - fixed text
            f" END, taker = CASE WHEN {grant} THEN ? ELSE b.taker END,"
            " updated_at = GREATEST(b.updated_at, c.t)"
            f" FROM ({_NOW} AS t) AS c WHERE b.name = ?"
            " RETURNING b.taker, b.tokens, b.held_until, c.t"
        )
        params = (shape.burst, shape.refill,
                  shape.burst, shape.refill, need,
                  shape.burst, shape.refill, need, ticket,
                  self._name)
        rows = await self._db.execute_returning(sql, params)
        if not rows:
            await self._create()
            rows = await self._db.execute_returning(sql, params)
        taker, tokens, held_until, now = rows[0]
        if taker == ticket:
            return Taken(float(now), 0.0)
        if float(now) < float(held_until):
            return Taken(None, float(held_until) - float(now))
        return Taken(None, max(need - float(tokens), 0.01) / shape.refill)

    async def _create(self) -> None:
        await self._db.execute(
            f"INSERT INTO api_buckets (name, tokens, updated_at) VALUES (?, ?, ({_NOW}))"  # noqa: S608 - a constant
            " ON CONFLICT DO NOTHING",
            (self._name, self.shape.burst),
        )

    async def hold(self, seconds: float) -> None:
        sql = ("UPDATE api_buckets SET held_until = GREATEST(held_until,"
               " EXTRACT(EPOCH FROM clock_timestamp())::float8 + ?) WHERE name = ?")
        if not await self._db.execute(sql, (seconds, self._name)):
            await self._create()
            await self._db.execute(sql, (seconds, self._name))
