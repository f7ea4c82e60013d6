"""The delivery worker: sends every pending delivery row, exactly once, eventually.

One worker per process. On start it returns rows a crash left ``in_flight`` to
pending (``recover_in_flight``); then it loops over due rows, running up to
``concurrency`` deliveries at once, each claimed with the store's conditional
``start_attempt`` so no row is ever worked on twice at the same time. A sender
turns one attempt into an outcome; the worker records it (final, or retried later
with backoff or the upstream's wait hint, until a bound turns it into ``failed``)
and publishes ``DELIVERY_CHANGED``.

Every error text written to a row starts with ``not sent:`` (the upstream certainly
did not act) or ``may have landed:``. A row retried after anything but ``not
sent:`` is reconciled with the upstream before it is sent again, which is what
makes a crash between sending and recording harmless.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain import Delivery, DeliveryStatus, Report
from bot.i18n import Text, t
from bot.log_context import bind_log_ids
from bot.metrics import WardenMetrics
from bot.services.events import Event, EventBus, EventKind, Listening
from bot.store import Store

log = logging.getLogger(__name__)

REMOTE_WAKE_DELAY = 0.5
"""Seconds before rows another process queued are looked at here: that process sends its
own at once, and this one takes what it leaves (when it is busy, or gone), with one look
for a burst instead of a race for every row."""
NOT_SENT = "not sent: "
MAY_HAVE_LANDED = "may have landed: "


# Every error is a message (moderators and reporters read it in their language) whose
# English starts with one of the prefixes above, which the delivery logic tests.
def not_sent(detail: str) -> Text:
    """A certain "did not reach the upstream" error: ``detail`` (a message, or the
    upstream's own words) says why."""
    # i18n: a delivery's error on the review post; {detail} says why. The English must
    # start with these exact words ("not sent:"), the translations need not.
    return t("not sent: {detail}", detail=detail)


def may_have_landed(detail: str) -> Text:
    """An error after which the upstream may have acted: ``detail`` says what happened."""
    # i18n: a delivery's error on the review post; {detail} says what happened. The English
    # must start with these exact words ("may have landed:"), the translations need not.
    return t("may have landed: {detail}", detail=detail)


# ---- what a sender reports back ----------------------------------------------------

@dataclass(frozen=True)
class Sent:
    upstream_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HandedOff:
    url: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """Try again later. ``error``: ``not_sent(...)`` or ``may_have_landed(...)``."""

    error: str
    after: float | None = None
    """The upstream's wait hint in seconds; None to back off by the policy."""


@dataclass(frozen=True)
class Failed:
    """Give up for good; ``error`` is for a moderator to read: ``not_sent(...)`` or
    ``may_have_landed(...)``, a message so that it is read in the reader's language."""

    error: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    reason: str
    """Why, as a message (``t(...)``)."""


Outcome = Sent | HandedOff | Retry | Failed | Skipped
_FINAL_STATUS: dict[type, DeliveryStatus] = {
    Sent: DeliveryStatus.SENT, HandedOff: DeliveryStatus.HANDED_OFF,
    Failed: DeliveryStatus.FAILED, Skipped: DeliveryStatus.SKIPPED,
}


@dataclass(frozen=True)
class Attempt:
    report: Report
    delivery: Delivery
    """The claimed row; ``attempts`` already counts this attempt."""

    @property
    def number(self) -> int:
        return self.delivery.attempts

    @property
    def earlier_may_have_landed(self) -> bool:
        """Whether an earlier attempt may have reached the upstream unrecorded.

        A fresh row has no error; a row whose last settled attempt certainly did not
        reach the upstream says ``not sent:``; anything else (an ambiguous answer, an
        attempt interrupted by a crash) may have landed.
        """
        error = self.delivery.last_error
        if error is None:
            return self.delivery.attempts > 1
        return not error.startswith(NOT_SENT)


class Sender(Protocol):
    @property
    def destination(self) -> str: ...

    async def deliver(self, attempt: Attempt) -> Outcome: ...


# ---- policy ------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxPolicy:
    concurrency: int = 8
    max_attempts: int = 8
    base_delay: float = 5.0
    max_delay: float = 900.0
    give_up_after: float = 24 * 3600.0
    """Seconds after the row was written; past this a retry becomes ``failed``."""
    idle_poll: float = 30.0
    """Longest sleep with nothing due; events wake the worker sooner."""
    shutdown_grace: float = 5.0
    lease_sweep: float = 60.0
    """How often a running worker returns attempts whose claim's lease ran out (a
    process that died while another one runs on) to pending."""

    def backoff(self, attempt: int) -> float:
        """Exponential with full jitter; at least half the base delay."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return random.uniform(self.base_delay / 2, max(ceiling, self.base_delay / 2))


# ---- the worker ------------------------------------------------------------------------

class OutboxWorker:
    def __init__(
        self,
        *,
        store: Store,
        events: EventBus,
        senders: Sequence[Sender],
        policy: OutboxPolicy = OutboxPolicy(),
        clock: Callable[[], float] = time.time,
        metrics: WardenMetrics,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._events = events
        self._senders = {s.destination: s for s in senders}
        self._policy = policy
        self._clock = clock
        self._wake = asyncio.Event()
        self._remote_wake: asyncio.TimerHandle | None = None
        self._running: dict[tuple[int, str], asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_sweep = 0.0

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        if self._loop_task is not None:
            return
        recovered = await self._store.deliveries.recover_in_flight()
        if recovered:
            log.warning("outbox: %d delivery attempt(s) were interrupted by the last stop; "
                        "they will be checked with the upstream before any resend", recovered)
        self._stopping = False
        self._next_sweep = self._clock() + self._policy.lease_sweep
        self._loop_task = asyncio.create_task(self._run(), name="warden-outbox")
        log.info("outbox: started (%d at a time)", self._policy.concurrency)

    async def stop(self) -> None:
        """Stop taking work, give running attempts a grace period, then cancel them.

        A cancelled attempt stays ``in_flight`` in the database: the next start
        reconciles it with the upstream instead of sending it blindly.
        """
        if self._loop_task is None:
            return
        self._stopping = True
        if self._remote_wake is not None:
            self._remote_wake.cancel()
            self._remote_wake = None
        self._wake.set()
        await asyncio.gather(self._loop_task, return_exceptions=True)
        self._loop_task = None
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=self._policy.shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if pending:
                log.warning("outbox: %d attempt(s) cut short by the stop", len(pending))
        log.info("outbox: stopped")

    def listens(self) -> Listening:
        return {EventKind.DELIVERIES_QUEUED: self._on_queued,
                EventKind.EVENTS_MISSED: self._on_queued}

    async def _on_queued(self, event: Event) -> None:
        if not event.remote:
            self._wake.set()
        elif self._remote_wake is None:
            def wake() -> None:
                self._remote_wake = None
                self._wake.set()

            self._remote_wake = asyncio.get_running_loop().call_later(REMOTE_WAKE_DELAY,
                                                                      wake)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                timeout = await self._dispatch_due()
            except Exception:
                # The database is the source of truth: log, breathe, look again.
                log.exception("outbox: could not read due deliveries")
                timeout = min(self._policy.idle_poll, 5.0)
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass

    async def _dispatch_due(self) -> float:
        """Start the due attempts there is room for; returns how long to sleep before
        looking again (unless woken)."""
        if self._clock() >= self._next_sweep:
            self._next_sweep = self._clock() + self._policy.lease_sweep
            swept = await self._store.deliveries.recover_in_flight(own=False)
            if swept:
                log.warning("outbox: %d attempt(s) of a stopped process returned to "
                            "pending (their lease ran out)", swept)
        free = self._policy.concurrency - len(self._running)
        if free <= 0:
            return self._policy.idle_poll  # a finishing attempt wakes us
        due, next_due = await self._store.deliveries.due_and_next(
            now=self._clock(), limit=free + len(self._running))
        for row in due:
            key = (row.report_id, row.destination)
            if key in self._running:
                continue
            task = asyncio.create_task(self._attempt(row), name=f"deliver-{key[0]}-{key[1]}")
            self._running[key] = task
            task.add_done_callback(functools.partial(self._finished, key))
            free -= 1
            if free == 0:
                break
        return self._idle_timeout(next_due)

    def _finished(self, key: tuple[int, str], _task: asyncio.Task[None]) -> None:
        self._running.pop(key, None)
        self._wake.set()

    def _idle_timeout(self, next_due: float | None) -> float:
        if len(self._running) >= self._policy.concurrency:
            return self._policy.idle_poll  # a finishing attempt wakes us
        if next_due is None:
            return self._policy.idle_poll
        wait = next_due - self._clock()
        if wait <= 0:
            # Due but already ours (claimed a moment ago): wait for a change, briefly.
            return 0.05 if self._running else 0.0
        return min(wait, self._policy.idle_poll)

    async def _attempt(self, row: Delivery) -> None:
        # This task's log lines (the senders' and API clients' too) name the report.
        bind_log_ids(report_id=row.report_id, destination=row.destination)
        try:
            await self._attempt_once(row)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Only the database can fail here; the row is retried (or recovered at the
            # next start if it was left in flight).
            log.exception("outbox: could not record the delivery of report %s to %s",
                          row.report_id, row.destination)

    async def _attempt_once(self, row: Delivery) -> None:
        found = await self._store.deliveries.start_attempt_with_report(row.report_id,
                                                                       row.destination)
        if found is None:
            return  # someone else took it, or it is no longer pending
        claimed, report = found
        started = time.monotonic()
        outcome: Outcome
        try:
            outcome = await self._deliver(claimed, report)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("outbox: delivery of report %s to %s failed unexpectedly",
                          claimed.report_id, claimed.destination)
            outcome = Retry(may_have_landed(t("unexpected error in Warden ({error}); see the log",
                                              error=type(exc).__name__)))
        await self._record(claimed, outcome)
        self._metrics.delivery_attempt_seconds.observe(time.monotonic() - started,
                                                       destination=claimed.destination)
        await self._events.publish(
            Event(EventKind.DELIVERY_CHANGED, claimed.report_id, claimed.destination,
                  guild_id=None if report is None else report.guild_id)
        )

    async def _deliver(self, claimed: Delivery, report: Report | None) -> Outcome:
        sender = self._senders.get(claimed.destination)
        if sender is None:
            return Failed(not_sent(t("{destination} is not configured on this Warden",
                                     destination=claimed.destination)))
        if report is None:
            return Skipped(t("the report no longer exists"))
        return await sender.deliver(Attempt(report, claimed))

    async def _record(self, claimed: Delivery, outcome: Outcome) -> None:
        deliveries = self._store.deliveries
        rid, dest = claimed.report_id, claimed.destination
        if isinstance(outcome, Sent):
            await deliveries.finish(rid, dest, status=DeliveryStatus.SENT,
                                    upstream_id=outcome.upstream_id,
                                    details=outcome.details)
        elif isinstance(outcome, HandedOff):
            await deliveries.finish(rid, dest, status=DeliveryStatus.HANDED_OFF,
                                    handoff_url=outcome.url,
                                    details=outcome.details)
        elif isinstance(outcome, Failed):
            await deliveries.finish(rid, dest, status=DeliveryStatus.FAILED,
                                    error=outcome.error,
                                    details=outcome.details)
        elif isinstance(outcome, Skipped):
            await deliveries.finish(rid, dest, status=DeliveryStatus.SKIPPED,
                                    error=outcome.reason)
        else:
            await self._retry(claimed, outcome)
            return
        status = _FINAL_STATUS[type(outcome)]
        self._count_final(claimed, status)
        log.log(logging.WARNING if status is DeliveryStatus.FAILED else logging.INFO,
                "outbox: report %s to %s: %s after %d attempt(s)%s", rid, dest, status,
                claimed.attempts, f": {outcome.error}" if isinstance(outcome, Failed) else "",
                extra=_fields(claimed, status))

    def _count_final(self, claimed: Delivery, status: str) -> None:
        dest = claimed.destination
        self._metrics.deliveries.inc(destination=dest, outcome=status)
        self._metrics.delivery_latency_seconds.observe(
            max(self._clock() - claimed.created_at, 0.0), destination=dest)

    async def _retry(self, claimed: Delivery, outcome: Retry) -> None:
        policy = self._policy
        now = self._clock()
        age = now - claimed.created_at
        if claimed.attempts >= policy.max_attempts or age >= policy.give_up_after:
            tries = f"{claimed.attempts} attempt{'s' if claimed.attempts != 1 else ''}"
            # i18n: a delivery's error on the review post; {error} is the last attempt's.
            gave_up = (t("{error} (gave up after 1 attempt)", error=outcome.error)
                       if claimed.attempts == 1 else
                       # i18n: {count} is 2 or more.
                       t("{error} (gave up after {count} attempts)", error=outcome.error,
                         count=claimed.attempts))
            await self._store.deliveries.finish(
                claimed.report_id, claimed.destination, status=DeliveryStatus.FAILED,
                error=gave_up,
                details={"attempts": claimed.attempts},
            )
            self._count_final(claimed, DeliveryStatus.FAILED)
            log.warning("outbox: report %s to %s failed after %s: %s", claimed.report_id,
                        claimed.destination, tries, outcome.error,
                        extra=_fields(claimed, DeliveryStatus.FAILED))
            return
        # The upstream's own wait hint is honoured as given; only our backoff is capped.
        if outcome.after is not None:
            delay = max(outcome.after, 0.0)
        else:
            delay = min(policy.backoff(claimed.attempts), policy.max_delay)
        await self._store.deliveries.retry_later(
            claimed.report_id, claimed.destination, at=now + delay, error=outcome.error
        )
        self._metrics.delivery_retries.inc(destination=claimed.destination)
        log.info("outbox: report %s to %s: %s; retry %d in %.1fs", claimed.report_id,
                 claimed.destination, outcome.error, claimed.attempts + 1, delay,
                 extra=_fields(claimed, "retry"))


def _fields(claimed: Delivery, outcome: str) -> dict[str, Any]:
    """What a delivery's log line carries as fields (JSON logs)."""
    return {"report_id": claimed.report_id, "destination": claimed.destination,
            "outcome": outcome, "attempt": claimed.attempts}
