"""The report service: decides whether a report may be made, stores it, and keeps the
reporter told.

A report goes draft -> accepted in two steps so that the member sees exactly what
will be forwarded before anything is: ``prepare`` checks everything it can (input
formats, links, the activity, the target, the durable limits) and stores a
numbered draft; ``confirm`` accepts it in one transaction with its delivery rows,
re-checking the limits there, and wakes the outbox. The outcome of each delivery
comes back as an event: a live interaction is told through ``wait_outcome``,
anyone else by DM if they want DMs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from bot.apis.bungie import BungieClient, Pgcr
from bot.apis.sanctions import SanctionsClient
from bot.domain import DeliveryStatus, NewReport, Provider, ReportLimits, ReportStatus, ReviewMode
from bot.errors import (
    InvalidInput,
    NeedsLink,
    NotAllowed,
    RateLimited,
    Restarting,
    UserFacingError,
)
from bot.i18n import Duration, joined, language_of, t
from bot.metrics import WardenMetrics
from bot.notify import GuildMembers, LinkButton
from bot.services.delivery.registry import DestinationRegistry, PlannedDelivery
from bot.services.events import Event, EventBus, EventKind, Listening
from bot.services.linking.service import LinkingService
from bot.services.reporting.activities import ActivityDirectory, Choice
from bot.services.reporting.game_players import GamePlayers
from bot.services.reporting.lookup_budget import LookupBudget
from bot.services.reporting.reporter_notices import ReporterMessenger, Told, report_outcome
from bot.services.reporting.requests import DeliveryState, Draft, ReportOutcome, ReportRequest
from bot.services.reporting.targets import SELF_REPORT, Identity, TargetResolver, reporter_entry
from bot.services.reporting.text import DRAFT_TTL, outcome_notice
from bot.services.reporting.typed_input import (
    clean_description,
    limit_message,
    parse_activity,
    shown,
)
from bot.store import Store
from bot.store.reports import Accepted, LimitHit

log = logging.getLogger(__name__)

TOLD_MEMORY = 60.0
"""Seconds an outcome told in a live reply is remembered, so its event does not DM it."""
LATE_MARGIN = 5.0
"""Seconds past another process's live reply before this one tells its outcome instead:
an edit under way at the very end finishes first."""
DRAFT_SWEEP_EVERY = 600.0
DRAFT_WINDOW = 3600.0
"""The draft limit counts this many seconds back; unconfirmed rows are deleted once they
are older, so the table does not keep every look-up forever."""
NO_TARGET = ""
"""A target key no report has: lets ``check_limits`` answer the per-reporter rules alone."""


class LimitReached(NotAllowed):
    """A report limit that never lifts (the same player for the same activity)."""


@dataclass
class _Watch:
    future: asyncio.Future[ReportOutcome]
    deadline: float


class ReportService:
    def __init__(
        self,
        *,
        store: Store,
        events: EventBus,
        destinations: DestinationRegistry,
        bungie: BungieClient | None,
        linking: LinkingService | None,
        members: GuildMembers,
        metrics: WardenMetrics,
        drafts_per_hour: int,
        lookups_per_minute: int,
        clock: Callable[[], float] = time.time,
        messenger: ReporterMessenger,
        sanctions: SanctionsClient | None = None,
    ) -> None:
        self._store = store
        self.messenger = messenger
        self._metrics = metrics
        self._taking_reports = True
        self._events = events
        self._destinations = destinations
        self._linking = linking
        self._clock = clock
        self.activities = ActivityDirectory(bungie, clock=clock)
        self._drafts_per_hour = drafts_per_hour
        self._lookups = LookupBudget(lookups_per_minute, clock=clock)
        self.targets = TargetResolver(
            links=store.links, bungie=bungie, members=members,
            game=None if sanctions is None else GamePlayers(sanctions))
        self._watches: dict[int, _Watch] = {}
        self._told_live: dict[int, tuple[tuple[DeliveryState, ...], float]] = {}
        self._live_until: dict[int, float] = {}
        """Reports whose live reply this process recorded at acceptance, until when: an
        outcome another process settles is told by this one (the relay brings it)."""
        self._drafts_swept_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._later: set[asyncio.Task[None]] = set()
        """Checks, once another process's live reply has run out, that its outcome was
        told (cancelled at close: a long wait must not hold up a stop)."""

    def listens(self) -> Listening:
        return {EventKind.DELIVERY_CHANGED: self._on_delivery_changed,
                EventKind.EVENTS_MISSED: self._on_events_missed}

    def stop_taking_reports(self) -> None:
        """From now on new reports and confirmations are refused with ``Restarting``
        (shutdown); drafts stay, to be confirmed after the restart."""
        self._taking_reports = False

    async def close(self) -> None:
        """Let outcome DMs already under way finish."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5.0)
        for watch in self._watches.values():
            watch.future.cancel()
        self._watches.clear()
        for task in self._later:
            task.cancel()
        await asyncio.gather(*self._later, return_exceptions=True)

    # ---- 1. draft ---------------------------------------------------------------------

    async def precheck(self, guild_id: int, reporter_id: int, member_id: int | None) -> None:
        """What can be refused before the member fills in a form: reporting themself, or
        a per-reporter limit that is already reached."""
        with self._refusals_counted(reason=None):
            if not self._taking_reports:
                raise Restarting()
            if member_id is not None and member_id == reporter_id:
                raise NotAllowed(SELF_REPORT)
            guild = await self._store.guilds.get(guild_id)
            now = self._clock()
            await self._check_block(guild_id, reporter_id, now)
            await self._check_limits(guild_id, reporter_id, NO_TARGET, None,
                                     replace(guild.limits, target_cooldown_hours=0), now)
            await self._check_draft_limit(reporter_id, now)

    async def prepare(self, request: ReportRequest) -> Draft:
        """Check the report and store it as a numbered draft; raise a ``UserFacingError``
        saying exactly what is wrong otherwise."""
        with self._refusals_counted(reason=request.reason.value):
            if not self._taking_reports:
                raise Restarting()
            draft = await self._draft(request)
        self._metrics.reports.inc(reason=request.reason.value, outcome="drafted")
        return draft

    @contextmanager
    def _refusals_counted(self, *, reason: str | None) -> Iterator[None]:
        try:
            yield
        except UserFacingError as exc:
            limited = isinstance(exc, RateLimited | LimitReached)
            self._metrics.reports.inc(reason=reason or "none",
                                      outcome="limited" if limited else "refused")
            raise

    async def _draft(self, request: ReportRequest) -> Draft:
        now = self._clock()
        await self._expire_old_drafts(now)
        description = clean_description(request.description)
        activity = parse_activity(request.activity)
        guild = await self._store.guilds.get(request.guild_id)
        await self._check_block(request.guild_id, request.reporter_id, now)
        # The per-reporter limits first: someone who may not report now costs no look-ups.
        await self._check_limits(request.guild_id, request.reporter_id, NO_TARGET, None,
                                 replace(guild.limits, target_cooldown_hours=0), now)
        await self._check_draft_limit(request.reporter_id, now)

        reporter = await self.targets.member(request.reporter_id)
        self._need_some_link(reporter)
        pgcr: Pgcr | None = None
        if activity.activity_id is not None and self.activities.enabled:
            if Provider.BUNGIE not in reporter.linked:
                raise NeedsLink(
                    t('To report from a Destiny activity I need to check that you played in '
                      'it: link your Bungie.net account with `/link bungie` first (or leave '
                      'the activity out).'),
                    providers=[Provider.BUNGIE.value],
                )
            pgcr = await self.activities.pgcr(activity.activity_id)
            if reporter_entry(pgcr, reporter) is None:
                raise InvalidInput(
                    t('You did not play in activity `{activity_id}` as {name}. Reports about '
                      'an activity must come from someone who was in it.',
                      activity_id=activity.activity_id, name=shown(reporter.bungie_name))
                    if reporter.bungie_name else
                    t('You did not play in activity `{activity_id}`. Reports about an '
                      'activity must come from someone who was in it.',
                      activity_id=activity.activity_id)
                )
        target = await self.targets.resolve(
            reporter=reporter, text=request.player, member_id=request.target_member_id,
            pgcr=pgcr, guild_id=request.guild_id,
        )
        await self._check_limits(request.guild_id, request.reporter_id, target.key,
                                 activity.activity_id, guild.limits, now)

        new = NewReport(
            guild_id=request.guild_id,
            channel_id=request.channel_id,
            reporter_id=request.reporter_id,
            reason=request.reason.value,
            target_key=target.key,
            description=description,
            target_discord_id=target.discord_id,
            target_bungie_membership_id=target.destiny_membership_id,
            target_bungie_membership_type=target.destiny_membership_type,
            target_bungie_name=target.bungie_name,
            target_character_id=target.character_id if pgcr is not None else None,
            target_player_uuid=None if target.player_uuid is None else str(target.player_uuid),
            target_game_name=target.game_name,
            reporter_destiny_membership_id=reporter.destiny_membership_id,
            reporter_player_uuid=(
                None if reporter.player_uuid is None else str(reporter.player_uuid)
            ),
            activity_id=activity.activity_id,
            activity_mode=None if pgcr is None else pgcr.activity_details.mode,
            activity_hash=None if pgcr is None else pgcr.activity_details.director_activity_hash,
            activity_period=None if pgcr is None else pgcr.period.isoformat(),
            match_id=activity.match_id,
            evidence=request.evidence,
        )
        plan = await self._destinations.plan(new)
        if not any(p.included for p in plan):
            raise self._nowhere_to_send(plan)
        report = await self._store.reports.create_draft(new, now=now)
        missing = [p.missing_link.value for p in plan if p.missing_link is not None]
        activity_label = None
        language = language_of(request.locale).bungie
        if pgcr is not None:
            activity_label = await self.activities.describe(
                pgcr.activity_id, pgcr.activity_details.mode,
                pgcr.activity_details.director_activity_hash, pgcr.period, language)
        return Draft(
            report=report,
            target=target,
            plan=plan,
            activity_label=activity_label,
            filed_as=await self._destinations.filed_as(new, plan, language),
            review_first=guild.review_mode is ReviewMode.APPROVE,
            link_buttons=await self._link_buttons(request.reporter_id, missing,
                                               request.reporter_name),
        )

    async def cancel(self, report_id: int, *, actor_id: int) -> bool:
        report = await self._store.reports.get(report_id)
        if report is None:
            return False  # dropped unconfirmed: nothing to cancel
        if report.reporter_id != actor_id:
            raise NotAllowed(t('Only the member who started this report can cancel it.'))
        return await self._store.reports.cancel_draft(report_id, reporter_id=actor_id)

    # ---- 2. acceptance ------------------------------------------------------------------

    async def confirm(
        self, report_id: int, *, actor_id: int, live_for: float | None = None
    ) -> ReportOutcome:
        """Accept the draft with its delivery rows; idempotent for a second click.

        ``live_for`` seconds: the caller can still answer in place (an interaction
        token), so outcomes go to ``wait_outcome`` instead of a DM until then.
        """
        report = await self._store.reports.get(report_id)
        if report is None:
            raise UserFacingError(t('This draft waited too long for confirmation and was '
                                    'dropped; nothing was sent. Start again with `/report`.'))
        if report.reporter_id != actor_id:
            raise NotAllowed(t('Only the member who started this report can confirm it.'))
        if report.status is ReportStatus.CANCELLED:
            raise UserFacingError(t('Report #{number} was cancelled; nothing was sent. Start '
                                    'again with `/report`.',
                                    number=report.number))
        if report.status is not ReportStatus.DRAFT:
            return await self.outcome(report_id)
        if not self._taking_reports:
            self._metrics.reports.inc(reason=report.reason, outcome="refused")
            raise Restarting(t('Warden is restarting, so report #{number} was not sent yet. '
                               'Press Confirm again in a minute: your draft is kept.',
                               number=report.number))
        now = self._clock()
        if now - report.created_at > DRAFT_TTL:
            await self._store.reports.cancel_draft(report_id, reporter_id=actor_id)
            raise UserFacingError(t('Report #{number} waited too long for confirmation and '
                                    'was dropped; nothing was sent. Start again with '
                                    '`/report`.',
                                    number=report.number))
        await self._check_block(report.guild_id, actor_id, now)
        guild = await self._store.guilds.get(report.guild_id)
        planned = await self._destinations.plan(report)
        plan = [p for p in planned if p.included]
        if not plan:
            raise self._nowhere_to_send(planned)
        initial = (DeliveryStatus.HELD if guild.review_mode is ReviewMode.APPROVE
                   else DeliveryStatus.PENDING)
        if live_for is not None:
            loop = asyncio.get_running_loop()
            self._watches[report_id] = _Watch(loop.create_future(), now + live_for)
            self._live_until[report_id] = now + live_for
        result = await self._store.reports.accept(
            report_id,
            limits=guild.limits,
            deliveries=[(p.destination, initial) for p in plan],
            actor_id=actor_id,
            now=now,
            live=None if live_for is None else self.messenger.live_reply(live_for, now),
        )
        if isinstance(result, LimitHit):
            # The draft stays: the member may press Confirm again once the limit allows.
            self._watches.pop(report_id, None)
            self._live_until.pop(report_id, None)
            self._metrics.reports.inc(reason=report.reason, outcome="limited")
            raise _limit_error(result, guild.limits, now)
        if isinstance(result, Accepted):
            self._metrics.reports.inc(reason=report.reason, outcome="accepted")
            log.info("report %s (#%s in guild %s) accepted; deliveries %s", report_id,
                     result.report.number, result.report.guild_id, initial,
                     extra={"report_id": report_id, "guild_id": result.report.guild_id,
                            "reason": report.reason})
            guild_id = result.report.guild_id
            await self._events.publish(Event(EventKind.REPORT_ACCEPTED, report_id,
                                             guild_id=guild_id))
            if initial is DeliveryStatus.PENDING:
                await self._events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id,
                                                 guild_id=guild_id))
        return await self.outcome(report_id)

    # ---- 3. outcomes -------------------------------------------------------------------

    async def outcome(self, report_id: int) -> ReportOutcome:
        found = await report_outcome(self._store, report_id, self._destinations.name)
        if found is None:
            raise UserFacingError(t('That report no longer exists.'))
        return found

    async def showing_in_place(self, report_id: int, token: str) -> None:
        """Call right before editing the final outcome into the reporter's live reply
        (``token``: its interaction's), then ``told_in_place`` once the edit is done."""
        await self.messenger.showing_in_place(report_id, token)

    async def told_in_place(self, report_id: int) -> None:
        """The caller showed the final outcome in the reporter's interaction: recorded, so
        that neither an event nor the next start sends it again by DM."""
        await self.messenger.told_in_place(report_id)

    async def tell_instead(self, report_id: int) -> None:
        """The caller could not show the final outcome it was handed: DM it now."""
        self._told_live.pop(report_id, None)
        await self._dm_outcome(await self.outcome(report_id))

    def start_telling_untold(self) -> None:
        """In the background: outcomes, questions and decisions a stop kept from reporters
        go by DM now (each once)."""
        task = asyncio.create_task(self._tell_untold())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell_untold(self) -> None:
        try:
            await self.messenger.tell_untold(later=self._later_check)
        except Exception:
            log.exception("could not tell reporters what a stop kept from them")

    async def wait_outcome(self, report_id: int) -> ReportOutcome | None:
        """The final outcome while the caller's ``live_for`` lasts; None after that (the
        reporter is then told by DM, if they want DMs)."""
        watch = self._watches.get(report_id)
        if watch is None:
            return None
        try:
            current = await self.outcome(report_id)
            if current.final and not watch.future.done():
                watch.future.set_result(current)
            remaining = watch.deadline - self._clock()
            if remaining > 0 and not watch.future.done():
                await asyncio.wait({watch.future}, timeout=remaining)
        finally:
            # From here on an outcome that was not handed over goes by DM.
            if self._watches.get(report_id) is watch:
                del self._watches[report_id]
        if watch.future.done() and not watch.future.cancelled():
            told = watch.future.result()
            # The event for this outcome may still be on its way: it must not DM it again.
            # Re-inserted, so the dict stays in the order told (``_prune`` relies on it).
            self._told_live.pop(report_id, None)
            self._told_live[report_id] = (told.deliveries, self._clock())
            return told
        return None

    async def _on_delivery_changed(self, event: Event) -> None:
        if event.report_id is None:
            return
        if event.remote and event.report_id not in self._live_until:
            return  # settled elsewhere, and told from there
        outcome = await self.outcome(event.report_id)
        if not outcome.final:
            return
        self._prune()
        watch = self._watches.get(event.report_id)
        if watch is not None:
            # A live interaction takes it (or already has): no DM.
            if not watch.future.done():
                watch.future.set_result(outcome)
            return
        told = self._told_live.get(event.report_id)
        if told is not None and told[0] == outcome.deliveries:
            return
        # A remote one reaching here: the other process left the telling to this one's
        # live reply, which has just run out, so this one tells it.
        if not event.remote:
            elsewhere = await self.messenger.held_elsewhere(event.report_id, self._clock())
            if elsewhere is not None:
                # That process edits its live reply (it hears of this through the relay);
                # should it be gone by then, this one tells once the reply has run out.
                self._later_check(outcome.report.id, elsewhere.until - self._clock())
                return
        self._spawn(self._dm_outcome(outcome))

    async def _on_events_missed(self, event: Event) -> None:
        # The relay lost other processes' events for a while: outcomes this process's
        # live replies wait for may have been settled meanwhile.
        for report_id in list(self._watches):
            await self._on_delivery_changed(Event(EventKind.DELIVERY_CHANGED, report_id))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _later_check(self, report_id: int, delay: float) -> None:
        async def check() -> None:
            await asyncio.sleep(max(delay, 0.0) + LATE_MARGIN)
            try:
                outcome = await self.outcome(report_id)
                if outcome.final:  # else a moderator's retry runs: told when it ends
                    await self._dm_outcome(outcome)
            except Exception:
                log.exception("could not tell the outcome of report %s", report_id)

        task = asyncio.create_task(check())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    def _prune(self) -> None:
        """Forget watches whose interaction can no longer answer."""
        now = self._clock()
        for report_id, watch in list(self._watches.items()):
            if now >= watch.deadline:
                del self._watches[report_id]
                watch.future.cancel()
        # Oldest first: stop at the first one still remembered (this runs for every
        # delivery, and a busy minute holds thousands).
        while self._told_live:
            report_id, (_, at) = next(iter(self._told_live.items()))
            if now - at <= TOLD_MEMORY:
                break
            del self._told_live[report_id]
        # In acceptance order, so in deadline order too.
        while self._live_until:
            report_id, until = next(iter(self._live_until.items()))
            if now <= until + TOLD_MEMORY:
                break
            del self._live_until[report_id]

    async def _dm_outcome(self, outcome: ReportOutcome) -> None:
        notice = await self._store.notices.untold_outcome(outcome.report.id)
        if notice is None:
            return  # told already: in place, or by an earlier DM
        result = await self.messenger.tell_by_dm(notice, outcome_notice(outcome))
        if result not in (Told.SENT, Told.DMS_OFF, Told.ALREADY):
            log.info("outcome DM for report %s not delivered: %s", outcome.report.id,
                     result.value)

    # ---- autocomplete ----------------------------------------------------------------

    async def activity_choices(self, reporter_id: int, typed: str,
                               locale: object = None) -> list[Choice]:
        """The reporter's recent Destiny activities (mode, map, how long ago); activity
        names from Bungie's manifest in the language of ``locale``."""
        reporter = await self.targets.member(reporter_id)
        if (reporter.destiny_membership_id is not None
                and not self.activities.recent_ids(reporter)
                and not self._lookups.take(reporter_id)):
            return []
        return await self.activities.recent_choices(reporter, typed,
                                                    language_of(locale).bungie)

    async def player_choices(self, reporter_id: int, activity: str | None,
                             typed: str) -> list[Choice]:
        """The other players of the chosen activity; game players with the typed in-game
        name when the activity offers none.

        Only a member with a linked Bungie account gets an activity's players (a report
        about an activity needs one); an activity outside their recent ones that Warden has
        not looked up yet, and every in-game name look-up, count against their look-up
        allowance."""
        try:
            ref = parse_activity(activity)
        except InvalidInput:
            ref = None
        found: list[Choice] = []
        if ref is not None and ref.activity_id is not None and self.activities.enabled:
            reporter = await self.targets.member(reporter_id)
            free = (self.activities.known(ref.activity_id)
                    or ref.activity_id in self.activities.recent_ids(reporter))
            if Provider.BUNGIE in reporter.linked and (free or self._lookups.take(reporter_id)):
                found = await self.activities.player_choices(ref.activity_id, reporter, typed)
        if not found and typed.strip() and self._lookups.take(reporter_id):
            found = [Choice(name, value) for name, value in
                     await self.targets.game_choices(typed)]
        return found

    # ---- preferences -------------------------------------------------------------------

    async def set_notify_dm(self, discord_user_id: int, enabled: bool) -> None:
        await self._store.prefs.set_notify_dm(discord_user_id, enabled)

    # ---- helpers ---------------------------------------------------------------------

    async def _expire_old_drafts(self, now: float) -> None:
        """Drafts nobody confirmed in time become cancelled, at most every few minutes."""
        if now - self._drafts_swept_at < DRAFT_SWEEP_EVERY:
            return
        await self.drop_stale_drafts()

    async def drop_stale_drafts(self) -> None:
        """Cancel drafts past their confirmation time and delete unconfirmed rows older
        than the draft window (at start-up, then from ``prepare`` every few minutes)."""
        now = self._clock()
        self._drafts_swept_at = now
        expired = await self._store.reports.expire_drafts(now - DRAFT_TTL)
        deleted = await self._store.reports.delete_unconfirmed(now - DRAFT_WINDOW)
        if expired or deleted:
            log.info("dropped %d unconfirmed report draft(s), deleted %d old one(s)",
                     expired, deleted)

    async def _check_draft_limit(self, reporter_id: int, now: float) -> None:
        """A durable cap on drafts a member starts and never confirms, in every server:
        each one costs look-ups (Bungie calls, linked accounts), and cancelling is free."""
        limit = self._drafts_per_hour
        if limit <= 0:
            return
        nth = await self._store.reports.nth_unconfirmed_since(reporter_id, now - DRAFT_WINDOW,
                                                              limit)
        if nth is not None:
            retry_at = nth + DRAFT_WINDOW
            raise RateLimited(
                t('You started {limit} reports in the last hour without confirming them. You '
                  'can start another in {duration_text}.',
                  limit=limit, duration_text=Duration(retry_at - now)), retry_at=retry_at)

    async def _check_block(self, guild_id: int, reporter_id: int, now: float) -> None:
        block = await self._store.blocks.active(guild_id, reporter_id, now)
        if block is not None:
            raise LimitReached(t(
                "This server's moderators stopped you from reporting here until <t:{until}:f>, "
                "after a report of yours was dismissed. If you think this is a mistake, "
                "contact the moderators.", until=int(block.until)))

    async def _check_limits(self, guild_id: int, reporter_id: int, target_key: str,
                            activity_id: int | None, limits: ReportLimits, now: float) -> None:
        hit = await self._store.reports.check_limits(
            guild_id, reporter_id, target_key, activity_id, limits, now=now
        )
        if hit is not None:
            raise _limit_error(hit, limits, now)

    def _need_some_link(self, reporter: Identity) -> None:
        if reporter.linked:
            return
        providers = self._linkable()
        if not providers:
            raise UserFacingError(
                t('Reports need a linked Bungie.net or game account, but account linking is '
                  "not set up on this Warden. Ask the server's admins.")
            )
        commands = " or ".join(f"`/link {p.value}`" for p in providers)
        raise NeedsLink(
            t('Reports are filed under your own game identity, so link your account first: '
              '{commands}. It takes a minute, and you only do it once.',
              commands=commands),
            providers=[p.value for p in providers],
        )

    def _linkable(self) -> list[Provider]:
        linking = self._linking
        if linking is None:
            return []
        return [p for p in self._destinations.links() if linking.configured(p)]

    def _nowhere_to_send(self, steps: Sequence[PlannedDelivery]) -> UserFacingError:
        if not steps:
            return UserFacingError(t('No report destination is set up on this Warden yet. '
                                     "Ask the server's admins."))
        reasons = joined("; ", [t("{label}: {why_not}", label=p.label, why_not=p.why_not)
                                for p in steps])
        message = t("I can't forward this report anywhere. {reasons}.", reasons=reasons)
        links = [p.missing_link.value for p in steps if p.missing_link is not None]
        if links:
            return NeedsLink(message, providers=links)
        return InvalidInput(message)

    async def _link_buttons(
        self, user_id: int, providers: list[str], name: str | None
    ) -> tuple[LinkButton, ...]:
        if self._linking is None or not providers:
            return ()
        try:
            return tuple(await self._linking.relink_buttons(user_id, providers,
                                                            discord_name=name))
        except UserFacingError:
            return ()


def _limit_error(hit: LimitHit, limits: ReportLimits, now: float) -> UserFacingError:
    message = limit_message(hit, limits, now)
    if hit.retry_at is None:
        return LimitReached(message)
    return RateLimited(message, retry_at=hit.retry_at)
