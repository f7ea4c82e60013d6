from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.domain import NewReport, ReportLimits
from bot.store import Database, Store
from bot.store.cases import CaseChange
from bot.store.reports import Accepted, LimitHit
from tests.store.hops import count_hops

T = TypeVar("T")

GUILD = 10
REPORTER = 20
LIMITS = ReportLimits(short_count=1, short_seconds=30, hour_count=5, day_count=20,
                      target_cooldown_hours=24)


@pytest.fixture
async def store(store_location: Path | str):
    db = await Database.open(store_location)
    yield Store(db)
    await db.close()


def new(target: str = "bungie:1", activity: int | None = None, reporter: int = REPORTER):
    return NewReport(guild_id=GUILD, channel_id=1, reporter_id=reporter, reason="cheating",
                     target_key=target, activity_id=activity, description="aimbot")


async def submit(store: Store, at: float, **kw) -> Accepted | LimitHit | None:
    draft = await store.reports.create_draft(new(**kw), now=at)
    return await store.reports.accept(
        draft.id, limits=LIMITS, deliveries=[("sanctions", "pending")], actor_id=REPORTER, now=at
    )


async def test_numbers_are_per_server_and_never_collide_under_concurrency(store: Store) -> None:
    drafts = await asyncio.gather(*(store.reports.create_draft(new()) for _ in range(30)))
    assert sorted(d.number for d in drafts) == list(range(1, 31))
    other = await store.reports.create_draft(
        NewReport(guild_id=99, channel_id=1, reporter_id=1, reason="afk", target_key="x")
    )
    assert other.number == 1


async def test_accept_writes_deliveries_and_audit_in_one_go(store: Store) -> None:
    outcome = await submit(store, 1000.0)
    assert isinstance(outcome, Accepted)
    assert outcome.report.status == "accepted"
    deliveries = await store.deliveries.for_report(outcome.report.id)
    assert [(d.destination, d.status) for d in deliveries] == [("sanctions", "pending")]
    actions = [e.action for e in await store.audit.for_report(outcome.report.id)]
    assert actions == ["report.accepted"]
    # A second confirm of the same draft does nothing.
    again = await store.reports.accept(outcome.report.id, limits=LIMITS,
                                       deliveries=[("sanctions", "pending")], actor_id=1)
    assert again is None
    assert len(await store.deliveries.for_report(outcome.report.id)) == 1


async def test_short_window_boundary(store: Store) -> None:
    assert isinstance(await submit(store, 1000.0, target="t1"), Accepted)
    hit = await submit(store, 1029.9, target="t2")
    assert isinstance(hit, LimitHit) and hit.rule == "short" and hit.retry_at == 1030.0
    assert isinstance(await submit(store, 1030.1, target="t3"), Accepted)


async def test_hour_and_day_windows(store: Store) -> None:
    for n in range(5):
        assert isinstance(await submit(store, 1000.0 + 31 * n, target=f"t{n}"), Accepted)
    hit = await submit(store, 1000.0 + 31 * 5, target="t5")
    assert isinstance(hit, LimitHit) and hit.rule == "hour" and hit.retry_at == 4600.0
    t = 4601.0
    for n in range(15):
        outcome = await submit(store, t, target=f"u{n}")
        if isinstance(outcome, LimitHit):
            t = outcome.retry_at + 0.1  # type: ignore[operator]
            outcome = await submit(store, t, target=f"u{n}")
        assert isinstance(outcome, Accepted), outcome
        t += 31
    hit = await submit(store, t + 3600, target="last")  # hour window clear, day full
    assert isinstance(hit, LimitHit) and hit.rule == "day" and hit.retry_at == 1000.0 + 86400


async def test_rejected_drafts_do_not_count(store: Store) -> None:
    await store.reports.create_draft(new(target="a"), now=1000.0)  # never confirmed
    assert isinstance(await submit(store, 1001.0, target="b"), Accepted)


async def test_one_report_per_target_per_activity(store: Store) -> None:
    assert isinstance(await submit(store, 1000.0, target="t", activity=555), Accepted)
    hit = await submit(store, 90000.0, target="t", activity=555)
    assert isinstance(hit, LimitHit) and hit.rule == "target_activity" and hit.retry_at is None
    assert isinstance(await submit(store, 90100.0, target="t", activity=556), Accepted)


async def test_one_report_per_target_per_day_without_activity(store: Store) -> None:
    assert isinstance(await submit(store, 1000.0, target="t"), Accepted)
    hit = await submit(store, 2000.0, target="t")
    assert isinstance(hit, LimitHit) and hit.rule == "target_cooldown"
    assert hit.retry_at == 1000.0 + 86400
    assert isinstance(await submit(store, 1000.0 + 86400 + 1, target="t"), Accepted)


