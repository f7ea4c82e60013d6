"""A request budget shared by every process on the database (PostgreSQL): one row of
``api_buckets`` per upstream, a token bucket refilled by elapsed time on the database's
clock (the processes' clocks may disagree), taken under the row's lock.

The upstream's rule is a rolling window: at most ``rate * window`` requests in any
``window`` seconds. A bucket that can hold ``burst`` tokens admits ``burst`` plus what it
refills within any window, so it refills at ``(rate * window - burst) / window`` per
second: never more than the window allows, whatever the timing. Ordinary takers leave
the last ``reserve`` tokens to urgent ones (deliveries, token refreshes), so an urgent
request in one process is not stuck behind another process's look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Conn, Database

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

        def take(conn: Conn) -> Taken:
            tokens, updated_at, held_until = self._locked(conn)
            now = float(conn.execute(_NOW).fetchall()[0][0])
            have = min(shape.burst, tokens + max(now - updated_at, 0.0) * shape.refill)
            if now < held_until:
                taken = Taken(None, held_until - now)
            elif have >= need:
                have -= 1.0
                taken = Taken(now, 0.0)
            else:
                taken = Taken(None, (need - have) / shape.refill)
            conn.execute(
                "UPDATE api_buckets SET tokens = ?, updated_at = ? WHERE name = ?",
                (have, max(now, updated_at), self._name),
            )
            return taken

        return await self._db.write(take)

    async def hold(self, seconds: float) -> None:
        await self._db.write(lambda conn: (self._locked(conn), conn.execute(
            "UPDATE api_buckets SET held_until = GREATEST(held_until,"
            " EXTRACT(EPOCH FROM clock_timestamp())::float8 + ?) WHERE name = ?",
            (seconds, self._name))))

    def _locked(self, conn: Conn) -> tuple[float, float, float]:
        """The row, locked until the transaction ends (made full on first use)."""
        sql = ("SELECT tokens, updated_at, held_until FROM api_buckets WHERE name = ?"
               " FOR UPDATE")
        rows = conn.execute(sql, (self._name,)).fetchall()
        if not rows:
            conn.execute(
                f"INSERT INTO api_buckets (name, tokens, updated_at) VALUES (?, ?, ({_NOW}))"  # noqa: S608 - a constant
                " ON CONFLICT DO NOTHING",
                (self._name, self.shape.burst),
            )
            rows = conn.execute(sql, (self._name,)).fetchall()
        row = rows[0]
        return float(row[0]), float(row[1]), float(row[2])
