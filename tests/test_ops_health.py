"""The health check's database write probe when the writer is stuck behind a lock."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.metrics import WardenMetrics
from bot.services.health import HealthService
from bot.store import Database, Store


async def test_a_write_lock_held_elsewhere_makes_the_check_unhealthy_quickly(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "warden.db")
    store = Store(db)
    health = HealthService(store=store, metrics=WardenMetrics(), ready=lambda: True,
                           destinations=["sanctions"], probe_timeout=0.2)
    assert (await health.check()).healthy

    # Another process (a stray sqlite3 shell, a long migration) holds the write lock.
    other = sqlite3.connect(tmp_path / "warden.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = await health.check()
        second = await health.check()
        elapsed = loop.time() - started
        assert not first.healthy and not first.database_writable
        assert first.database_error == "no write completed within 0.2s"
        assert not second.database_writable
        # Answered within the probe timeouts, not SQLite's 5 s busy wait.
        assert elapsed < 1.5
        # The second check waited on the same stuck probe instead of queueing another.
        stuck = [t for t in asyncio.all_tasks() if t.get_name() == "warden-write-probe"]
        assert len(stuck) == 1
    finally:
        other.execute("ROLLBACK")
        other.close()

    for _ in range(50):  # the stuck probe finishes once the lock is gone
        if (await health.check()).healthy:
            break
        await asyncio.sleep(0.05)
    recovered = await health.check()
    assert recovered.healthy and recovered.last_success == {"sanctions": None}
    await db.close()