async def test_limits_are_per_reporter(store: Store) -> None:
    assert isinstance(await submit(store, 1000.0, target="t", reporter=1), Accepted)
    assert isinstance(await submit(store, 1000.0, target="t", reporter=2), Accepted)


async def test_racing_moderators_only_one_claims(store: Store) -> None:
    outcome = await submit(store, 1000.0)
    assert isinstance(outcome, Accepted)
    results = await asyncio.gather(*(
        store.cases.change(outcome.report.case_id or 0, CaseChange(
            ["open"], "claimed", "case.claimed", {}, set_claimed_by=True, claimed_by=mod),
            actor_id=mod)
        for mod in (1, 2, 3)
    ))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1


async def test_in_flight_rows_are_recovered_for_reconciliation(store: Store) -> None:
    outcome = await submit(store, 1000.0)
    assert isinstance(outcome, Accepted)
    rid = outcome.report.id
    attempt = await store.deliveries.start_attempt(rid, "sanctions")
    assert attempt is not None and attempt.attempts == 1
    assert await store.deliveries.start_attempt(rid, "sanctions") is None  # already claimed
    assert await store.deliveries.recover_in_flight() == 1
    (row,) = await store.deliveries.for_report(rid)
    assert row.status == "pending" and row.needs_reconcile


async def test_each_store_call_of_the_report_path_is_one_hop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write transaction (and the multi-statement limit check) is one job on a
    database thread; the rows they return are read in that same job."""
    hops = count_hops(monkeypatch)
    dests = [("bungie", "pending"), ("sanctions", "pending")]

    async def one_hop(call: Awaitable[T]) -> T:
        before = hops[0]
        result = await call
        assert hops[0] - before == 1
        return result

    assert await one_hop(store.reports.check_limits(GUILD, REPORTER, "t", 7, LIMITS)) is None
    draft = await one_hop(store.reports.create_draft(new(target="t", activity=7)))
    assert (draft.status, draft.number, draft.activity_id) == ("draft", 1, 7)
    accepted = await one_hop(store.reports.accept(
        draft.id, limits=LIMITS, deliveries=dests, actor_id=REPORTER))
    assert isinstance(accepted, Accepted)
    assert accepted.report.status == "accepted" and accepted.report.accepted_at is not None
    assert accepted.report == await store.reports.get(draft.id)
    claimed = await one_hop(store.cases.change(
        accepted.report.case_id or 0, CaseChange(["open"], "claimed", "case.claimed", {},
                                                 set_claimed_by=True, claimed_by=9),
        actor_id=9))
    assert claimed is not None and claimed.status == "claimed"
    await one_hop(store.reports.record_review_post(draft.id, 5, 6, details={"x": 1}))
    started = await one_hop(store.deliveries.start_attempt_with_report(draft.id, dests[0][0]))
    assert started is not None
    assert started[0].status == "in_flight" and started[1] == await store.reports.get(draft.id)
    await one_hop(store.deliveries.finish(draft.id, dests[0][0], status="sent", upstream_id="u"))
    attempt = await one_hop(store.deliveries.start_attempt(draft.id, dests[1][0]))
    assert attempt is not None and attempt.status == "in_flight"
    settling = await one_hop(store.report_views.with_deliveries(draft.id))
    assert settling is not None
    assert [d.status for d in settling.deliveries] == ["sent", "in_flight"]
    await one_hop(store.deliveries.finish(draft.id, dests[1][0], status="sent", upstream_id="u"))
    everything = await one_hop(store.report_views.with_history(draft.id))
    assert everything is not None and everything.report == await store.reports.get(draft.id)
    assert [d.status for d in everything.deliveries] == ["sent", "sent"]
    assert everything.history == await store.audit.for_report(draft.id)
    assert await one_hop(store.report_views.with_history(draft.id + 100)) is None
    assert await one_hop(store.reports.check_limits(GUILD, REPORTER, "t", 7, LIMITS)) == \
        LimitHit("short", accepted.report.accepted_at + 30)
    assert [d.status for d in await store.deliveries.for_report(draft.id)] == ["sent", "sent"]
    entries = await store.audit.for_report(draft.id)
    assert [e.action for e in entries] == [
        "report.accepted", "case.claimed", "review.posted", "delivery.sent", "delivery.sent"]
    assert all(e.guild_id == GUILD for e in entries)
    assert (await store.audit.verify()).ok
