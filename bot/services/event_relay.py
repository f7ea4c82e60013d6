"""Events across processes: the ``Relay`` of an ``EventBus`` over a database channel
(PostgreSQL's LISTEN/NOTIFY, ``bot/store/event_channel.py``).

Each event travels as a small JSON object: its kind, report id, destination and the
publishing process (``origin``), so each process skips what it published itself. A
payload it cannot read (a newer Warden's kind during a rolling upgrade) is logged once
and skipped; the database still holds the truth.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from bot.services.events import Event, EventKind
from bot.store.database import EventChannel

log = logging.getLogger(__name__)


def encode(event: Event, origin: str) -> str:
    return json.dumps({"k": event.kind.value, "r": event.report_id, "d": event.destination,
                       "o": origin}, separators=(",", ":"))


def decode(payload: str) -> Event:
    """Raises ``ValueError`` (or ``KeyError``/``TypeError``) for a payload it cannot read."""
    data = json.loads(payload)
    report_id = data["r"]
    return Event(EventKind(data["k"]), None if report_id is None else int(report_id),
                 data["d"], origin=str(data["o"]))


class EventRelay:
    def __init__(self, channel: EventChannel, origin: str) -> None:
        """``origin``: this process, unique among those running (a restart gets a new
        one)."""
        self._channel = channel
        self.origin = origin
        self._unreadable_logged = False

    async def send(self, event: Event) -> None:
        try:
            await self._channel.notify(encode(event, self.origin))
        except Exception as exc:  # the others catch up from the database
            log.warning("event relay: could not tell the other processes about %s of "
                        "report %s: %s", event.kind.value, event.report_id,
                        type(exc).__name__)

    async def incoming(self) -> AsyncIterator[Event]:
        async for payload in self._channel.listen():
            if payload is None:
                yield Event(EventKind.EVENTS_MISSED)
                continue
            try:
                event = decode(payload)
            except (ValueError, KeyError, TypeError):
                if not self._unreadable_logged:
                    self._unreadable_logged = True
                    log.warning("event relay: skipped a message it cannot read: %.200r",
                                payload)
                continue
            if event.origin != self.origin and event.kind is not EventKind.EVENTS_MISSED:
                yield event

    async def close(self) -> None:
        await self._channel.close()
