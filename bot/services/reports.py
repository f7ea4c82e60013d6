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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from bot.apis.bungie import BungieClient, Pgcr
from bot.apis.sanctions import SanctionsClient
from bot.domain import Provider
from bot.errors import (
    InvalidInput,
    NeedsLink,
    NotAllowed,
    RateLimited,
    Restarting,
    UserFacingError,
)
from bot.metrics import WardenMetrics
from bot.notify import DmOutcome, LinkButton, Notifier
from bot.services.activities import ActivityDirectory, Choice
from bot.services.events import Event, EventBus, EventKind
from bot.services.game_players import GamePlayers
from bot.services.linking import LinkingService
from bot.services.report_checks import (
    clean_description,
    limit_message,
    parse_activity,
    shown,
)
from bot.services.report_models import DeliveryState, Draft, ReportOutcome, ReportRequest
from bot.services.report_plan import PlannedDelivery, plan_deliveries
from bot.services.report_text import DRAFT_TTL, outcome_notice
from bot.services.targets import SELF_REPORT, Identity, TargetResolver, reporter_entry
from bot.settings import BungieReportMode, Settings
from bot.store import Store
from bot.store.guilds import ReportLimits, ReviewMode
from bot.store.reports import Accepted, LimitHit, NewReport

log = logging.getLogger(__name__)

