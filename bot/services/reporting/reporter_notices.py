"""Telling reporters what Warden owes them, each message once.

Every such message (a report's outcome, a moderator's question, a moderator's decision)
is a ``reporter_notices`` row, queued in the same transaction that makes it due, and
marked told right after the message is confirmed sent: edited into the reporter's live
interaction, or by DM. At start-up every notice still untold goes by DM (the
interactions of the previous process are gone).

The crash window is between Discord taking the message and the mark's commit (which
waits its turn on SQLite's single writer: tens of milliseconds under load). For the
live reply it is closed: the reply's interaction token is recorded before the edit, and
the next start reads the reply back (Discord keeps it 15 minutes) to see whether the
outcome is already there. For a DM, Warden chooses at-least-once: the notice is still
untold after such a crash, so the next start sends it again, and the reporter may
rarely read the same news twice. Marking before sending (at-most-once) would instead
lose the message in the same window, which is the failure this exists to prevent.

With several processes, a DM is claimed in the database before it is sent
(``claim_telling``), so two processes never DM the same notice; and the process holding
a report's live reply is recorded at acceptance (``live_holder``), so a process that
settles the outcome leaves it to that one (it hears through the event relay).
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from bot.notify import DmOutcome, Notice, Notifier
from bot.services.delivery.registry import DestinationNames
from bot.services.reporting.requests import DeliveryState, ReportOutcome
from bot.services.reporting.text import outcome_notice, shows_final_outcome
from bot.store import Store, this_process
from bot.store.notices import OUTCOME, QUESTION, LiveReply, ProcessRun, ReporterNotice

log = logging.getLogger(__name__)

LIVE_READABLE = 14 * 60.0
"""Seconds a live reply can be read back (Discord keeps an interaction token 15 min)."""
ReadLive = Callable[[str], Awaitable[str | None]]
"""The text of the live reply of an interaction token; None if it cannot be read."""


class Told(enum.StrEnum):
    SENT = "sent"
    DMS_CLOSED = "dms_closed"
    DMS_OFF = "dms_off"
    """The member turned outcome DMs off (``/notifications``); questions ignore it."""
    FAILED = "failed"
    """Not sent now; tried again at the next start (a few times)."""
    ALREADY = "already"
    """Told by another path, or being told right now."""


async def report_outcome(store: Store, report_id: int,
                         names: DestinationNames) -> ReportOutcome | None:
    found = await store.report_views.with_deliveries(report_id)
    if found is None:
        return None
    return ReportOutcome(found.report, tuple(DeliveryState.of(d, names(d.destination))
                                             for d in found.deliveries))


class ReporterMessenger:
    def __init__(self, store: Store, notifier: Notifier, names: DestinationNames,
                 read_live: ReadLive | None = None, me: ProcessRun | None = None) -> None:
        """``read_live``: reads a live reply back (the Discord side's), for
        ``tell_untold``; ``me``: this process, on what it claims."""
        self._store = store
        self.me = me or ProcessRun(this_process(), uuid.uuid4().hex[:12])
        self._notifier = notifier
        self._names = names
        self._telling: set[int] = set()
        self._read_live = read_live
        self.started_at = time.time()
        """Notices queued before this are the previous process's: ``tell_untold`` takes
        them; later ones have their own live path."""

    async def tell_by_dm(self, notice: ReporterNotice, message: Notice) -> Told:
        if notice.id in self._telling:
            return Told.ALREADY
        self._telling.add(notice.id)
        try:
            return await self._tell_by_dm(notice, message)
        finally:
            self._telling.discard(notice.id)

    async def _tell_by_dm(self, notice: ReporterNotice, message: Notice) -> Told:
        if not await self._store.notices.claim_telling(notice.id, self.me):
            return Told.ALREADY  # told, or another process is telling it now
        if notice.kind != QUESTION and not await self._store.prefs.notify_dm(
                notice.recipient_id):
            await self._store.notices.mark_told(notice.id, "dms_off")
            return Told.DMS_OFF
        result = DmOutcome.FAILED
        try:
            result = await self._notifier.send_dm(notice.recipient_id, message)
        except Exception:  # a DM is a courtesy: never let it undo what was recorded
            log.exception("DM to %s failed", notice.recipient_id)
        if result is DmOutcome.SENT:
            await self._store.notices.mark_told(notice.id, "dm")
            return Told.SENT
        if result is DmOutcome.DMS_CLOSED:
            await self._store.notices.mark_told(notice.id, "dms_closed")
            return Told.DMS_CLOSED
        await self._store.notices.mark_failed(notice.id)
        return Told.FAILED

    async def showing_in_place(self, report_id: int, token: str) -> None:
        """About to edit the final outcome into the live reply of ``token``."""
        await self._store.notices.showing_in_place(report_id, token)

    async def _shown_before(self, notice: ReporterNotice) -> bool:
        """Whether a previous process edited this outcome into the live reply and died
        before recording it (the reply is read back while Discord still allows)."""
        if (notice.live_token is None or notice.live_since is None or self._read_live is None
                or time.time() - notice.live_since > LIVE_READABLE):
            return False
        text = await self._read_live(notice.live_token)
        report = await self._store.reports.get(notice.report_id)
        return text is not None and report is not None and shows_final_outcome(
            text, report.number)

    async def told_in_place(self, report_id: int) -> None:
        """The live interaction showed the final outcome: it needs no DM."""
        notice = await self._store.notices.untold_outcome(report_id)
        if notice is not None and notice.id not in self._telling:
            await self._store.notices.mark_told(notice.id, "interaction")

    def live_reply(self, live_for: float, now: float) -> LiveReply:
        """What ``accept`` records when this process holds the member's interaction."""
        return LiveReply(self.me.name, now + live_for)

    async def held_elsewhere(self, report_id: int, now: float) -> LiveReply | None:
        """The live reply another process holds for ``report_id`` and can still answer
        in (it tells the outcome); None when it is this process's or nobody's."""
        live = await self._store.notices.live_holder(report_id)
        # An earlier run of this process holds nothing any more (its start takes over).
        if live is None or live.owner.startswith(self.me.host_prefix) or live.until <= now:
            return None
        return live

    async def take_over_live_replies(self) -> int:
        """At start-up: outcomes an earlier run of this process was to tell in a live
        reply (the other processes left them to it) go by DM now, if final. Returns how
        many were sent."""
        sent = 0
        for report_id in await self._store.notices.take_over_live(self.me):
            notice = await self._store.notices.untold_outcome(report_id)
            if notice is None:
                continue
            if await self._shown_before(notice):  # edited in, then the crash
                await self._store.notices.mark_told(notice.id, "interaction")
                continue
            message = await self.message_for(notice)
            if message is not None and await self.tell_by_dm(notice, message) is Told.SENT:
                sent += 1
        return sent

    async def message_for(self, notice: ReporterNotice) -> Notice | None:
        """The words of ``notice``; None for an outcome that is not final any more (a
        moderator's retry: it is told when that ends)."""
        if notice.kind != OUTCOME:
            return Notice(title=notice.title, text=notice.body or "")
        outcome = await report_outcome(self._store, notice.report_id, self._names)
        if outcome is None or not outcome.final:
            return None
        return outcome_notice(outcome)

    async def tell_untold(self, later: Callable[[int, float], None] | None = None) -> int:
        """At start-up: every notice the previous process queued and did not tell goes
        by DM now. Returns how many were sent.

        An outcome whose live reply another running process holds is that process's to
        tell (in place, the moment it hears of it): ``later(report_id, seconds)`` is asked
        to look again once that reply has run out, in case its process is gone by then."""
        sent = await self.take_over_live_replies()
        after = 0
        while batch := await self._store.notices.untold(after_id=after):
            for notice in batch:
                after = notice.id
                if notice.created_at >= self.started_at:
                    return sent  # this process's own: told by its live path
                if notice.kind == OUTCOME:
                    live = await self.held_elsewhere(notice.report_id, time.time())
                    if live is not None:
                        if later is not None:
                            later(notice.report_id, live.until - time.time())
                        continue
                if await self._shown_before(notice):
                    await self._store.notices.mark_told(notice.id, "interaction")
                    continue
                message = await self.message_for(notice)
                if message is not None and await self.tell_by_dm(notice, message) is Told.SENT:
                    sent += 1
        if sent:
            log.info("told %d reporter(s) what a stop kept from them", sent)
        return sent
