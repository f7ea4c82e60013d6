"""Events across processes (PostgreSQL LISTEN/NOTIFY): each bus below has its own
database connections, as a separate process would, on one real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import psycopg
import pytest

from bot.services.event_relay import EventRelay, decode
from bot.services.events import Event, EventBus, EventKind, Listening
from bot.store import Database
from bot.store.event_channel import LISTENER_NAME


@dataclass
class Heard:
    events: list[Event] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def listens(self) -> Listening:
        async def note(event: Event) -> None:
            self.events.append(event)
            self.changed.set()

        return {kind: note for kind in EventKind}

    async def until(self, count: int) -> list[Event]:
        async with asyncio.timeout(15.0):
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.events


@dataclass
class Process:
    db: Database
    bus: EventBus
    heard: Heard


@pytest.fixture
async def processes(postgres_url: str) -> AsyncIterator[list[Process]]:
    made: list[Process] = []
    for name in ("a", "b"):
        db = await Database.open(postgres_url)
        channel = db.event_channel()
        assert channel is not None
        bus = EventBus(EventRelay(channel, f"host-{name}#run"))
        heard = Heard()
        bus.listen(heard)
        bus.start()
        made.append(Process(db, bus, heard))
    await _listening(postgres_url, 2)
    yield made
    for p in made:
        await p.bus.close()
        await p.db.close()


async def _listening(url: str, count: int) -> None:
    """Until ``count`` relay connections have said LISTEN (before that, NOTIFYs are lost)."""
    async with asyncio.timeout(15.0):
        while True:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                rows = await (await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                    " AND query LIKE 'LISTEN%%'", (LISTENER_NAME,))).fetchall()
            if rows[0][0] >= count:
                return
            await asyncio.sleep(0.05)


async def test_an_event_published_in_one_process_is_handled_in_the_other_once(
    processes: list[Process],
) -> None:
    a, b = processes
    await a.bus.publish(Event(EventKind.DELIVERY_CHANGED, 42, "sanctions"))
    (got,) = await b.heard.until(1)
    assert (got.kind, got.report_id, got.destination) == (EventKind.DELIVERY_CHANGED, 42,
                                                           "sanctions")
    assert got.remote and got.origin == "host-a#run"
    # The publisher handled it itself, locally, and once: its own NOTIFY is skipped.
    await b.bus.publish(Event(EventKind.REPORT_ACCEPTED, 7))
    await a.heard.until(2)
    assert [(e.kind, e.report_id, e.remote) for e in a.heard.events] == [
        (EventKind.DELIVERY_CHANGED, 42, False), (EventKind.REPORT_ACCEPTED, 7, True)]
    assert [(e.kind, e.remote) for e in b.heard.events] == [
        (EventKind.DELIVERY_CHANGED, True), (EventKind.REPORT_ACCEPTED, False)]


async def test_a_dropped_listening_connection_comes_back_and_says_events_were_missed(
    processes: list[Process], postgres_url: str,
) -> None:
    a, b = processes
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s", (LISTENER_NAME,))
    # Each process hears that it may have missed some, and then hears the others again.
    missed = await b.heard.until(1)
    assert missed[0].kind is EventKind.EVENTS_MISSED
    await a.heard.until(1)
    await _listening(postgres_url, 2)
    await a.bus.publish(Event(EventKind.DELIVERIES_QUEUED, 9))
    events = await b.heard.until(2)
    assert (events[1].kind, events[1].report_id, events[1].remote) == (
        EventKind.DELIVERIES_QUEUED, 9, True)


async def test_sqlite_has_no_relay_and_the_bus_stays_in_process(tmp_path: object) -> None:
    db = await Database.open(":memory:")
    try:
        assert db.event_channel() is None
    finally:
        await db.close()


class _Recorded:
    """A channel that only records what is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def notify(self, payload: str) -> None:
        self.sent.append(payload)

    async def listen(self) -> AsyncIterator[str | None]:
        return
        yield

    async def close(self) -> None:
        pass


async def test_events_published_within_the_gathering_time_leave_in_one_message() -> None:
    channel = _Recorded()
    relay = EventRelay(channel, "me")
    # One report's events: accepted, queued, then each delivery a little later.
    await relay.send(Event(EventKind.REPORT_ACCEPTED, 1))
    await relay.send(Event(EventKind.DELIVERIES_QUEUED, 1))
    await asyncio.sleep(0.005)
    await relay.send(Event(EventKind.DELIVERY_CHANGED, 1, "bungie"))
    await relay.send(Event(EventKind.DELIVERY_CHANGED, 1, "sanctions"))
    await relay.close()  # lets the queued message leave
    assert len(channel.sent) == 1
    assert [e.kind for e in decode(channel.sent[0])] == [
        EventKind.REPORT_ACCEPTED, EventKind.DELIVERIES_QUEUED, EventKind.DELIVERY_CHANGED,
        EventKind.DELIVERY_CHANGED]
