"""A write cancelled at any moment (shutdown cancels delivery attempts after the grace)
must leave the writer connection usable and the data consistent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Database, Store


async def test_cancelling_a_write_at_any_point_leaves_the_writer_usable(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "warden.db")
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
    assert not db.writer.in_transaction
    # A cancelled write either happened completely or not at all.
    for i in range(60):
        assert await store.kv.get(f"key{i}") in (None, i)
    await db.close()
