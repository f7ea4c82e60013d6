"""What moderators look up: one report, a page of reports, counts, and exports."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.errors import InvalidInput
from bot.i18n import Duration, t
from bot.services.delivery.registry import DestinationRegistry
from bot.services.review.access import Moderators
from bot.services.review.card import (
    STATUS_LABELS,
    ReviewCard,
    card_of,
    outcome_label,
    reason_label,
)
from bot.services.review.chart import DailySeries, render_png
from bot.services.review.dates import DateRange, iso_day
from bot.services.review.export import ExportBundle, build_bundle
from bot.services.review.lifecycle import target_name
from bot.services.review.ports import Actor
from bot.store import Store
from bot.store.reports import ReportFilter

# What a moderator does to a report, as the audit chain names it (the reporter's reply
# and the automatic forwarding have no moderator or are not theirs).
MODERATOR_ACTIONS = (
    "case.claimed", "case.unclaimed", "case.resolved", "case.dismissed",
    "report.claimed", "report.unclaimed", "report.forwarded", "report.dismissed",
    "report.info_request", "report.note", "member.warn", "member.timeout", "member.kick",
    "member.ban",
)
CHART_MAX_DAYS = 92
PAGE_SIZE = 10
HISTORY_MAX = 50
"""Cases ``/reports player`` lists (a message holds about this many lines)."""
# Discord's upload limit for a message without server boosts.
MAX_EXPORT_BYTES = 10 * 1024 * 1024


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
class ReportListPage:
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
    """Destination name (as people read it) -> delivery status -> count."""
    daily: DailySeries
    median_first_action: float | None = None
    """Median seconds from a report's acceptance to the first moderator action on it."""
    acted_on: int = 0
    """How many of the reports a moderator acted on."""
    by_moderator: dict[int, int] = field(default_factory=dict)
    """Moderator id -> actions on the window's reports, most first."""


@dataclass(frozen=True)
class PastCase:
    case_id: int
    number: int
    """The lead report's number."""
    opened_at: float
    decided_at: float | None
    outcome: str


@dataclass(frozen=True)
class PlayerHistory:
    player: str
    cases: tuple[PastCase, ...]
    total: int


