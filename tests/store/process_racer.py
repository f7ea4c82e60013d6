"""A separate OS process that confirms drafts on PostgreSQL at a signal (for
``test_processes.py``): ``race`` runs in a child started with multiprocessing."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.domain import ReportLimits
from bot.store import Database, Store
from bot.store.reports import Accepted, LimitHit


def race(url: str, draft_ids: list[int], reporter: int, limits: ReportLimits,
         start: Any, results: Any) -> None:
    """Open its own connections, wait for every racer at ``start`` (a barrier), confirm
    ``draft_ids`` at once, and put ``(draft id, "accepted" | "limited" | other)`` pairs
    on ``results``."""
    asyncio.run(_race(url, draft_ids, reporter, limits, start, results))


async def _race(url: str, draft_ids: list[int], reporter: int, limits: ReportLimits,
                start: Any, results: Any) -> None:
    db = await Database.open(url, migrate=False)
    try:
        store = Store(db)
        await asyncio.to_thread(start.wait)
        outcomes = await asyncio.gather(*(
            store.reports.accept(draft_id, limits=limits, deliveries=[("sanctions", "pending")],
                                 actor_id=reporter, now=1000.0)
            for draft_id in draft_ids
        ), return_exceptions=True)
        for draft_id, outcome in zip(draft_ids, outcomes, strict=True):
            kind = ("accepted" if isinstance(outcome, Accepted)
                    else "limited" if isinstance(outcome, LimitHit) else repr(outcome)[:200])
            results.put((draft_id, kind))
    finally:
        await db.close()
