"""The review post: one message per report in its server's review channel, kept current.

Events from the report flow, the outbox and moderators refresh it. A post that cannot
be made (no channel, missing permission) never blocks the report: it is stored and
delivered per the review mode, and the failure is kept for ``/warden setup`` to show.
Posts missed by a stop are made at the next start (``catch_up``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from bot.domain import GuildSettings, Report
from bot.services.delivery.registry import DestinationRegistry
from bot.services.events import Event, EventKind, Listening
from bot.services.review.card import ReviewCard, card_of
from bot.services.review.catch_up import CatchUp
from bot.services.review.checklist import review_problem_key
from bot.services.review.ports import BoardError, BoardProblem, ReviewBoard
from bot.store import Store

log = logging.getLogger(__name__)

POST_CLAIM_SECONDS = 60.0
"""How long one process's claim on a report's review post lasts (longer than a post or
an edit with Discord's retries); a process that died holding it blocks no longer."""
POST_CLAIM_POLL = 0.1
BACKGROUND_POSTS_PER_SERVER = 2
"""Workers refreshing one server's posts in the background. More would only wait in
discord.py's per-channel limit (5 per 5 s), each holding a built card: 2,000 of them
doubled the peak memory of a burst (bench/RESULTS.md). What waits is a report id in the
server's queue, which also takes in every later change of that report (one edit)."""

# kv: purge time up to which purged reports' review posts were scrubbed.
SCRUBBED_KEY = "retention.review_posts_scrubbed_through"


class ReviewPosts:
    def __init__(
        self,
        *,
        store: Store,
        board: ReviewBoard,
        destinations: DestinationRegistry,
        settle_seconds: float,
        catch_up_interval: float,
        holds_guild: Callable[[int], bool] | None = None,
    ) -> None:
        """``settle_seconds``: how long a new report's post waits for its deliveries;
        ``catch_up_interval``: seconds between the missing posts ``catch_up`` makes;
        ``holds_guild``: whether this process runs the shard of a server (None: all
        of them). With several processes, the one running a server's shard keeps its
        posts current after background changes, wherever they happened (the event relay
        brings it the others'): one edit per change, by the process that knows the
        channel."""
        self._store = store
        self._holds_guild = holds_guild
        self._board = board
        self._names = destinations.name
        self._settle = settle_seconds
        self._locks: dict[int, asyncio.Lock] = {}
        self._lock_users: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Reports waiting for a background refresh that has not read them yet: that read
        # will see any later change too, so a burst of events costs one edit, not one each.
        self._queued: set[int] = set()
        self._backlog: dict[int, collections.deque[int]] = {}
        """Server id -> report ids settled and waiting for one of its workers."""
        self._workers: collections.Counter[int] = collections.Counter()
        self._without_problem: set[int] = set()
        """Servers whose stored review-post problem this process has cleared."""
        self._catch_up = CatchUp(store, self.refresh, interval=catch_up_interval)

    def listens(self) -> Listening:
        return {
            EventKind.REPORT_ACCEPTED: self._on_background_change,
            EventKind.DELIVERY_CHANGED: self._on_background_change,
            EventKind.REPORT_CHANGED: self._on_moderator_change,
            EventKind.EVENTS_MISSED: self._on_events_missed,
        }

    async def close(self) -> None:
        """Let review posts already under way finish."""
        await self._catch_up.close()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=5.0)
            if late:
                # Queued behind Discord's per-channel limit: the next start's catch-up
                # makes these posts (each is recorded only once Discord took it).
                waiting = len(self._queued)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
                log.info("%d review post update(s) cut short by the stop; missing posts are "
                         "made at the next start", waiting)

    async def settled(self) -> None:
        """Wait for review posts under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _on_background_change(self, event: Event) -> None:
        if event.report_id is not None and (event.guild_id is None
                                            or self._ours(event.guild_id)):
            self._refresh_soon(event.report_id)

    async def _on_moderator_change(self, event: Event) -> None:
        # A moderator's own action: the post is edited before their button press is
        # answered, so what they see next is current (by the process that answers them;
        # the others have nothing left to do).
        if event.report_id is not None and not event.remote:
            await self.refresh(event.report_id)

    async def _on_events_missed(self, event: Event) -> None:
        # Changes made elsewhere meanwhile may have gone unposted: post what is missing.
        if self._holds_guild is not None:
            async def catch_up() -> None:
                await self.catch_up()

            self._start(catch_up(), "review-catch-up-relay")

    def _ours(self, guild_id: int) -> bool:
        return self._holds_guild is None or self._holds_guild(guild_id)

    def _refresh_soon(self, report_id: int) -> None:
        # Events from the report flow and the outbox must not wait for Discord (a post
        # may re-upload megabytes of evidence): the post is made in the background.
        if report_id in self._queued:
            return
        self._queued.add(report_id)
        self._start(self._settle_then_queue(report_id), f"review-post-{report_id}")

    def _start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _settle_then_queue(self, report_id: int) -> None:
        # A report's deliveries usually settle within a second of its acceptance: waiting
        # that long posts the card once, with their results, rather than posting it and
        # editing it once per destination (each edit is a request against the review
        # channel's rate limit, and a moderator watching it sees the card jump).
        try:
            if self._settle > 0:
                await asyncio.sleep(self._settle)
            report = await self._store.reports.get(report_id)
        except BaseException:
            self._queued.discard(report_id)
            raise
        if report is None or not self._ours(report.guild_id):
            self._queued.discard(report_id)
            return
        guild_id = report.guild_id
        self._backlog.setdefault(guild_id, collections.deque()).append(report_id)
        if self._workers[guild_id] < BACKGROUND_POSTS_PER_SERVER:
            self._workers[guild_id] += 1
            self._start(self._work(guild_id), f"review-posts-{guild_id}")

    async def _work(self, guild_id: int) -> None:
        # Moderators' own refreshes do not come through here: they never wait behind a
        # server's backlog.
        try:
            backlog = self._backlog[guild_id]
            while backlog:
                report_id = backlog.popleft()
                try:
                    await self.refresh(report_id)
                except asyncio.CancelledError:
                    self._queued.discard(report_id)
                    raise
                except Exception:
                    self._queued.discard(report_id)  # it may have failed before its read
                    log.exception("review post update of report %s failed", report_id)
        finally:
            self._workers[guild_id] -= 1
            if not self._workers[guild_id]:
                del self._workers[guild_id]
                if not self._backlog.get(guild_id):
                    self._backlog.pop(guild_id, None)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("review post update failed", exc_info=task.exception())

    @asynccontextmanager
    async def _report_lock(self, report_id: int) -> AsyncIterator[None]:
        # Post and edits of one report run one at a time, so the last edit shows the
        # newest state and a report is never posted twice.
        lock = self._locks.setdefault(report_id, asyncio.Lock())
        self._lock_users[report_id] = self._lock_users.get(report_id, 0) + 1
        try:
            async with lock:
                # And one process at a time, when several share the database.
                claim = await self._store.reports.claim_review_post(
                    report_id, seconds=POST_CLAIM_SECONDS)
                while claim is None:
                    await asyncio.sleep(POST_CLAIM_POLL)
                    claim = await self._store.reports.claim_review_post(
                        report_id, seconds=POST_CLAIM_SECONDS)
                try:
                    yield
                finally:
                    await self._store.reports.release_review_post(report_id, claim)
        finally:
            self._lock_users[report_id] -= 1
            if self._lock_users[report_id] == 0:
                del self._lock_users[report_id]
                del self._locks[report_id]

    async def refresh(self, report_id: int, *, repost: bool = True) -> bool:
        """Post the report to its server's review channel, or edit its post.

        Returns False when Discord refused (the problem is kept for ``/warden setup``).
        With ``repost`` False a deleted post stays deleted (the purge scrubber).
        """
        board = self._board
        async with self._report_lock(report_id):
            self._queued.discard(report_id)  # from here on, a change needs a new refresh
            found = await self._store.report_views.with_history(report_id)
            if found is None or found.report.accepted_at is None:
                return True
            if found.lead.id != report_id:
                # A report that joined a case: the case's post is its lead report's.
                lead = await self._store.report_views.with_history(found.lead.id)
                if lead is None:
                    return True
                found = lead
            report = found.report
            card = card_of(found, report, self._names)
            guild = await self._store.guilds.get(report.guild_id)
            if report.review_channel_id is not None and report.review_message_id is not None:
                try:
                    await board.update(
                        report.review_channel_id, report.review_message_id,
                        self._for_channel(guild, report.review_channel_id, card),
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
            if guild.review_channel_id is None or not repost:
                return True
            channel_id = guild.review_channel_id
            try:
                posted = await board.post(channel_id,
                                          self._for_channel(guild, channel_id, card))
            except BoardError as exc:
                await self._record_problem(report, exc)
                return False
            await self._store.reports.record_review_post(
                report.id, channel_id, posted.message_id,
                details={"evidence": posted.evidence,
                         "again": report.review_message_id is not None},
            )
            await self._clear_problem(report.guild_id)
            return True

    def _for_channel(self, guild: GuildSettings, channel_id: int,
                     card: ReviewCard) -> ReviewCard:
        # Reporters are visible to staff only, never in a channel anyone else can read.
        card = dataclasses.replace(card, language=guild.language)
        if card.reporter is not None and self._board.is_public(channel_id,
                                                               guild.moderator_role_id):
            return dataclasses.replace(card, reporter=None)
        return card

    async def _record_problem(self, report: Report, exc: BoardError) -> None:
        log.warning("review post for report %s failed: %s", report.id, exc.detail)
        self._without_problem.discard(report.guild_id)
        await self._store.kv.set(review_problem_key(report.guild_id), {
            "problem": exc.problem.value, "detail": exc.detail, "number": report.number,
            "at": time.time(),
        })

    async def _clear_problem(self, guild_id: int) -> None:
        # Every successful post and edit lands here: read the stored problem only until
        # it is known to be gone (this class is the only one that records problems).
        if guild_id in self._without_problem:
            return
        self._without_problem.add(guild_id)  # before the read: a failure meanwhile undoes it
        key = review_problem_key(guild_id)
        try:
            if await self._store.kv.get(key) is not None:
                await self._store.kv.set(key, None)
        except BaseException:
            self._without_problem.discard(guild_id)
            raise

    async def catch_up(self) -> int:
        """At start: post the reports whose review post was never made (it waits
        ``REVIEW_POST_SETTLE_SECONDS``, so a crash or a stop can fall in between), every
        server at once, each at its channel's pace. Returns how many were posted."""
        servers = await self._store.guilds.with_review_channel()
        done = sum(await asyncio.gather(*(self.repost_missing(g) for g in servers)))
        if done:
            log.info("posted %d review post(s) missing since the last stop", done)
        return done

    async def repost_missing(self, guild_id: int) -> int:
        """Post every report that has no review post yet, oldest first, paced (see
        ``catch_up.py``); joins the server's catch-up if one is running."""
        return await asyncio.shield(self._catch_up.start(guild_id))

    def start_repost_missing(self, guild_id: int) -> asyncio.Task[int]:
        """``repost_missing`` in the background; the task says how many were posted."""
        return self._catch_up.start(guild_id)

    async def scrub_purged(self) -> tuple[int, int]:
        """Edit the review posts of purged reports so they no longer show the content or
        the re-uploaded evidence. Returns (scrubbed, failed); posts that failed are tried
        again next time."""
        since = float(await self._store.kv.get(SCRUBBED_KEY) or 0.0)
        reports = await self._store.reports.purged_with_review_post(purged_after=since)
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
            await self._store.kv.set(SCRUBBED_KEY, mark)
        return scrubbed, failed

    async def purged_posts_waiting(self) -> int:
        since = float(await self._store.kv.get(SCRUBBED_KEY) or 0.0)
        return len(await self._store.reports.purged_with_review_post(purged_after=since))
