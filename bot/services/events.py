"""In-process events between features, so services stay decoupled and Discord-free.

The report flow, moderators and the outbox publish; a service that reacts says which
events it handles (``listens``) and the composition root (``bot.runtime.open_app``)
subscribes it for the life of the app (``EventBus.listen``): there is no other way to
subscribe. Handlers run in the publisher's task, one after another;
a failing handler is logged and does not stop the others (the database, not
the event, is the source of truth: a missed event only delays a refresh).

With several processes on one PostgreSQL database the bus has a ``Relay``
(``bot.services.event_relay``): what is published here is also sent to the other
processes, and theirs are handed to this process's handlers with ``origin`` set. When
the relay may have missed some (its connection dropped), the handlers get
``EVENTS_MISSED`` and look at the database again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    REPORT_ACCEPTED = "report_accepted"
    """A report was confirmed and stored with its delivery rows."""
    REPORT_CHANGED = "report_changed"
    """A moderator changed a report's state (claim, approve, dismiss, note)."""
    DELIVERY_CHANGED = "delivery_changed"
    """A delivery reached a new state (sent, handed off, failed, retry scheduled)."""
    DELIVERIES_QUEUED = "deliveries_queued"
    """Rows became pending (approval, retry): the outbox should look now."""
    EVENTS_MISSED = "events_missed"
    """Another process's events may have been lost (the relay reconnected): whatever
    waits on them looks at the database again. Never relayed."""


@dataclass(frozen=True)
class Event:
    kind: EventKind
    report_id: int | None = None
    destination: str | None = None
    origin: str | None = None
    """The process that published it; None for this one."""
    guild_id: int | None = field(default=None, compare=False)
    """The report's server, when the publisher has it at hand (a process that does not
    run that server's shard can then skip what it would have to read first)."""

    @property
    def remote(self) -> bool:
        return self.origin is not None


Handler = Callable[[Event], Awaitable[None]]
Listening = Mapping[EventKind, Handler]


class Listener(Protocol):
    def listens(self) -> Listening:
        """The events this service reacts to, each with its handler."""
        ...


class Relay(Protocol):
    async def send(self, event: Event) -> None:
        """Tell the other processes soon (best effort: a failure is logged, not raised)."""
        ...

    def incoming(self) -> AsyncIterator[Event]:
        """The other processes' events, and ``EVENTS_MISSED`` after a gap, until closed."""
        ...


class EventBus:
    def __init__(self, relay: Relay | None = None) -> None:
        self._handlers: dict[EventKind, list[Handler]] = {kind: [] for kind in EventKind}
        self._relay = relay
        self._following: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin handing the other processes' events to the handlers here."""
        if self._relay is not None and self._following is None:
            self._following = asyncio.create_task(self._follow(self._relay),
                                                  name="event-relay")

    async def close(self) -> None:
        if self._following is not None:
            self._following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._following
            self._following = None

    async def _follow(self, relay: Relay) -> None:
        async for event in relay.incoming():
            await self._dispatch(event)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Subscribe ``listener``'s handlers; returns what unsubscribes them."""
        wanted = dict(listener.listens())
        for kind, handler in wanted.items():
            self._handlers[kind].append(handler)

        def stop() -> None:
            for kind, handler in wanted.items():
                if handler in self._handlers[kind]:
                    self._handlers[kind].remove(handler)

        return stop

    async def publish(self, event: Event) -> None:
        # Queued for the others first (it does not wait): some local handlers wait for
        # Discord (a moderator's review-post edit).
        if self._relay is not None and event.kind is not EventKind.EVENTS_MISSED:
            await self._relay.send(event)
        await self._dispatch(event)

    async def _dispatch(self, event: Event) -> None:
        for handler in list(self._handlers[event.kind]):
            try:
                await handler(event)
            except Exception:
                log.exception("event handler for %s failed", event.kind)