TOLD_MEMORY = 60.0
"""Seconds an outcome told in a live reply is remembered, so its event does not DM it."""
DRAFT_SWEEP_EVERY = 600.0
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
        settings: Settings,
        bungie: BungieClient | None,
        linking: LinkingService | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.time,
        metrics: WardenMetrics | None = None,
        sanctions: SanctionsClient | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics or WardenMetrics()
        self._taking_reports = True
        self._events = events
        self._settings = settings
        self._linking = linking
        self.notifier = notifier
        self._clock = clock
        self.activities = ActivityDirectory(bungie, clock=clock)
        self.targets = TargetResolver(
            links=store.links, bungie=bungie,
            game=None if sanctions is None else GamePlayers(sanctions))
        self._watches: dict[int, _Watch] = {}
        self._told_live: dict[int, tuple[tuple[DeliveryState, ...], float]] = {}
        self._drafts_swept_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        events.subscribe(EventKind.DELIVERY_CHANGED, self._on_delivery_changed)

    def stop_taking_reports(self) -> None:
        """From now on new reports and confirmations are refused with ``Restarting``
        (shutdown); drafts stay, to be confirmed after the restart."""
        self._taking_reports = False

    async def close(self) -> None:
        """Stop listening and let outcome DMs already under way finish."""
        self._events.unsubscribe(EventKind.DELIVERY_CHANGED, self._on_delivery_changed)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5.0)
        for watch in self._watches.values():
            watch.future.cancel()
        self._watches.clear()

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
            await self._check_limits(guild_id, reporter_id, NO_TARGET, None,
                                     replace(guild.limits, target_cooldown_hours=0),
                                     self._clock())

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
        # The per-reporter limits first: someone who may not report now costs no look-ups.
        await self._check_limits(request.guild_id, request.reporter_id, NO_TARGET, None,
                                 replace(guild.limits, target_cooldown_hours=0), now)

        reporter = await self.targets.member(request.reporter_id)
        self._need_some_link(reporter)
        pgcr: Pgcr | None = None
        if activity.activity_id is not None and self.activities.enabled:
            if Provider.BUNGIE not in reporter.linked:
                raise NeedsLink(
                    "To report from a Destiny activity I need to check that you played in it: "
                    "link your Bungie.net account with `/link bungie` first (or leave the "
                    "activity out).",
                    providers=[Provider.BUNGIE.value],
                )
            pgcr = await self.activities.pgcr(activity.activity_id)
            if reporter_entry(pgcr, reporter) is None:
                as_who = f" as {shown(reporter.bungie_name)}" if reporter.bungie_name else ""
                raise InvalidInput(
                    f"You did not play in activity `{activity.activity_id}`{as_who}. Reports "
                    "about an activity must come from someone who was in it."
                )
        target = await self.targets.resolve(
            reporter=reporter, text=request.player, member_id=request.target_member_id,
            pgcr=pgcr,
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
        plan = plan_deliveries(new, self._settings)
        if not any(p.included for p in plan):
            raise self._nowhere_to_send(plan)
        report = await self._store.reports.create_draft(new, now=now)
        missing = [p.missing_link.value for p in plan if p.missing_link is not None]
        activity_label = None
        if pgcr is not None:
            activity_label = await self.activities.describe(
                pgcr.activity_id, pgcr.activity_details.mode,
                pgcr.activity_details.director_activity_hash, pgcr.period)
        return Draft(
            report=report,
            target=target,
            plan=plan,
            activity_label=activity_label,
            review_first=guild.review_mode is ReviewMode.APPROVE,
            handoff=await self.bungie_handoff_mode(),
            link_buttons=await self._link_buttons(request.reporter_id, missing),
        )

    async def cancel(self, report_id: int, *, actor_id: int) -> bool:
        report = await self._store.reports.get(report_id)
        if report is None or report.reporter_id != actor_id:
            raise NotAllowed("Only the member who started this report can cancel it.")
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
        if report is None or report.reporter_id != actor_id:
            raise NotAllowed("Only the member who started this report can confirm it.")
        if report.status == "cancelled":
            raise UserFacingError(f"Report #{report.number} was cancelled; nothing was sent. "
                                  "Start again with `/report`.")
        if report.status != "draft":
            return await self.outcome(report_id)
        if not self._taking_reports:
            self._metrics.reports.inc(reason=report.reason, outcome="refused")
            raise Restarting(f"Warden is restarting, so report #{report.number} was not sent "
                             "yet. Press Confirm again in a minute: your draft is kept.")
        now = self._clock()
        if now - report.created_at > DRAFT_TTL:
            await self._store.reports.cancel_draft(report_id, reporter_id=actor_id)
            raise UserFacingError(f"Report #{report.number} waited too long for confirmation "
                                  "and was dropped; nothing was sent. Start again with "
                                  "`/report`.")
        guild = await self._store.guilds.get(report.guild_id)
        plan = [p for p in plan_deliveries(report, self._settings) if p.included]
        if not plan:
            raise self._nowhere_to_send(plan_deliveries(report, self._settings))
        initial = "held" if guild.review_mode is ReviewMode.APPROVE else "pending"
        if live_for is not None:
            loop = asyncio.get_running_loop()
            self._watches[report_id] = _Watch(loop.create_future(), now + live_for)
        result = await self._store.reports.accept(
            report_id,
            limits=guild.limits,
            deliveries=[(p.destination.value, initial) for p in plan],
            actor_id=actor_id,
            now=now,
        )
        if isinstance(result, LimitHit):
            # The draft stays: the member may press Confirm again once the limit allows.
            self._watches.pop(report_id, None)
            self._metrics.reports.inc(reason=report.reason, outcome="limited")
            raise _limit_error(result, guild.limits, now)
        if isinstance(result, Accepted):
            self._metrics.reports.inc(reason=report.reason, outcome="accepted")
            log.info("report %s (#%s in guild %s) accepted; deliveries %s", report_id,
                     result.report.number, result.report.guild_id, initial,
                     extra={"report_id": report_id, "guild_id": result.report.guild_id,
                            "reason": report.reason})
            await self._events.publish(Event(EventKind.REPORT_ACCEPTED, report_id))
            if initial == "pending":
                await self._events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id))
        return await self.outcome(report_id)

    # ---- 3. outcomes -------------------------------------------------------------------

    async def outcome(self, report_id: int) -> ReportOutcome:
        found = await self._store.report_views.with_deliveries(report_id)
        if found is None:
            raise UserFacingError("That report no longer exists.")
        return ReportOutcome(found.report, tuple(DeliveryState.of(d) for d in found.deliveries))

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
        task = asyncio.create_task(self._dm_outcome(outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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

    async def _dm_outcome(self, outcome: ReportOutcome) -> None:
        reporter = outcome.report.reporter_id
        if self.notifier is None or not await self._store.prefs.notify_dm(reporter):
            return
        result = await self.notifier.send_dm(reporter, outcome_notice(outcome))
        if result is not DmOutcome.SENT:
            log.info("outcome DM for report %s not delivered: %s", outcome.report.id,
                     result.value)

    # ---- autocomplete ----------------------------------------------------------------

    async def activity_choices(self, reporter_id: int, typed: str) -> list[Choice]:
        """The reporter's recent Destiny activities (mode, map, how long ago)."""
        reporter = await self.targets.member(reporter_id)
        return await self.activities.recent_choices(reporter, typed)

    async def player_choices(self, reporter_id: int, activity: str | None,
                             typed: str) -> list[Choice]:
        """The other players of the chosen activity; game players with the typed in-game
        name when the activity offers none."""
        try:
            ref = parse_activity(activity)
        except InvalidInput:
            ref = None
        found: list[Choice] = []
        if ref is not None and ref.activity_id is not None and self.activities.enabled:
            reporter = await self.targets.member(reporter_id)
            found = await self.activities.player_choices(ref.activity_id, reporter, typed)
        if not found:
            found = [Choice(name, value) for name, value in
                     await self.targets.game_choices(typed)]
        return found

    # ---- preferences -------------------------------------------------------------------

    async def set_notify_dm(self, discord_user_id: int, enabled: bool) -> None:
        await self._store.prefs.set_notify_dm(discord_user_id, enabled)

    async def notify_dm(self, discord_user_id: int) -> bool:
        return await self._store.prefs.notify_dm(discord_user_id)

    # ---- helpers ---------------------------------------------------------------------

    async def bungie_handoff_mode(self) -> bool:
        """Whether Bungie.net reports are currently handed to the reporter to file."""
        return await effective_bungie_mode(self._store, self._settings, self._linking) is (
            BungieReportMode.HANDOFF
        )

    async def _expire_old_drafts(self, now: float) -> None:
        """Drafts nobody confirmed in time become cancelled, at most every few minutes."""
        if now - self._drafts_swept_at < DRAFT_SWEEP_EVERY:
            return
        self._drafts_swept_at = now
        expired = await self._store.reports.expire_drafts(now - DRAFT_TTL)
        if expired:
            log.info("dropped %d unconfirmed report draft(s)", expired)

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
                "Reports need a linked Bungie.net or game account, but account linking is not "
                "set up on this Warden. Ask the server's admins."
            )
        commands = " or ".join(f"`/link {p.value}`" for p in providers)
        raise NeedsLink(
            "Reports are filed under your own game identity, so link your account first: "
            f"{commands}. It takes a minute, and you only do it once.",
            providers=[p.value for p in providers],
        )

    def _linkable(self) -> list[Provider]:
        found: list[Provider] = []
        if self._linking is not None:
            if self._settings.bungie_oauth_enabled and self._linking.configured(Provider.BUNGIE):
                found.append(Provider.BUNGIE)
            if self._settings.sanctions_enabled and self._linking.configured(Provider.GAME):
                found.append(Provider.GAME)
        return found

    def _nowhere_to_send(self, steps: Sequence[PlannedDelivery]) -> UserFacingError:
        if not steps:
            return UserFacingError("No report destination is set up on this Warden yet. Ask "
                                   "the server's admins.")
        reasons = "; ".join(f"{p.label}: {p.why_not}" for p in steps)
        message = f"I can't forward this report anywhere. {reasons}."
        links = [p.missing_link.value for p in steps if p.missing_link is not None]
        if links:
            return NeedsLink(message, providers=links)
        return InvalidInput(message)

    async def _link_buttons(self, user_id: int, providers: list[str]) -> tuple[LinkButton, ...]:
        if self._linking is None or not providers:
            return ()
        try:
            return tuple(await self._linking.relink_buttons(user_id, providers))
        except UserFacingError:
            return ()


async def effective_bungie_mode(store: Store, settings: Settings,
                                linking: LinkingService | None) -> BungieReportMode:
    """Direct or hand-off for the next Bungie report.

    ``direct`` and ``handoff`` are the operator's word. ``auto`` submits directly until
    Bungie answers 2108 (scope not granted), which is remembered for the installation.
    Without account linking there are no member tokens, so only hand-off can work.
    """
    configured = settings.bungie_report_mode
    if configured is BungieReportMode.HANDOFF or linking is None:
        return BungieReportMode.HANDOFF
    if configured is BungieReportMode.DIRECT:
        return BungieReportMode.DIRECT
    learned = await store.kv.get(BUNGIE_MODE_KEY)
    if isinstance(learned, dict) and learned.get("mode") == BungieReportMode.HANDOFF.value:
        return BungieReportMode.HANDOFF
    return BungieReportMode.DIRECT


BUNGIE_MODE_KEY = "bungie.report_mode"


def _limit_error(hit: LimitHit, limits: ReportLimits, now: float) -> UserFacingError:
    message = limit_message(hit, limits, now)
    if hit.retry_at is None:
        return LimitReached(message)
    return RateLimited(message, retry_at=hit.retry_at)


__all__ = [
    "BUNGIE_MODE_KEY",
    "Choice",
    "Draft",
    "ReportOutcome",
    "ReportRequest",
    "ReportService",
    "effective_bungie_mode",
]
