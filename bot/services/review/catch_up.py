"""Posting a server's missing review posts: every one, oldest first, paced.

Reports whose review post was never made (a stop fell between acceptance and the post,
or the channel was broken for a while) can number in the thousands. Discord lets a bot
post about 5 messages per 5 seconds in one channel, so they are posted one every
``REVIEW_CATCH_UP_INTERVAL_SECONDS`` (default 1.25 s: under that limit, with room left
for the posts of new reports). Each post is recorded as it is made, so a stop part-way
loses nothing: the next start (or ``/warden setup``) carries on from the oldest one
still missing. One catch-up runs per server at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.store import Store

log = logging.getLogger(__name__)

BATCH = 25
"""Reports read from the database at a time."""


class CatchUp:
    def __init__(
        self,
        store: Store,
        post: Callable[[int], Awaitable[bool]],
        *,
        interval: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._post = post
        self._interval = interval
        self._sleep = sleep
        self._running: dict[int, asyncio.Task[int]] = {}

    def start(self, guild_id: int) -> asyncio.Task[int]:
        """The server's catch-up task (the one already running, if any)."""
        task = self._running.get(guild_id)
        if task is None or task.done():
            task = asyncio.create_task(self._run(guild_id), name=f"review-catch-up-{guild_id}")
            self._running[guild_id] = task
        return task

    async def close(self) -> None:
        """Stop every catch-up; what is not posted yet is posted at the next start."""
        tasks = [t for t in self._running.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()

    async def _run(self, guild_id: int) -> int:
        posted = 0
        after = 0
        while True:
            waiting = await self._store.reports.without_review_post(
                guild_id, after_id=after, limit=BATCH)
            if not waiting:
                return posted
            for report in waiting:
                if posted:
                    await self._sleep(self._interval)
                if not await self._post(report.id):
                    # The channel refused (the problem is kept for /warden setup, which
                    # starts the catch-up again once it is fixed).
                    log.info("review catch-up in server %s stopped after %d post(s)",
                             guild_id, posted)
                    return posted
                posted += 1
                after = report.id
