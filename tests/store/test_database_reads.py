"""Reads on the shared reader connection must see every commit made before them, even
while other coroutines are reading at the same moment."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Database


async def test_a_read_right_after_a_commit_sees_it_despite_concurrent_reads(
    store_location: Path | str,
) -> None:
    db = await Database.open(store_location)
    try:
        await db.execute_many(
            "INSERT INTO kv_state (key, value, updated_at) VALUES (?, '1', 0)",
            [(f"seed{i}",) for i in range(20)],
        )
        missing: list[str] = []

        async def write_then_read(i: int) -> None:
            key = f"k{i}"
            await db.execute(
                "INSERT INTO kv_state (key, value, updated_at) VALUES (?, '1', 0)", (key,)
            )
            if await db.fetch_one("SELECT key FROM kv_state WHERE key = ?", (key,)) is None:
                missing.append(key)

        async def browse() -> None:
            for _ in range(40):
                # A multi-row query of which only the first row is wanted.
                await db.fetch_one("SELECT key FROM kv_state ORDER BY key")

        await asyncio.gather(*(write_then_read(i) for i in range(60)),
                             *(browse() for _ in range(6)))
        assert missing == []
    finally:
        await db.close()
