"""Reporter blocks on both engines: a new block replaces the old one, lifted or not."""

from __future__ import annotations

import time
from pathlib import Path

from bot.store import Database, Store


async def test_block_lift_and_block_again(store_location: Path | str) -> None:
    db = await Database.open(store_location)
    try:
        blocks = Store(db).blocks
        now = time.time()
        await blocks.block(10, 20, until=now + 3600, reason="spam", blocked_by=7, case_id=None)
        first = await blocks.active(10, 20, now)
        assert first is not None and first.reason == "spam"
        assert await blocks.lift(10, 20, lifted_by=8)
        assert await blocks.active(10, 20, time.time()) is None
        assert not await blocks.lift(10, 20, lifted_by=8)  # nothing left to lift

        await blocks.block(10, 20, until=now + 7200, reason="again", blocked_by=9, case_id=3)
        again = await blocks.active(10, 20, time.time())
        assert again is not None and (again.reason, again.blocked_by, again.case_id) == (
            "again", 9, 3)
        assert [b.member_id for b in await blocks.all_active(10, time.time())] == [20]
    finally:
        await db.close()
