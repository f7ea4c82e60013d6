"""In-process events between features, so services stay decoupled and Discord-free.

The report flow, moderators and the outbox publish; a service that reacts says which
events it handles (``listens``) and the composition root (``bot.runtime.open_app``)
subscribes it for the life of the app (``EventBus.listen``): there is no other way to
subscribe. Handlers run in the publisher's task, one after another;
a failing handler is logged and does not stop the others (the database, not
the event, is the source of truth: a missed event only delays a refresh).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Event:
    kind: EventKind
    report_id: int | None = None
    destination: str | None = None


Handler = Callable[[Event], Awaitable[None]]
Listening = Mapping[EventKind, Handler]


class Listener(Protocol):
    def listens(self) -> Listening:
        """The events this service reacts to, each with its handler."""
        ...


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[EventKind, list[Handler]] = {kind: [] for kind in EventKind}

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
        for handler in list(self._handlers[event.kind]):
            try:
                await handler(event)
            except Exception:
                log.exception("event handler for %s failed", event.kind)