class ReportQueries:
    def __init__(self, *, store: Store, moderators: Moderators,
                 destinations: DestinationRegistry) -> None:
        self._store = store
        self._moderators = moderators
        self._names = destinations.name

    async def show(self, guild_id: int, number: int, actor: Actor) -> ReviewCard:
        await self._moderators.require(guild_id, actor)
        report = await self._store.reports.by_number(guild_id, number)
        if report is None or report.accepted_at is None:
            raise InvalidInput(t('There is no report #{number} in this server.', number=number))
        return card_of(await self._store.report_views.with_history(report.id), report,
                       self._names)

    async def card_for(self, guild_id: int, report_id: int, actor: Actor) -> ReviewCard:
        report = await self._moderators.report(guild_id, report_id, actor)
        return card_of(await self._store.report_views.with_history(report.id), report,
                       self._names)

    async def case_card(self, guild_id: int, case_id: int, actor: Actor) -> ReviewCard:
        """The card of case ``case_id`` (its lead report's post)."""
        found = await self._moderators.case(guild_id, case_id, actor)
        lead = found.reports[0]
        return card_of(await self._store.report_views.with_history(lead.id), lead,
                       self._names)

    async def player_history(self, guild_id: int, actor: Actor, player: str) -> PlayerHistory:
        """Every case of the player in this server, newest first (``/reports player``)."""
        await self._moderators.require(guild_id, actor)
        flt = _filter(guild_id, ListQuery(target=player))
        found, _ = await self._store.reports.search(flt, limit=1)
        if not found:
            raise InvalidInput("No report in this server names that player.")
        newest = found[0]
        cases, total = await self._store.cases.of_player(guild_id, newest.target_key,
                                                         limit=HISTORY_MAX)
        past = []
        for case in cases:
            lead = await self._store.reports.get(case.lead_report_id)
            past.append(PastCase(case.id, lead.number if lead else 0, case.created_at,
                                 case.decided_at,
                                 outcome_label(case) or STATUS_LABELS[case.status].lower()))
        return PlayerHistory(target_name(newest), tuple(past), total)

    async def list_reports(
        self, guild_id: int, actor: Actor, query: ListQuery, *, page: int = 0
    ) -> ReportListPage:
        await self._moderators.require(guild_id, actor)
        flt = _filter(guild_id, query)
        wanted = max(page, 0)
        reports, total = await self._store.reports.search(
            flt, limit=PAGE_SIZE, offset=wanted * PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        if wanted >= pages and total:
            wanted = pages - 1
            reports, total = await self._store.reports.search(
                flt, limit=PAGE_SIZE, offset=wanted * PAGE_SIZE
            )
        cases = await self._store.cases.statuses([r.case_id for r in reports if r.case_id])
        items = tuple(
            ReportSummary(r.id, r.number, cases.get(r.case_id or 0, r.status), r.reason,
                          reason_label(r.reason),
                          target_name(r), r.reporter_id, r.accepted_at or r.created_at)
            for r in reports
        )
        return ReportListPage(items, total, wanted, pages)

    async def stats(self, guild_id: int, actor: Actor, period: DateRange) -> Stats:
        await self._moderators.require(guild_id, actor)
        flt = ReportFilter(guild_id=guild_id, since=period.since, until=period.until)
        by_reason = await self._store.reports.counts(flt, "reason")
        by_status = await self._store.reports.counts(flt, "status")
        outcomes = await self._store.deliveries.outcome_counts(guild_id, period.since,
                                                               period.until)
        by_destination: dict[str, dict[str, int]] = {}
        for (destination, status), count in sorted(outcomes.items()):
            by_destination.setdefault(self._names(destination), {})[status] = count
        actions = await self._store.audit.moderator_actions(guild_id, period.since,
                                                            period.until, MODERATOR_ACTIONS)
        first: dict[int, float] = {}
        per_moderator: Counter[int] = Counter()
        for row in actions:
            first.setdefault(row.report_id, max(0.0, row.at - row.accepted_at))
            per_moderator[row.actor_id] += 1
        median = statistics.median(first.values()) if first else None
        daily = _daily(period, await self._store.reports.daily_counts(flt), median)
        return Stats(
            period, sum(by_status.values()), by_reason, by_status, by_destination, daily,
            median_first_action=median, acted_on=len(first),
            by_moderator=dict(per_moderator.most_common()),
        )

    async def stats_chart(self, stats: Stats, locale: object = None) -> bytes:
        """The PNG of ``stats``: rendered in a worker thread, off the event loop."""
        return await asyncio.to_thread(render_png, stats.daily, locale)

    async def export(self, guild_id: int, actor: Actor, period: DateRange) -> ExportBundle:
        await self._moderators.require(guild_id, actor)
        flt = ReportFilter(guild_id=guild_id, since=period.since, until=period.until)
        reports = await self._store.reports.matching(flt)
        deliveries = await self._store.deliveries.for_guild(guild_id, period.since,
                                                            period.until)
        audit = await self._store.audit.between(
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
                t('That export is {value} MB, more than Discord accepts. Choose a shorter '
                  'date range.',
                  value=bundle.size // (1024 * 1024))
            )
        # Exports copy reporters' identities out of Warden: keep a record of who did it.
        await self._store.audit.record(
            "reports.exported", guild_id=guild_id, actor_id=actor.user_id,
            details={"since": period.since, "until": period.until, "reports": bundle.reports,
                     "deliveries": bundle.deliveries, "audit_events": bundle.audit_events},
        )
        return bundle


def _filter(guild_id: int, query: ListQuery) -> ReportFilter:
    target = (query.target or "").strip() or None
    if target and target.startswith("<@") and target.endswith(">"):
        target = target.strip("<@!>")
    return ReportFilter(
        guild_id=guild_id, status=query.status, reason=query.reason, target_query=target,
        reporter_id=query.reporter_id, since=query.range.since, until=query.range.until,
    )


def _daily(period: DateRange, counts: dict[tuple[str, str], int],
           median_first_action: float | None) -> DailySeries:
    """Every day of the window (at most the last ``CHART_MAX_DAYS``, and none after
    today), zeros included."""
    now = time.time()
    last = _day(min(period.until - 1, now) if period.until is not None else now)
    seen = [date.fromisoformat(day) for day, _ in counts]
    first = _day(period.since) if period.since is not None else min(seen, default=last)
    if (last - date.min).days >= CHART_MAX_DAYS:
        first = max(first, last - timedelta(days=CHART_MAX_DAYS - 1))
    days = tuple((first + timedelta(days=i)).isoformat()
                 for i in range(max(0, (last - first).days + 1)))
    reasons = sorted({reason for _, reason in counts},
                     key=lambda r: -sum(n for (_, rr), n in counts.items() if rr == r))
    series = {reason_label(r): tuple(counts.get((d, r), 0) for d in days) for r in reasons}
    first_action = (t("no moderator action yet") if median_first_action is None else
                    t("median time to first moderator action: {span}",
                      span=Duration(median_first_action)))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    title = (t("Reports per day by reason, {first} to {last} (UTC)", first=days[0],
               last=days[-1]) if days else t("Reports per day by reason"))
    return DailySeries(days, series, title=title,
                       subtitle=t("{first_action} · generated {when} UTC",
                                  first_action=first_action, when=generated))


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()
