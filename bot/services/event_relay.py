"""Events across processes: the ``Relay`` of an ``EventBus`` over a database channel
(PostgreSQL's LISTEN/NOTIFY, ``bot/store/event_channel.py``).

Events travel as small JSON messages: the publishing process (``origin``, so a process
skips what it published itself) and a list of events (kind, report id, destination, server).
``send`` only queues: whatever is published while a message is on its way goes in the
next one, so a busy process sends a few messages, not one round trip per event. A
message it cannot read (a newer Warden's kind during a rolling upgrade) is logged once
and skipped; the database still holds the truth.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from bot.services.events import Event, EventKind
from bot.store.database import EventChannel

log = logging.getLogger(__name__)

RELAYED = frozenset({EventKind.REPORT_ACCEPTED, EventKind.DELIVERY_CHANGED,
                     EventKind.DELIVERIES_QUEUED})
"""What the other processes act on: live replies and review posts follow deliveries and
new reports, idle outboxes wake for queued rows. A moderator's change (``REPORT_CHANGED``)
is shown by the process that answers the moderator."""
BATCH = 100
"""Events per message at most (PostgreSQL takes payloads under 8,000 bytes)."""
CLOSE_GRACE = 2.0
"""Seconds ``close`` gives the last queued events to leave."""
GATHER_SECONDS = 0.02
"""How long the first queued event waits for others before its message leaves: one report
publishes a few events within milliseconds (accepted, queued, each delivery), and each
message costs a round trip here and a wake-up in every listening process, this one's too."""


def encode(events: list[Event], origin: str) -> str:
    return json.dumps({"o": origin, "e": [[e.kind.value, e.report_id, e.destination,
                                           e.guild_id] for e in events]},
                      separators=(",", ":"))


def decode(payload: str) -> list[Event]:
    """Raises ``ValueError`` (or ``KeyError``/``TypeError``) for a payload it cannot read."""
    data = json.loads(payload)
    origin = str(data["o"])
    return [Event(EventKind(kind), None if report_id is None else int(report_id),
                  destination, origin=origin, guild_id=None if guild_id is None else int(guild_id))
            for kind, report_id, destination, guild_id in data["e"]]


class EventRelay:
    def __init__(self, channel: EventChannel, origin: str) -> None:
        """``origin``: this process, unique among those running (a restart gets a new
        one)."""
        self._channel = channel
        self.origin = origin
        self._queued: list[Event] = []
        self._sending: asyncio.Task[None] | None = None
        self._unreadable_logged = False

    async def send(self, event: Event) -> None:
        if event.kind not in RELAYED:
            return
        self._queued.append(event)
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send_queued(), name="event-relay-send")

    async def _send_queued(self) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        while self._queued:
            batch, self._queued = self._queued[:BATCH], self._queued[BATCH:]
            try:
                await self._channel.notify(encode(batch, self.origin))
            except Exception as exc:  # the others catch up from the database
                log.warning("event relay: could not tell the other processes about %d "
                            "event(s): %s", len(batch), type(exc).__name__)

    async def incoming(self) -> AsyncIterator[Event]:
        async for payload in self._channel.listen():
            if payload is None:
                yield Event(EventKind.EVENTS_MISSED)
                continue
            try:
                events = decode(payload)
            except (ValueError, KeyError, TypeError):
                if not self._unreadable_logged:
                    self._unreadable_logged = True
                    log.warning("event relay: skipped a message it cannot read: %.200r",
                                payload)
                continue
            for event in events:
                if event.origin != self.origin and event.kind in RELAYED:
                    yield event

    async def close(self) -> None:
        if self._sending is not None and not self._sending.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._sending), CLOSE_GRACE)
            except TimeoutError:
                self._sending.cancel()
        await self._channel.close()
