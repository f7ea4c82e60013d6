"""PostgreSQL's LISTEN/NOTIFY as a channel of short text messages between processes.

Sending uses its own connection (a NOTIFY outside any transaction is delivered at once);
listening holds another one, which PostgreSQL pushes notifications to. A dropped listening
connection is opened again (backing off up to ``MAX_BACKOFF``); what was sent meanwhile
is lost, so the listener is told with a ``None`` in the stream and looks at the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "warden_events"
MAX_BACKOFF = 5.0
CONNECT_TIMEOUT = 5
LISTENER_NAME = "warden-events"
"""The listening connection's ``application_name`` (visible in ``pg_stat_activity``)."""


class PgEventChannel:
    def __init__(self, url: str) -> None:
        self._url = url
        self._sender: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._sender_pid = 0
        self._sending = asyncio.Lock()
        self._listener: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._closed = False

    async def notify(self, payload: str) -> None:
        """Send ``payload`` to every listener (this process's too); one reconnect on a
        dropped connection, then the error is the caller's."""
        async with self._sending:
            for attempt in (1, 2):
                try:
                    if self._sender is None or self._sender.closed:
                        self._sender = await psycopg.AsyncConnection.connect(
                            self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
                        self._sender_pid = self._sender.info.backend_pid
                    await self._sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    return
                except psycopg.OperationalError:
                    await self._drop_sender()
                    if attempt == 2:
                        raise

    async def _drop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            try:
                await sender.close()
            except psycopg.Error:
                pass

    async def listen(self) -> AsyncIterator[str | None]:
        """Every payload the other processes send on the channel from now on (this one's
        are skipped); ``None`` after a reconnect (payloads sent while the connection was
        down are lost)."""
        backoff = 0.1
        first = True
        while not self._closed:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                    application_name=LISTENER_NAME)
            except psycopg.OperationalError as exc:
                log.warning("event relay: cannot connect to listen (%s); again in %.1fs",
                            _first_line(exc), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            self._listener = conn
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                if not first:
                    log.info("event relay: listening again")
                    yield None
                first = False
                backoff = 0.1
                async for note in conn.notifies():
                    if self._sender is not None and note.pid == self._sender_pid:
                        continue  # this process's own: it handled those itself
                    yield note.payload
            except psycopg.OperationalError as exc:
                if self._closed:
                    return
                log.warning("event relay: the listening connection dropped (%s)",
                            _first_line(exc))
            finally:
                self._listener = None
                try:
                    await conn.close()
                except psycopg.Error:
                    pass

    async def close(self) -> None:
        self._closed = True
        await self._drop_sender()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
