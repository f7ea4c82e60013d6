"""The audit chain's head, posted once a day to each server's chosen log channel.

A copy of the head outside the database is what shows rows cut from the end of the
chain (see ``bot.services.audit.anchor``); a Discord channel keeps such copies where the
database's owner cannot quietly rewrite them. The chain is Warden's, not one server's,
so every server that chose a channel gets the same head.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from bot.services.audit.anchor import ChainHead
from bot.store import Store
from bot.store.audit import ChainCheck

log = logging.getLogger(__name__)

EVERY = 86400.0
LOOK_EVERY = 3600.0
"""How often the task looks for servers due a post (a failed post is tried again then)."""


def posted_key(guild_id: int) -> str:
    return f"audit.head_posted.{guild_id}"


class ChannelPoster(Protocol):
    async def post_text(self, channel_id: int, text: str) -> str | None:
        """Post ``text``; None when posted, else why not (one line)."""
        ...


def head_text(check: ChainCheck, now: float) -> str:
    if not check.ok:
        return (f"⚠️ **Audit chain broken** at row {check.first_broken_id}: {check.problem} "
                f"({check.rows_checked} row(s) before it verified). Tell Warden's operator: "
                "`python -m bot audit verify` names it.")
    head = ChainHead.of(check, at=now)
    return (f"Audit chain head: row {head.rows}, hash `{head.hash}` (verified {head.when}).\n"
            "Warden's operator can check the chain still holds it with `python -m bot audit "
            f'verify --anchor FILE`, FILE holding {{"rows": {head.rows}, "hash": '
            f'"{head.hash}", "at": {int(head.at)}}}.')


class AuditHeadPoster:
    def __init__(self, store: Store, poster: ChannelPoster, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._poster = poster
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def post_due(self) -> int:
        """Post the head to every server whose last post is a day old (or that never had
        one); returns how many were posted."""
        now = self._clock()
        due = []
        for guild in await self._store.guilds.with_audit_channel():
            last = await self._store.kv.get(posted_key(guild.guild_id))
            if not isinstance(last, dict) or now - float(last.get("at", 0)) >= EVERY:
                due.append(guild)
        if not due:
            return 0
        check = await self._store.audit.verify()
        text = head_text(check, now)
        posted = 0
        for guild in due:
            channel_id = guild.audit_channel_id
            if channel_id is None:  # with_audit_channel returns only servers with one
                continue
            problem = await self._poster.post_text(channel_id, text)
            if problem is not None:
                log.warning("could not post the audit chain head in server %s: %s",
                            guild.guild_id, problem)
                continue
            await self._store.kv.set(posted_key(guild.guild_id), {
                "at": now, "channel_id": channel_id,
                "rows": check.rows_checked, "hash": check.head_hash})
            posted += 1
        return posted

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.post_due()
            except Exception:
                log.exception("could not post the audit chain head")
            await asyncio.sleep(LOOK_EVERY)
