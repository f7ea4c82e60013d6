"""Moderator review: who may act on a report, its lifecycle, the review post, search,
statistics, export and the server set-up checklist.

Lifecycle: ``open -> claimed -> forwarded | dismissed`` (``claimed -> open`` on unclaim).
Every change is one conditional update in SQLite with its audit row, so of two
moderators pressing buttons at once exactly one succeeds and the other is told why.

The review post goes through a ``ReviewBoard`` port implemented on the Discord side.
A post that cannot be made (no channel, missing permission) never blocks the report:
it is stored and delivered per the review mode, and the failure is kept for
``/warden setup`` to show.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.errors import InvalidInput, NotAllowed, UserFacingError
from bot.notify import DmOutcome, Notice, Notifier
from bot.services.dates import DateRange, iso_day
from bot.services.events import Event, EventBus, EventKind
from bot.services.linking import LinkingService
from bot.services.outbox import MAY_HAVE_LANDED
from bot.services.report_export import ExportBundle, build_bundle
from bot.services.reports import effective_bungie_mode
from bot.services.retry_confirm import CONFIRM_WINDOW, SecondClick
from bot.services.review_card import (
    DESTINATION_LABELS,
    ReviewCard,
    build_card,
    reason_label,
)
from bot.services.review_catch_up import CatchUp
from bot.services.server_setup import (
    CheckItem,
    SetupFacts,
    checklist,
    review_problem_key,
)
from bot.settings import Settings
from bot.store import Store
from bot.store.guilds import GuildSettings, ReportLimits, ReviewMode
from bot.store.report_views import WithHistory
from bot.store.reports import Report, ReportFilter

log = logging.getLogger(__name__)

REASON_MAX = 1000
QUESTION_MAX = 1000
REPLY_MAX = 1500
REPLIES_PER_REQUEST = 3
PAGE_SIZE = 10
# Discord's upload limit for a message without server boosts.
MAX_EXPORT_BYTES = 10 * 1024 * 1024
# kv: purge time up to which purged reports' review posts were scrubbed.
SCRUBBED_KEY = "retention.review_posts_scrubbed_through"

LIMIT_BOUNDS: dict[str, tuple[int, int]] = {
    "short_count": (0, 100),
    "short_seconds": (1, 86400),
    "hour_count": (0, 1000),
    "day_count": (0, 10000),
    "target_cooldown_hours": (0, 24 * 30),
}


# -- ports and plain values ----------------------------------------------------------
class BoardProblem(enum.StrEnum):
    MISSING_CHANNEL = "missing_channel"
    MISSING_PERMISSION = "missing_permission"
    MISSING_MESSAGE = "missing_message"
    FAILED = "failed"


class BoardError(Exception):
    """The review post could not be made or edited."""

    def __init__(self, problem: BoardProblem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class Posted:
    message_id: int
    # Evidence position (as a string) -> "copied", or why it was not re-uploaded.
    evidence: dict[str, str]


class ReviewBoard(Protocol):
    """Where review posts live (the Discord review channel)."""

    def is_public(self, channel_id: int) -> bool:
        """True when every member can read the channel (reporters are then left out)."""
        ...

    async def post(self, channel_id: int, card: ReviewCard) -> Posted:
        """Post the card, re-uploading its attachment evidence (the post shows which
        copies succeeded; ``Posted.evidence`` says the same for later edits)."""
        ...

    async def update(self, channel_id: int, message_id: int, card: ReviewCard) -> None: ...


@dataclass(frozen=True)
class Actor:
    """Who pressed a button or ran a command, as the cog saw them."""

    user_id: int
    role_ids: frozenset[int] = frozenset()
    manages_server: bool = False


@dataclass(frozen=True)
class Outcome:
    """The result of a moderator action; ``message`` is shown to the moderator."""

    report: Report
    message: str | None = None


@dataclass(frozen=True)
class ReportSummary:
    report_id: int
    number: int
    status: str
    reason: str
    reason_label: str
    target: str
    reporter_id: int
    created_at: float


@dataclass(frozen=True)
class ReportPage:
    items: tuple[ReportSummary, ...]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class ListQuery:
    status: str | None = None
    reason: str | None = None
    target: str | None = None
    reporter_id: int | None = None
    range: DateRange = field(default_factory=lambda: DateRange(None, None))


@dataclass(frozen=True)
class Stats:
    range: DateRange
    total: int
    by_reason: dict[str, int]
    by_status: dict[str, int]
    by_destination: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Overview:
    """Everything ``/warden settings`` shows."""

    guild: GuildSettings
    checklist: list[CheckItem]
    retention_days: int


# -- the service ---------------------------------------------------------------------
class ReviewService:
    def __init__(
        self,
        *,
        store: Store,
        events: EventBus,
        settings: Settings,
        notifier: Notifier | None = None,
        linking: LinkingService | None = None,
    ) -> None:
        self.store = store
        self.linking = linking
        self.events = events
        self.settings = settings
        self.notifier = notifier
        self.board: ReviewBoard | None = None
        # How the reporter answers an info request; the cog that owns the command sets it.
        self.reply_hint = "Answer with `/reply number:{number}` in the server you reported in."
        self._locks: dict[int, asyncio.Lock] = {}
        self._lock_users: dict[int, int] = {}
        self._tasks: set[asyncio.Task[bool]] = set()
        # Reports with a refresh task that has not read the report yet: that read will
        # see any later change too, so a burst of events costs one edit, not one each.
        self._queued: dict[int, asyncio.Task[bool]] = {}
        self._without_problem: set[int] = set()
        """Servers whose stored review-post problem this process has cleared."""
        self._resend_clicks = SecondClick()
        self._catch_up = CatchUp(store, self.refresh,
                                 interval=settings.review_catch_up_interval_seconds)

    # -- wiring -------------------------------------------------------------------------
    def subscribe(self) -> None:
        self.events.subscribe(EventKind.REPORT_ACCEPTED, self._on_accepted)
        self.events.subscribe(EventKind.DELIVERY_CHANGED, self._on_delivery_changed)
        self.events.subscribe(EventKind.REPORT_CHANGED, self._on_changed)

    def attach_board(self, board: ReviewBoard | None) -> None:
        self.board = board

    async def close(self) -> None:
        """Stop listening and let review posts already under way finish."""
        self.events.unsubscribe(EventKind.REPORT_ACCEPTED, self._on_accepted)
        self.events.unsubscribe(EventKind.DELIVERY_CHANGED, self._on_delivery_changed)
        self.events.unsubscribe(EventKind.REPORT_CHANGED, self._on_changed)
        await self._catch_up.close()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=5.0)
            if late:
                # Queued behind Discord's per-channel limit: the next start's catch-up
                # makes these posts (each is recorded only once Discord took it).
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
                log.info("%d review post update(s) cut short by the stop; missing posts are "
                         "made at the next start", len(late))

    def _refresh_soon(self, report_id: int) -> None:
        # Events from the report flow and the outbox must not wait for Discord (a post
        # may re-upload megabytes of evidence): the post is made in its own task. A task
        # that has not read the report yet will show this change as well.
        if report_id in self._queued or self.board is None:
            return
        task = asyncio.create_task(self._refresh_settled(report_id),
                                   name=f"review-post-{report_id}")
        self._queued[report_id] = task
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._refresh_done, report_id))

    async def _refresh_settled(self, report_id: int) -> bool:
        # A report's deliveries usually settle within a second of its acceptance: waiting
        # that long posts the card once, with their results, rather than posting it and
        # editing it once per destination (each edit is a request against the review
        # channel's rate limit, and a moderator watching it sees the card jump).
        settle = self.settings.review_post_settle_seconds
        if settle > 0:
            await asyncio.sleep(settle)
        return await self.refresh(report_id)

    def _refresh_done(self, report_id: int, task: asyncio.Task[bool]) -> None:
        self._tasks.discard(task)
        if self._queued.get(report_id) is task:  # it ended before reading (cancelled, no board)
            del self._queued[report_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("review post update failed", exc_info=task.exception())

    async def settled(self) -> None:
        """Wait for review posts under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _on_accepted(self, event: Event) -> None:
        if event.report_id is None:
            return
        found = await self.store.report_views.with_deliveries(event.report_id)
        if found is None:
            return
        report, deliveries = found.report, found.deliveries
        if (
            report.status == "open"
            and deliveries
            and not any(d.status == "held" for d in deliveries)
        ):
            # Nothing waits for approval (auto mode): the report was forwarded at once.
            await self.store.reports.transition(
                report.id, from_statuses=("open",), to_status="forwarded", actor_id=None,
                action="report.forwarded", details={"automatic": True},
            )
        self._refresh_soon(report.id)

    async def _on_delivery_changed(self, event: Event) -> None:
        if event.report_id is not None:
            self._refresh_soon(event.report_id)

    async def _on_changed(self, event: Event) -> None:
        # A moderator's own action: the post is edited before their button press is
        # answered, so what they see next is current.
        if event.report_id is not None:
            await self.refresh(event.report_id)

    # -- who may act --------------------------------------------------------------------
    @staticmethod
    def is_moderator(guild: GuildSettings, actor: Actor) -> bool:
        return actor.manages_server or (
            guild.moderator_role_id is not None and guild.moderator_role_id in actor.role_ids
        )

    async def require_moderator(self, guild_id: int, actor: Actor) -> GuildSettings:
        guild = await self.store.guilds.get(guild_id)
        if not self.is_moderator(guild, actor):
            raise NotAllowed(
                "Only this server's moderators can do this: you need the moderator role "
                "chosen in `/warden setup`, or the Manage Server permission."
            )
        return guild

    async def _report_for(self, guild_id: int, report_id: int, actor: Actor) -> Report:
        await self.require_moderator(guild_id, actor)
        report = await self.store.reports.get(report_id)
        if report is None or report.guild_id != guild_id or report.accepted_at is None:
            raise InvalidInput("That report does not exist in this server.")
        return report

    # -- lifecycle ----------------------------------------------------------------------
    async def claim(self, guild_id: int, report_id: int, actor: Actor) -> Outcome:
        await self._report_for(guild_id, report_id, actor)
        updated = await self.store.reports.transition(
            report_id, from_statuses=("open",), to_status="claimed", actor_id=actor.user_id,
            action="report.claimed", set_claimed_by=True, claimed_by=actor.user_id,
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="claim")
        await self._changed(report_id)
        return Outcome(updated)

    async def unclaim(self, guild_id: int, report_id: int, actor: Actor) -> Outcome:
        await self._report_for(guild_id, report_id, actor)
        updated = await self.store.reports.transition(
            report_id, from_statuses=("claimed",), to_status="open", actor_id=actor.user_id,
            action="report.unclaimed", set_claimed_by=True, claimed_by=None,
            allow_claimed_by=None if actor.manages_server else actor.user_id,
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="unclaim")
        await self._changed(report_id)
        return Outcome(updated)

    async def approve(self, guild_id: int, report_id: int, actor: Actor) -> Outcome:
        report = await self._report_for(guild_id, report_id, actor)
        deliveries = await self.store.deliveries.for_report(report_id)
        held = [d.destination for d in deliveries if d.status == "held"]
        if report.status in ("open", "claimed") and not held:
            raise InvalidInput(
                f"Report #{report.number} has nothing waiting for approval: it was forwarded "
                "automatically or no destination is configured."
            )
        updated = await self.store.reports.transition(
            report_id, from_statuses=("open", "claimed"), to_status="forwarded",
            actor_id=actor.user_id, action="report.forwarded", decided_by=actor.user_id,
            details={"released": held}, release_held=True,
            allow_claimed_by=None if actor.manages_server else actor.user_id,
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="approve")
        await self.events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id))
        await self._changed(report_id)
        where = _join([DESTINATION_LABELS.get(d, d) for d in held])
        told = await self._tell_reporter(updated, forwarded=True, to_reporter=None)
        return Outcome(updated, f"Report #{updated.number} approved: forwarding to {where}. "
                                f"{told}")

    async def dismiss(
        self, guild_id: int, report_id: int, actor: Actor, *, reason: str,
        to_reporter: str | None = None,
    ) -> Outcome:
        text = _required(reason, "a reason for dismissing", REASON_MAX)
        message = (to_reporter or "").strip()[:REASON_MAX] or None
        await self._report_for(guild_id, report_id, actor)
        updated = await self.store.reports.transition(
            report_id, from_statuses=("open", "claimed"), to_status="dismissed",
            actor_id=actor.user_id, action="report.dismissed", decided_by=actor.user_id,
            decision_reason=text, details={"reason": text, "told_reporter": message is not None},
            skip_held=True, allow_claimed_by=None if actor.manages_server else actor.user_id,
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="dismiss")
        await self._changed(report_id)
        told = await self._tell_reporter(updated, forwarded=False, to_reporter=message)
        return Outcome(updated, f"Report #{updated.number} dismissed. {told}")

    async def ask_reporter(
        self, guild_id: int, report_id: int, actor: Actor, *, question: str
    ) -> Outcome:
        text = _required(question, "a question", QUESTION_MAX)
        report = await self._report_for(guild_id, report_id, actor)
        if report.status not in ("open", "claimed"):
            raise InvalidInput(f"Report #{report.number} is already {report.status}.")
        if report.purged_at is not None:
            raise InvalidInput(f"Report #{report.number} was purged under the retention policy.")
        await self.store.reports.add_note(
            report_id, author_id=actor.user_id, kind="info_request", body=text
        )
        await self._changed(report_id)
        outcome = await self._dm(report.reporter_id, Notice(
            title=f"Report #{report.number}: the moderators have a question",
            text=f"{text}\n\n{self.reply_hint.format(number=report.number)}",
        ))
        if outcome == DmOutcome.SENT:
            told = "The reporter got your question by DM."
        elif outcome == DmOutcome.DMS_CLOSED:
            told = ("The reporter's DMs are closed, so they were not told; the question is "
                    "recorded on the report.")
        else:
            told = "The DM to the reporter failed; the question is recorded on the report."
        return Outcome(report, told)

    async def reply(self, guild_id: int, reporter_id: int, number: int, text: str) -> Report:
        """The reporter answers a moderator's question (``/reply``)."""
        body = _required(text, "an answer", REPLY_MAX)
        report = await self.store.reports.by_number(guild_id, number)
        if report is None or report.reporter_id != reporter_id or report.accepted_at is None:
            raise InvalidInput(f"You have no report #{number} in this server.")
        notes = await self.store.reports.notes(report.id)
        last_request = max(
            (i for i, n in enumerate(notes) if n.kind == "info_request"), default=None
        )
        if last_request is None:
            raise InvalidInput(
                f"The moderators have not asked anything about report #{number}; there is "
                "nothing to answer."
            )
        replies = sum(1 for n in notes[last_request + 1:] if n.kind == "reply")
        if replies >= REPLIES_PER_REQUEST:
            raise InvalidInput(
                "You already answered this question; the moderators will ask again if they "
                "need more."
            )
        await self.store.reports.add_note(
            report.id, author_id=reporter_id, kind="reply", body=body
        )
        await self._changed(report.id)
        return report

    async def retry(
        self, guild_id: int, report_id: int, destination: str, actor: Actor
    ) -> Outcome:
        report = await self._report_for(guild_id, report_id, actor)
        label = DESTINATION_LABELS.get(destination, destination)
        current = await self.store.deliveries.get(report_id, destination)
        may_have_landed = (current is not None and current.status == "failed"
                           and (current.last_error or "").startswith(MAY_HAVE_LANDED))
        if may_have_landed and not self._resend_clicks.confirmed(report_id, destination,
                                                                 actor.user_id):
            return Outcome(report, (
                f"The {label} delivery of report #{report.number} may already have landed: "
                "sending it again could file it twice. Press **Retry** again within "
                f"{CONFIRM_WINDOW / 60:.0f} minutes to send it anyway."))
        requeued = await self.store.deliveries.requeue_failed(
            report_id, destination, actor_id=actor.user_id, confirm_resend=may_have_landed
        )
        if not requeued:
            current = await self.store.deliveries.get(report_id, destination)
            state = "does not exist" if current is None else f"is {current.status}, not failed"
            raise InvalidInput(f"The {label} delivery of report #{report.number} {state}.")
        await self.events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id, destination))
        await self._changed(report_id)
        return Outcome(report, f"Retrying the {label} delivery of report #{report.number}.")

    async def _changed(self, report_id: int) -> None:
        await self.events.publish(Event(EventKind.REPORT_CHANGED, report_id))

    async def _conflict(self, report_id: int, actor: Actor, *, wanted: str) -> UserFacingError:
        """Why a conditional update found the report in another state."""
        report = await self.store.reports.get(report_id)
        if report is None:
            return InvalidInput("That report no longer exists.")
        n = report.number
        if report.status in ("forwarded", "dismissed"):
            by = f" by <@{report.decided_by}>" if report.decided_by else ""
            return InvalidInput(f"Report #{n} was already {report.status}{by}.")
        if report.status == "claimed" and report.claimed_by != actor.user_id:
            return NotAllowed(
                f"Report #{n} is claimed by <@{report.claimed_by}>. Only they, or a member "
                f"with Manage Server, can {wanted} it until it is unclaimed."
            )
        if wanted == "claim" and report.status == "claimed":
            return InvalidInput(f"You already claimed report #{n}.")
        if wanted == "unclaim" and report.status == "open":
            return InvalidInput(f"Report #{n} is not claimed.")
        return InvalidInput(f"Report #{n} is {report.status}; it cannot be {wanted}ed now.")

    # -- telling the reporter ------------------------------------------------------------
    async def _dm(self, user_id: int, notice: Notice) -> DmOutcome:
        if self.notifier is None:
            return DmOutcome.FAILED
        try:
            return await self.notifier.send_dm(user_id, notice)
        except Exception:  # a DM is a courtesy: never let it undo a recorded decision
            log.exception("DM to %s failed", user_id)
            return DmOutcome.FAILED

    async def _tell_reporter(
        self, report: Report, *, forwarded: bool, to_reporter: str | None
    ) -> str:
        if not await self.store.prefs.notify_dm(report.reporter_id):
            return "The reporter turned off outcome DMs."
        about = f"report #{report.number} ({reason_label(report.reason)})"
        target = _target_name(report)
        if forwarded:
            text = (f"The moderators approved your {about} about {target}. Warden is "
                    "forwarding it now and will tell you where it was delivered.")
        else:
            text = (f"The moderators reviewed your {about} about {target} and closed it "
                    "without forwarding it.")
            if to_reporter:
                text += f"\n\nMessage from the moderators: {to_reporter}"
        outcome = await self._dm(report.reporter_id, Notice(
            title=f"Report #{report.number}: {'forwarded' if forwarded else 'closed'}",
            text=text,
        ))
        return {
            DmOutcome.SENT: "The reporter was told by DM.",
            DmOutcome.DMS_CLOSED: "The reporter's DMs are closed, so they were not told.",
        }.get(outcome, "The DM to the reporter failed.")

    # -- the review post ----------------------------------------------------------------
    @asynccontextmanager
    async def _report_lock(self, report_id: int) -> AsyncIterator[None]:
        # Post and edits of one report run one at a time, so the last edit shows the
        # newest state and a report is never posted twice.
        lock = self._locks.setdefault(report_id, asyncio.Lock())
        self._lock_users[report_id] = self._lock_users.get(report_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[report_id] -= 1
            if self._lock_users[report_id] == 0:
                del self._lock_users[report_id]
                del self._locks[report_id]

    async def card(self, report: Report) -> ReviewCard:
        return _card_of(await self.store.report_views.with_history(report.id), report)

    async def show(self, guild_id: int, number: int, actor: Actor) -> ReviewCard:
        await self.require_moderator(guild_id, actor)
        report = await self.store.reports.by_number(guild_id, number)
        if report is None or report.accepted_at is None:
            raise InvalidInput(f"There is no report #{number} in this server.")
        return await self.card(report)

    async def card_for(self, guild_id: int, report_id: int, actor: Actor) -> ReviewCard:
        return await self.card(await self._report_for(guild_id, report_id, actor))

    async def refresh(self, report_id: int, *, repost: bool = True) -> bool:
        """Post the report to its server's review channel, or edit its post.

        Returns False when Discord refused (the problem is kept for ``/warden setup``).
        With ``repost`` False a deleted post stays deleted (the purge scrubber).
        """
        board = self.board
        if board is None:
            return False
        async with self._report_lock(report_id):
            self._queued.pop(report_id, None)  # from here on, a change needs a new refresh
            found = await self.store.report_views.with_history(report_id)
            if found is None or found.report.accepted_at is None:
                return True
            report = found.report
            card = _card_of(found, report)
            if report.review_channel_id is not None and report.review_message_id is not None:
                try:
                    await board.update(
                        report.review_channel_id, report.review_message_id,
                        self._for_channel(board, report.review_channel_id, card),
                    )
                except BoardError as exc:
                    gone = exc.problem in (BoardProblem.MISSING_MESSAGE,
                                           BoardProblem.MISSING_CHANNEL)
                    if not gone:
                        await self._record_problem(report, exc)
                        return False
                    if not repost:
                        return True
                    log.info("review post of report %s is gone (%s); posting again",
                             report.id, exc.detail)
                else:
                    await self._clear_problem(report.guild_id)
                    return True
            guild = await self.store.guilds.get(report.guild_id)
            if guild.review_channel_id is None or not repost:
                return True
            channel_id = guild.review_channel_id
            try:
                posted = await board.post(channel_id, self._for_channel(board, channel_id, card))
            except BoardError as exc:
                await self._record_problem(report, exc)
                return False
            await self.store.reports.record_review_post(
                report.id, channel_id, posted.message_id,
                details={"evidence": posted.evidence,
                         "again": report.review_message_id is not None},
            )
            await self._clear_problem(report.guild_id)
            return True

    def _for_channel(self, board: ReviewBoard, channel_id: int, card: ReviewCard) -> ReviewCard:
        # Reporters are visible to staff only, never in a channel everyone can read.
        if card.reporter is not None and board.is_public(channel_id):
            return dataclasses.replace(card, reporter=None)
        return card

    async def _record_problem(self, report: Report, exc: BoardError) -> None:
        log.warning("review post for report %s failed: %s", report.id, exc.detail)
        self._without_problem.discard(report.guild_id)
        await self.store.kv.set(review_problem_key(report.guild_id), {
            "problem": exc.problem.value, "detail": exc.detail, "number": report.number,
            "at": time.time(),
        })

    async def _clear_problem(self, guild_id: int) -> None:
        # Every successful post and edit lands here: read the stored problem only until
        # it is known to be gone (this service is the only one that records problems).
        if guild_id in self._without_problem:
            return
        self._without_problem.add(guild_id)  # before the read: a failure meanwhile undoes it
        key = review_problem_key(guild_id)
        try:
            if await self.store.kv.get(key) is not None:
                await self.store.kv.set(key, None)
        except BaseException:
            self._without_problem.discard(guild_id)
            raise

    async def catch_up(self) -> int:
        """At start: post the reports whose review post was never made (it waits
        ``REVIEW_POST_SETTLE_SECONDS``, so a crash or a stop can fall in between), every
        server at once, each at its channel's pace. Returns how many were posted."""
        servers = await self.store.guilds.with_review_channel()
        done = sum(await asyncio.gather(*(self.repost_missing(g) for g in servers)))
        if done:
            log.info("posted %d review post(s) missing since the last stop", done)
        return done

    async def repost_missing(self, guild_id: int) -> int:
        """Post every report that has no review post yet, oldest first, paced (see
        ``review_catch_up``); joins the server's catch-up if one is running."""
        return await asyncio.shield(self._catch_up.start(guild_id))

    def start_repost_missing(self, guild_id: int) -> asyncio.Task[int]:
        """``repost_missing`` in the background; the task says how many were posted."""
        return self._catch_up.start(guild_id)

    async def scrub_purged(self) -> tuple[int, int]:
        """Edit the review posts of purged reports so they no longer show the content or
        the re-uploaded evidence. Returns (scrubbed, failed); posts that failed are tried
        again next time."""
        since = float(await self.store.kv.get(SCRUBBED_KEY) or 0.0)
        reports = await self.store.reports.purged_with_review_post(purged_after=since)
        scrubbed = failed = 0
        mark = since
        for report in reports:
            if await self.refresh(report.id, repost=False):
                scrubbed += 1
                if not failed:
                    mark = max(mark, report.purged_at or mark)
            else:
                failed += 1
        if mark > since:
            await self.store.kv.set(SCRUBBED_KEY, mark)
        return scrubbed, failed

    async def purged_posts_waiting(self) -> int:
        since = float(await self.store.kv.get(SCRUBBED_KEY) or 0.0)
        return len(await self.store.reports.purged_with_review_post(purged_after=since))

    # -- search, stats, export -----------------------------------------------------------
    async def list_reports(
        self, guild_id: int, actor: Actor, query: ListQuery, *, page: int = 0
    ) -> ReportPage:
        await self.require_moderator(guild_id, actor)
        flt = _filter(guild_id, query)
        wanted = max(page, 0)
        reports, total = await self.store.reports.search(
            flt, limit=PAGE_SIZE, offset=wanted * PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        if wanted >= pages and total:
            wanted = pages - 1
            reports, total = await self.store.reports.search(
                flt, limit=PAGE_SIZE, offset=wanted * PAGE_SIZE
            )
        items = tuple(
            ReportSummary(r.id, r.number, r.status, r.reason, reason_label(r.reason),
                          _target_name(r), r.reporter_id, r.accepted_at or r.created_at)
            for r in reports
        )
        return ReportPage(items, total, wanted, pages)

    async def stats(self, guild_id: int, actor: Actor, period: DateRange) -> Stats:
        await self.require_moderator(guild_id, actor)
        flt = ReportFilter(guild_id=guild_id, since=period.since, until=period.until)
        by_reason = await self.store.reports.counts(flt, "reason")
        by_status = await self.store.reports.counts(flt, "status")
        outcomes = await self.store.deliveries.outcome_counts(guild_id, period.since, period.until)
        by_destination: dict[str, dict[str, int]] = {}
        for (destination, status), count in sorted(outcomes.items()):
            by_destination.setdefault(destination, {})[status] = count
        return Stats(period, sum(by_status.values()), by_reason, by_status, by_destination)

    async def export(self, guild_id: int, actor: Actor, period: DateRange) -> ExportBundle:
        await self.require_moderator(guild_id, actor)
        flt = ReportFilter(guild_id=guild_id, since=period.since, until=period.until)
        reports = await self.store.reports.matching(flt)
        deliveries = await self.store.deliveries.for_guild(guild_id, period.since, period.until)
        audit = await self.store.audit.between(
            period.since if period.since is not None else 0.0,
            period.until if period.until is not None else time.time() + 1,
            guild_id=guild_id,
        )
        start = iso_day(period.since) if period.since is not None else "start"
        end = iso_day(period.until - 1) if period.until is not None else iso_day(time.time())
        bundle = build_bundle(
            stem=f"warden-{guild_id}-{start}-to-{end}",
            reports=reports, deliveries=deliveries, audit=audit,
        )
        if bundle.size > MAX_EXPORT_BYTES:
            raise InvalidInput(
                f"That export is {bundle.size // (1024 * 1024)} MB, more than Discord accepts. "
                "Choose a shorter date range."
            )
        # Exports copy reporters' identities out of Warden: keep a record of who did it.
        await self.store.audit.record(
            "reports.exported", guild_id=guild_id, actor_id=actor.user_id,
            details={"since": period.since, "until": period.until, "reports": bundle.reports,
                     "deliveries": bundle.deliveries, "audit_events": bundle.audit_events},
        )
        return bundle

    # -- server configuration ----------------------------------------------------------
    async def guild_settings(self, guild_id: int) -> GuildSettings:
        return await self.store.guilds.get(guild_id)

    async def configure(
        self,
        guild_id: int,
        actor_id: int,
        *,
        review_channel_id: int | None = None,
        moderator_role_id: int | None = None,
        review_mode: ReviewMode | None = None,
    ) -> GuildSettings:
        changes: dict[str, Any] = {}
        if review_channel_id is not None:
            changes["review_channel_id"] = review_channel_id
        if moderator_role_id is not None:
            changes["moderator_role_id"] = moderator_role_id
        if review_mode is not None:
            changes["review_mode"] = ReviewMode(review_mode)
        if not changes:
            return await self.store.guilds.get(guild_id)
        return await self.store.guilds.update(guild_id, actor_id=actor_id, **changes)

    async def set_limits(
        self, guild_id: int, actor_id: int, changes: dict[str, int]
    ) -> ReportLimits:
        problems = []
        for name, value in changes.items():
            low, high = LIMIT_BOUNDS[name]
            if not low <= value <= high:
                problems.append(f"`{name}` must be between {low} and {high}")
        if problems:
            raise InvalidInput("Nothing was changed: " + "; ".join(problems) + ".")
        if not changes:
            return (await self.store.guilds.get(guild_id)).limits
        saved = await self.store.guilds.update(guild_id, actor_id=actor_id, **changes)
        return saved.limits

    async def checklist(self, guild_id: int, facts: SetupFacts) -> list[CheckItem]:
        guild = await self.store.guilds.get(guild_id)
        return checklist(
            guild, facts, self.settings,
            bungie_mode=await effective_bungie_mode(self.store, self.settings, self.linking),
            last_problem=await self.store.kv.get(review_problem_key(guild_id)),
        )

    async def overview(self, guild_id: int, facts: SetupFacts) -> Overview:
        return Overview(
            guild=await self.store.guilds.get(guild_id),
            checklist=await self.checklist(guild_id, facts),
            retention_days=self.settings.report_retention_days,
        )


# -- helpers ---------------------------------------------------------------------------
def _required(text: str | None, what: str, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"Please give {what}.")
    if len(value) > limit:
        raise InvalidInput(f"Please keep it under {limit} characters.")
    return value


def _join(items: list[str]) -> str:
    if not items:
        return "nowhere"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _target_name(report: Report) -> str:
    return report.target_bungie_name or report.target_game_name or (
        f"<@{report.target_discord_id}>" if report.target_discord_id else report.target_key
    )


def _filter(guild_id: int, query: ListQuery) -> ReportFilter:
    target = (query.target or "").strip() or None
    if target and target.startswith("<@") and target.endswith(">"):
        target = target.strip("<@!>")
    return ReportFilter(
        guild_id=guild_id, status=query.status, reason=query.reason, target_query=target,
        reporter_id=query.reporter_id, since=query.range.since, until=query.range.until,
    )


def _card_of(found: WithHistory | None, report: Report) -> ReviewCard:
    if found is None:  # gone meanwhile (purged): show what the caller had
        return build_card(report, [], [], [])
    return build_card(found.report, found.deliveries, found.notes, found.history)
