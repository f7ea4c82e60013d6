"""A write cancelled at any moment (shutdown cancels delivery attempts after the grace)
must leave the writer connection usable and the data consistent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Database, Store


async def test_cancelling_a_write_at_any_point_leaves_the_writer_usable(
        store_location: Path | str) -> None:
    # Both engines: on PostgreSQL the job runs on the lane's own thread, which sets the
    # result through the loop; a cancelled caller's future is skipped, its job is not.
    db = await Database.open(store_location)
    store = Store(db)
    committed = 0
    for i in range(60):
        # Cancel after a varying number of loop turns: before the write is queued, while
        # it waits in the writer thread's queue or runs there, or while its result is on
        # the way back to the loop.
        task = asyncio.create_task(store.kv.set(f"key{i}", i))
        for _ in range(i % 6):
            await asyncio.sleep(0)
        task.cancel()
        try:
            await task
            committed += 1
        except asyncio.CancelledError:
            pass
        # Before the fix, a cancel during BEGIN left a transaction open on the writer and
        # every later write failed with "cannot start a transaction within a transaction".
        await store.kv.set("after", i)
        assert await store.kv.get("after") == i
    if db.backend == "sqlite":
        assert not db.writer.in_transaction
    else:
        from psycopg import pq

        from bot.store.postgres import PostgresDatabase

        assert isinstance(db, PostgresDatabase)
        lane = db._write_lane
        assert lane is not None
        status = await lane.run(lambda conn: conn.raw.info.transaction_status)
        assert status is pq.TransactionStatus.IDLE
    # A cancelled write either happened completely or not at all.
    for i in range(60):
        assert await store.kv.get(f"key{i}") in (None, i)
    await db.close()
