"""The review service on its own: permissions, the lifecycle's conditional updates, the
reporter's reply, limits, the checklist and date ranges (Discord is covered in
``tests/cogs/test_review_*``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.domain import ActionKind, CaseOutcome, NewReport, Report, ReportLimits
from bot.errors import InvalidInput, NotAllowed, UserFacingError
from bot.i18n import localize
from bot.notify import DmOutcome
from bot.runtime import open_bungie
from bot.services.delivery.registry import DestinationRegistry
from bot.services.events import Event, EventBus, EventKind, Listening
from bot.services.reporting.reporter_notices import ReporterMessenger
from bot.services.review.access import Moderators
from bot.services.review.card import ReviewAction, ReviewCard
from bot.services.review.checklist import ChannelFacts, SetupFacts
from bot.services.review.dates import parse_range
from bot.services.review.export import to_csv
from bot.services.review.lifecycle import ReportLifecycle
from bot.services.review.ports import Actor
from bot.services.review.queries import ListQuery, ReportQueries
from bot.services.review.server_settings import ServerSettings
from bot.services.status import CheckState
from bot.settings import BungieReportMode, load_settings
from bot.store import Database, Store
from bot.store.reports import Accepted
from tests.linking_rig import RecordingNotifier
from tests.wiring import destination_registry

GUILD, ROLE = 10, 77
REPORTER = 20
MOD_A = Actor(90001, frozenset({ROLE}))
MOD_B = Actor(90002, frozenset({ROLE}))
ADMIN = Actor(90003, manages_server=True)
MEMBER = Actor(90004, frozenset({999}))
NO_LIMITS = ReportLimits(short_count=0, hour_count=0, day_count=0, target_cooldown_hours=0)


class World:
    def __init__(self, store: Store, events: EventBus, notifier: RecordingNotifier,
                 registry: DestinationRegistry) -> None:
        self.store, self.bus, self.notifier = store, events, notifier
        self.events: list[Event] = []
        moderators = Moderators(store)
        self.lifecycle = ReportLifecycle(
            store=store, events=events, moderators=moderators, destinations=registry,
            messenger=ReporterMessenger(store, notifier, registry.name),
            reply_hint="Answer with `/reply number:{}`.".format,
        )
        self.queries = ReportQueries(store=store, moderators=moderators, destinations=registry)
        self.server_settings = ServerSettings(store=store, destinations=registry,
                                              retention_days=0)
        self.made = 0

    def listens(self) -> Listening:
        return {kind: self._record for kind in EventKind}

    async def _record(self, event: Event) -> None:
        self.events.append(event)

    async def card(self, report: Report) -> ReviewCard:
        return await self.queries.card_for(GUILD, report.id, ADMIN)

    async def report(self, deliveries: tuple[tuple[str, str], ...] = (("sanctions", "held"),),
                     ) -> Report:
        self.made += 1
        draft = await self.store.reports.create_draft(NewReport(
            guild_id=GUILD, channel_id=1, reporter_id=REPORTER, reason="harassment",
            target_key=f"discord:{self.made}", target_discord_id=500 + self.made,
            description="slurs in chat",
        ))
        accepted = await self.store.reports.accept(draft.id, limits=NO_LIMITS,
                                                   deliveries=list(deliveries), actor_id=REPORTER)
        assert isinstance(accepted, Accepted)
        await self.bus.publish(Event(EventKind.REPORT_ACCEPTED, draft.id))
        return accepted.report


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.chdir(tmp_path)
    db = await Database.open(tmp_path / "warden.db")
    store = Store(db)
    bus = EventBus()
    notifier = RecordingNotifier()
    settings = load_settings(require_token=False, database_path=tmp_path / "warden.db")
    world = World(store, bus, notifier, destination_registry(settings, store, notifier))
    bus.listen(world)
    await store.guilds.update(GUILD, actor_id=None, moderator_role_id=ROLE)
    yield world
    await db.close()


async def test_only_moderators_or_managers_may_act(world: World) -> None:
    report = await world.report()
    with pytest.raises(NotAllowed, match="Only this server's moderators"):
        await world.lifecycle.claim(GUILD, _case(report), MEMBER)
    with pytest.raises(NotAllowed):
        await world.queries.list_reports(GUILD, MEMBER, _query())
    # A report of another server is invisible from this one.
    with pytest.raises(InvalidInput, match="does not exist in this server"):
        await world.lifecycle.claim(GUILD + 1, report.id, ADMIN)
    claimed = (await world.lifecycle.claim(GUILD, _case(report), ADMIN)).case
    assert claimed is not None and claimed.claimed_by == ADMIN.user_id


def _case(report: Report) -> int:
    assert report.case_id is not None
    return report.case_id


def _query() -> ListQuery:
    return ListQuery()


async def test_concurrent_claims_exactly_one_succeeds(world: World) -> None:
    report = await world.report()
    actors = [Actor(100 + i, frozenset({ROLE})) for i in range(8)]
    results = await asyncio.gather(
        *(world.lifecycle.claim(GUILD, _case(report), a) for a in actors), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 7
    claimed_by = (await world.store.cases.get(_case(report))).claimed_by  # type: ignore[union-attr]
    assert all(isinstance(e, NotAllowed) and f"<@{claimed_by}>" in e.message for e in losers)


async def test_a_claim_belongs_to_its_moderator_until_a_manager_overrides(world: World) -> None:
    report = await world.report()
    await world.lifecycle.claim(GUILD, _case(report), MOD_A)
    for attempt in (world.lifecycle.unclaim(GUILD, _case(report), MOD_B),
                    world.lifecycle.approve(GUILD, _case(report), MOD_B),
                    world.lifecycle.dismiss(GUILD, _case(report), MOD_B, reason="no")):
        with pytest.raises(NotAllowed, match="claimed by <@90001>"):
            await attempt
    with pytest.raises(InvalidInput, match="You already claimed"):
        await world.lifecycle.claim(GUILD, _case(report), MOD_A)
    # Someone with Manage Server can release a claim left behind.
    await world.lifecycle.unclaim(GUILD, _case(report), ADMIN)
    with pytest.raises(InvalidInput, match="is not claimed"):
        await world.lifecycle.unclaim(GUILD, _case(report), MOD_A)


async def test_approve_releases_and_dismiss_skips_held_deliveries(world: World) -> None:
    first = await world.report(deliveries=(("bungie", "held"), ("sanctions", "held")))
    outcome = await world.lifecycle.approve(GUILD, _case(first), MOD_A)
    assert outcome.case is not None and outcome.case.status == "open"  # approval decides nothing
    assert {d.status for d in await world.store.deliveries.for_report(first.id)} == {"pending"}
    kinds = [e.kind for e in world.events if e.report_id == first.id]
    assert kinds[-2:] == [EventKind.DELIVERIES_QUEUED, EventKind.REPORT_CHANGED]

    second = await world.report()
    await world.lifecycle.dismiss(GUILD, _case(second), MOD_A, reason="  not a violation  ")
    stored = await world.store.cases.get(_case(second))
    assert stored is not None and stored.note == "not a violation"
    assert {d.status for d in await world.store.deliveries.for_report(second.id)} == {"skipped"}
    with pytest.raises(InvalidInput, match="nothing waiting for approval"):
        await world.lifecycle.approve(GUILD, _case(second), MOD_B)
    with pytest.raises(InvalidInput, match="Please give a reason"):
        await world.lifecycle.dismiss(GUILD, _case(await world.report()), MOD_A, reason=" ")

    # The reporter hears the outcome, never who decided it.
    texts = [n.text + (n.title or "") for _, n in world.notifier.sent]
    assert len(texts) == 2 and not any("90001" in t for t in texts)
    assert "approved your report #1" in texts[0] and "no action was taken" in texts[1]


async def test_auto_mode_cases_stay_open_for_moderators(world: World) -> None:
    report = await world.report(deliveries=(("sanctions", "pending"),))
    case = await world.store.cases.get(_case(report))
    assert case is not None and case.status == "open"
    card = await world.card(report)
    assert card.actions == (ReviewAction.CLAIM, ReviewAction.RESOLVE, ReviewAction.DISMISS,
                            ReviewAction.ASK)
    done = await world.lifecycle.resolve(GUILD, case.id, ADMIN, CaseOutcome(ActionKind.BAN),
                                         note="3rd offence", to_reporter="Thanks!")
    assert done.case is not None and done.case.status == "resolved"
    assert (await world.card(report)).actions == ()
    [(to, notice)] = world.notifier.sent
    assert to == REPORTER and "action was taken" in notice.text and "Thanks!" in notice.text
    assert "ban" not in notice.text.lower() and "3rd offence" not in notice.text
    with pytest.raises(InvalidInput, match="already resolved"):
        await world.lifecycle.dismiss(GUILD, case.id, ADMIN, reason="late")


async def test_reporter_replies_only_to_questions_and_only_a_few_times(world: World) -> None:
    report = await world.report()
    with pytest.raises(InvalidInput, match="have not asked anything"):
        await world.lifecycle.reply(GUILD, REPORTER, report.number, "extra")
    await world.lifecycle.ask_reporter(GUILD, _case(report), MOD_A, question="When?")
    [(to, notice)] = world.notifier.sent
    assert to == REPORTER and "When?" in notice.text and "/reply number:1" in notice.text
    with pytest.raises(InvalidInput, match="no report #1"):
        await world.lifecycle.reply(GUILD, REPORTER + 1, report.number, "not mine")
    for answer in ("a", "b", "c"):
        await world.lifecycle.reply(GUILD, REPORTER, report.number, answer)
    with pytest.raises(InvalidInput, match="already answered"):
        await world.lifecycle.reply(GUILD, REPORTER, report.number, "d")
    card = await world.card(report)
    assert [n.kind for n in card.notes] == ["info_request", "reply", "reply", "reply"]
    # The reporter's own steps carry no name in the history.
    assert all(h.actor_id != REPORTER for h in card.history)

    world.notifier.outcome = DmOutcome.DMS_CLOSED
    told = await world.lifecycle.ask_reporter(GUILD, _case(report), MOD_A, question="Clip?")
    assert told.message is not None and "DMs are closed" in told.message


async def test_card_actions_follow_the_state(world: World) -> None:
    report = await world.report(deliveries=(("bungie", "held"),))
    card = await world.card(report)
    assert card.actions == (ReviewAction.CLAIM, ReviewAction.APPROVE, ReviewAction.RESOLVE,
                            ReviewAction.DISMISS, ReviewAction.ASK)
    claimed = (await world.lifecycle.claim(GUILD, _case(report), MOD_A)).report
    assert (await world.card(claimed)).actions[0] is ReviewAction.UNCLAIM
    await world.lifecycle.approve(GUILD, _case(report), MOD_A)
    await world.lifecycle.resolve(GUILD, _case(report), MOD_A, CaseOutcome(None))
    assert await world.store.deliveries.start_attempt(report.id, "bungie") is not None
    await world.store.deliveries.finish(report.id, "bungie", status="failed", error="2702")
    failed = await world.store.reports.get(report.id)
    assert failed is not None
    card = await world.card(failed)
    assert card.actions == (ReviewAction.RETRY,) and card.retry_destinations == ("bungie",)
    await world.lifecycle.retry(GUILD, report.id, "bungie", MOD_A)
    with pytest.raises(InvalidInput, match="is queued, not failed"):
        await world.lifecycle.retry(GUILD, report.id, "bungie", MOD_A)


async def test_limits_are_checked_before_saving(world: World) -> None:
    with pytest.raises(InvalidInput, match="short_seconds` must be between 1 and 86400"):
        await world.server_settings.set_limits(GUILD, 1, {"short_seconds": 0, "hour_count": 3})
    assert (await world.store.guilds.get(GUILD)).limits.hour_count == 5  # nothing changed
    limits = await world.server_settings.set_limits(GUILD, 1, {"hour_count": 3})
    assert limits.hour_count == 3


async def test_checklist(world: World, tmp_path: Path) -> None:
    facts = SetupFacts(
        review_channel=ChannelFacts(5, exists=True, name="mods",
                                    missing_permissions=("Attach Files",)),
        moderator_role_exists=False,
    )
    await world.store.guilds.update(GUILD, actor_id=None, review_channel_id=5)
    items = {i.subject: i for i in await world.server_settings.checklist(GUILD, facts)}
    assert items["Review channel"].state is CheckState.PROBLEM
    assert "lacks Attach Files in #mods" in items["Review channel"].detail
    assert items["Moderator role"].state is CheckState.PROBLEM
    assert items["Destinations"].state is CheckState.PROBLEM

    with_bungie = load_settings(
        require_token=False, database_path=tmp_path / "warden.db", bungie_api_key="k",
        bungie_report_mode=BungieReportMode.AUTO,
    )
    async with AsyncExitStack() as stack:
        registry = destination_registry(with_bungie, world.store, world.notifier,
                                        bungie=open_bungie(with_bungie, stack))
        server = ServerSettings(store=world.store, destinations=registry, retention_days=0)
        items = {i.subject: i for i in await server.checklist(GUILD, facts)}
    # No account linking on this installation: Bungie can only take hand-off links.
    assert "hand-off" in items["Bungie.net"].detail
    assert "account linking is off" in items["Bungie.net"].detail
    assert "Destinations" not in items


def test_date_ranges() -> None:
    r = parse_range("2025-01-01", "2025-01-31")
    assert r.since == 1735689600.0 and r.until == 1738368000.0  # Feb 1, 00:00 UTC
    assert r.describe() == "Jan 1, 2025 to Jan 31, 2025"
    assert localize(r.describe(), "de") == "01.01.2025 bis 31.01.2025"
    assert parse_range(None, None, default_days=30, now=1000000.0).since == 1000000.0 - 30 * 86400
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_range("31/01/2025", None)
    with pytest.raises(InvalidInput, match="before the end"):
        parse_range("2025-02-01", "2025-01-01")


def test_csv_cells_never_become_formulas() -> None:
    data = to_csv(("a", "b", "c"), [{"a": "=1+1", "b": "@SUM(A1)", "c": -5}])
    assert data.decode().splitlines() == ["a,b,c", "'=1+1,'@SUM(A1),-5"]


async def test_errors_are_user_facing(world: World) -> None:
    report = await world.report()
    with pytest.raises(UserFacingError):
        await world.queries.show(GUILD, 42, MOD_A)
    card = await world.queries.show(GUILD, report.number, MOD_A)
    assert card.reporter is not None and card.reporter.discord_id == REPORTER
