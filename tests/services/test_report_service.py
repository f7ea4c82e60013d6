"""The report service's decisions, with a clock the test moves: limits at each
boundary, duplicates, self-reports, unknown and absent players, private or missing
activities, unlinked reporters and over-long descriptions.

Real parts throughout: a SQLite file, the Bungie stand-in behind the real client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from bot.apis.bungie import BungieClient
from bot.apis.retry import RetryPolicy
from bot.apis.sanctions import SanctionsClient
from bot.domain import Provider, Reason, ReviewMode
from bot.errors import InvalidInput, NeedsLink, NotAllowed, RateLimited, UserFacingError
from bot.metrics import WardenMetrics
from bot.services.events import Event, EventBus, EventKind, Listening
from bot.services.reporting.reporter_notices import ReporterMessenger
from bot.services.reporting.requests import ReportRequest
from bot.services.reporting.service import ReportService
from bot.settings import Settings, load_settings
from bot.store import Database, Store
from bot.store.links import NewLink, SealedTokens
from tests.linking_rig import RecordingNotifier
from tests.standins.bungie import Account, BungieStandin, bungie_client_for
from tests.support import Clock
from tests.wiring import destination_registry

GUILD = 500
ALICE, BOB, CAROL = 11, 12, 13
FAST = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, total_budget=2.0)
T0 = 1_700_000_000.0


@dataclass
class ServerMembers:
    """Who is in which server, as Discord would answer (``bot.notify.GuildMembers``)."""

    members: dict[int, set[int]]

    async def is_member(self, guild_id: int, user_id: int) -> bool:
        return user_id in self.members.get(guild_id, set())


@dataclass
class Rig:
    store: Store
    bungie: BungieStandin
    service: ReportService
    clock: Clock
    events: EventBus
    alice: Account
    bob: Account
    notifier: RecordingNotifier
    published: list[Event] = field(default_factory=list)

    def listens(self) -> Listening:
        return {kind: self._record for kind in EventKind}

    async def _record(self, event: Event) -> None:
        self.published.append(event)

    async def limits(self, **values: int) -> None:
        off = {"short_count": 0, "hour_count": 0, "day_count": 0, "target_cooldown_hours": 0}
        await self.store.guilds.update(GUILD, actor_id=None, review_mode=ReviewMode.AUTO,
                                       **{**off, **values})

    async def file(self, player: str | None = "Bob#0042", *, reporter: int = ALICE,
                   activity: str | None = None, confirm: bool = True, **kw: Any) -> int:
        draft = await self.service.prepare(request(player, reporter=reporter, activity=activity,
                                                   **kw))
        if confirm:
            await self.service.confirm(draft.report.id, actor_id=reporter)
        return draft.report.id


def request(player: str | None, *, reporter: int = ALICE, **kw: Any) -> ReportRequest:
    return ReportRequest(guild_id=GUILD, channel_id=1, reporter_id=reporter,
                         reason=kw.pop("reason", Reason.CHEATING), player=player, **kw)


def settings(tmp_path: Path, bungie: BungieStandin) -> Settings:
    return load_settings(
        require_token=False, database_path=tmp_path / "w.db", bungie_api_key=bungie.api_key,
        bungie_api_base_url=bungie.api_base_url, bungie_stats_base_url=bungie.stats_base_url,
        sanctions_api_base_url="http://127.0.0.1:9", sanctions_client_id="id",
        sanctions_client_secret="secret",
    )


async def link(store: Store, user: int, *, bungie: Account | None = None,
               game: str | None = None) -> None:
    tokens = SealedTokens(b"sealed", b"sealed", None, None)
    if bungie is not None:
        await store.links.upsert(NewLink(
            discord_user_id=user, provider=Provider.BUNGIE, account_id=str(bungie.bnet_id),
            display_name=bungie.bungie_name, tokens=tokens,
            destiny_membership_id=bungie.membership_id,
            destiny_membership_type=bungie.membership_type))
    if game is not None:
        await store.links.upsert(NewLink(discord_user_id=user, provider=Provider.GAME,
                                         account_id=game, display_name=f"player-{user}",
                                         tokens=tokens, platform="steam"))


def _service(store: Store, events: EventBus, config: Settings, bungie: BungieClient | None,
             notifier: RecordingNotifier, clock: Clock) -> ReportService:
    sanctions = SanctionsClient(httpx.AsyncClient(), base_url="http://127.0.0.1:9",
                                client_id="id", client_secret="secret", policy=FAST)
    registry = destination_registry(config, store, notifier, bungie=bungie, sanctions=sanctions)
    return ReportService(store=store, events=events, destinations=registry, bungie=bungie,
                         linking=None,
                         messenger=ReporterMessenger(store, notifier, registry.name),
                         members=ServerMembers({GUILD: {ALICE, BOB, CAROL}}),
                         metrics=WardenMetrics(), clock=clock,
                         drafts_per_hour=config.report_drafts_per_hour,
                         lookups_per_minute=config.autocomplete_lookups_per_minute)


pytestmark = pytest.mark.usefixtures("isolated_env")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = await Database.open(tmp_path / "w.db")
    store = Store(db)
    async with BungieStandin() as bungie, httpx.AsyncClient() as http:
        client = bungie_client_for(bungie, http, client_id=None, client_secret=None,
                                   policy=FAST)
        clock = Clock(T0)
        events = EventBus()
        notifier = RecordingNotifier()
        service = _service(store, events, settings(tmp_path, bungie), client, notifier, clock)
        alice, bob = bungie.add_account("Alice", 1111), bungie.add_account("Bob", 42)
        await link(store, ALICE, bungie=alice, game=str(uuid4()))
        await link(store, BOB, bungie=bob, game=str(uuid4()))
        built = Rig(store, bungie, service, clock, events, alice, bob, notifier)
        events.listen(built)
        events.listen(service)
        await built.limits()
        yield built
        await service.close()
    await db.close()


# ---- limits, at each boundary --------------------------------------------------------

async def test_short_limit_refuses_until_exactly_the_window_has_passed(rig: Rig) -> None:
    await rig.limits(short_count=1, short_seconds=30)
    await rig.file("Bob#0042")
    rig.clock.now = T0 + 29.5
    with pytest.raises(RateLimited) as refused:
        await rig.file(str(uuid4()))
    assert refused.value.retry_at == T0 + 30
    assert "1 report every 30 seconds" in refused.value.message
    assert "again in 1 second" in refused.value.message
    rig.clock.now = T0 + 30
    await rig.file(str(uuid4()))


async def test_hour_limit_counts_accepted_reports_only(rig: Rig) -> None:
    await rig.limits(hour_count=5)
    for i in range(4):
        rig.clock.now = T0 + i
        await rig.file(str(uuid4()))
    # A draft that is never confirmed does not count, a cancelled one neither.
    await rig.file(str(uuid4()), confirm=False)
    cancelled = await rig.file(str(uuid4()), confirm=False)
    assert await rig.service.cancel(cancelled, actor_id=ALICE)
    await rig.file(str(uuid4()))
    rig.clock.now = T0 + 10
    with pytest.raises(RateLimited) as refused:
        await rig.file(str(uuid4()))
    assert "5 reports per hour" in refused.value.message
    assert "again in 59 minutes, 50 seconds" in refused.value.message
    rig.clock.now = T0 + 3599.5
    with pytest.raises(RateLimited):
        await rig.file(str(uuid4()))
    rig.clock.now = T0 + 3600
    await rig.file(str(uuid4()))


async def test_day_limit(rig: Rig) -> None:
    await rig.limits(day_count=20)
    for i in range(20):
        rig.clock.now = T0 + i * 60
        await rig.file(str(uuid4()))
    rig.clock.now = T0 + 86399
    with pytest.raises(RateLimited) as refused:
        await rig.file(str(uuid4()))
    assert "20 reports per day" in refused.value.message
    rig.clock.now = T0 + 86400
    await rig.file(str(uuid4()))


async def test_one_report_per_target_and_activity_ever(rig: Rig) -> None:
    await rig.limits(target_cooldown_hours=24)
    activity = str(rig.bungie.add_pgcr([rig.alice, rig.bob]))
    await rig.file("Bob#0042", activity=activity)
    rig.clock.now = T0 + 30 * 86400
    with pytest.raises(NotAllowed, match="already reported this player for this activity"):
        await rig.file("Bob#0042", activity=activity)
    # The same player reached another way is the same target.
    with pytest.raises(NotAllowed, match="already reported this player for this activity"):
        await rig.file(None, target_member_id=BOB, activity=activity)
    # Another activity is another report.
    await rig.file("Bob#0042", activity=str(rig.bungie.add_pgcr([rig.alice, rig.bob])))


async def test_one_report_per_target_per_day_without_activity(rig: Rig) -> None:
    await rig.limits(target_cooldown_hours=24)
    await rig.file("Bob#0042")
    rig.clock.now = T0 + 86399
    with pytest.raises(RateLimited, match="in the last 1 day") as refused:
        await rig.file(None, target_member_id=BOB)
    assert "give the activity" in refused.value.message
    await rig.file(str(uuid4()))  # other targets are fine meanwhile
    rig.clock.now = T0 + 86400
    await rig.file("Bob#0042")


async def test_the_limit_is_rechecked_when_confirming(rig: Rig) -> None:
    await rig.limits(short_count=1, short_seconds=30)
    first = await rig.file("Bob#0042", confirm=False)
    second = await rig.file(str(uuid4()), confirm=False)
    await rig.service.confirm(first, actor_id=ALICE)
    with pytest.raises(RateLimited):
        await rig.service.confirm(second, actor_id=ALICE)
    assert await rig.store.deliveries.for_report(second) == []
    # The draft survives: Confirm works once the limit allows.
    rig.clock.now = T0 + 30
    outcome = await rig.service.confirm(second, actor_id=ALICE)
    assert outcome.report.status == "accepted"


async def test_limits_survive_a_restart(rig: Rig, tmp_path: Path) -> None:
    await rig.limits(short_count=1, short_seconds=30)
    await rig.file("Bob#0042")
    again = _service(rig.store, EventBus(), settings(tmp_path, rig.bungie), None,
                     rig.notifier, rig.clock)
    with pytest.raises(RateLimited):
        await again.prepare(request(str(uuid4())))


# ---- duplicates and confirmation ------------------------------------------------------

async def test_a_second_confirm_changes_nothing(rig: Rig) -> None:
    report_id = await rig.file("Bob#0042", confirm=False)
    first = await rig.service.confirm(report_id, actor_id=ALICE)
    second = await rig.service.confirm(report_id, actor_id=ALICE)
    assert first.deliveries == second.deliveries
    assert len(await rig.store.deliveries.for_report(report_id)) == 1
    accepted = [e for e in rig.published if e.kind is EventKind.REPORT_ACCEPTED]
    assert len(accepted) == 1
    actions = [e.action for e in await rig.store.audit.for_report(report_id)]
    assert actions.count("report.accepted") == 1


async def test_only_the_reporter_can_confirm_or_cancel(rig: Rig) -> None:
    report_id = await rig.file("Bob#0042", confirm=False)
    with pytest.raises(NotAllowed):
        await rig.service.confirm(report_id, actor_id=BOB)
    with pytest.raises(NotAllowed):
        await rig.service.cancel(report_id, actor_id=BOB)
    assert await rig.service.cancel(report_id, actor_id=ALICE)
    with pytest.raises(UserFacingError, match="was cancelled"):
        await rig.service.confirm(report_id, actor_id=ALICE)


async def test_a_stale_draft_cannot_be_confirmed(rig: Rig) -> None:
    report_id = await rig.file("Bob#0042", confirm=False)
    rig.clock.now = T0 + 15 * 60
    with pytest.raises(UserFacingError, match="waited too long"):
        await rig.service.confirm(report_id, actor_id=ALICE)
    report = await rig.store.reports.get(report_id)
    assert report is not None and report.status == "cancelled"


async def test_approve_mode_holds_and_auto_mode_queues(rig: Rig) -> None:
    await rig.store.guilds.update(GUILD, actor_id=None, review_mode=ReviewMode.APPROVE)
    held = await rig.file("Bob#0042")
    assert [d.status for d in await rig.store.deliveries.for_report(held)] == ["held"]
    assert not [e for e in rig.published if e.kind is EventKind.DELIVERIES_QUEUED]
    await rig.store.guilds.update(GUILD, actor_id=None, review_mode=ReviewMode.AUTO)
    queued = await rig.file(str(uuid4()))
    assert [d.status for d in await rig.store.deliveries.for_report(queued)] == ["pending"]
    assert Event(EventKind.DELIVERIES_QUEUED, queued) in rig.published


# ---- who is reported ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["member", "bungie name", "uuid"])
async def test_self_reports_are_refused(rig: Rig, how: str) -> None:
    link_row = await rig.store.links.get(ALICE, Provider.GAME)
    assert link_row is not None
    player = {"member": f"<@{ALICE}>", "bungie name": "alice#1111",
              "uuid": link_row.account_id}[how]
    with pytest.raises(NotAllowed, match="can't report yourself"):
        await rig.file(player)


async def test_unknown_player_is_named_back_safely(rig: Rig) -> None:
    with pytest.raises(InvalidInput) as refused:
        await rig.file("`**@everyone**`\n#1234")
    message = refused.value.message
    assert "No Bungie.net player is called `ˋ**@everyone**ˋ#1234`" in message
    assert "\n" not in message
    with pytest.raises(InvalidInput, match="is not a player I can look up"):
        await rig.file("just some text")


async def test_unlinked_member_target_must_be_named_in_game(rig: Rig) -> None:
    with pytest.raises(InvalidInput, match=f"<@{CAROL}> has not linked"):
        await rig.file(None, target_member_id=CAROL)
    carol = rig.bungie.add_account("Carol", 7)
    activity = str(rig.bungie.add_pgcr([rig.alice, carol]))
    report_id = await rig.file("Carol#0007", target_member_id=CAROL, activity=activity,
                               confirm=False)
    report = await rig.store.reports.get(report_id)
    assert report is not None
    assert report.target_discord_id == CAROL
    assert report.target_bungie_membership_id == carol.membership_id
    assert report.target_character_id == carol.character_id


async def test_players_outside_the_activity_are_refused(rig: Rig) -> None:
    carol = rig.bungie.add_account("Carol", 7)
    without_bob = str(rig.bungie.add_pgcr([rig.alice, carol]))
    with pytest.raises(InvalidInput, match=f"did not play in activity `{without_bob}`"):
        await rig.file("Bob#0042", activity=without_bob)
    without_alice = str(rig.bungie.add_pgcr([rig.bob, carol]))
    with pytest.raises(InvalidInput, match=f"You did not play in activity `{without_alice}`"):
        await rig.file("Bob#0042", activity=without_alice)


async def test_the_character_comes_from_the_activity(rig: Rig) -> None:
    bob_two = rig.bungie.add_account("Bobby", 77, characters=2)
    second = bob_two.membership.character_ids[1]
    activity = rig.bungie.add_pgcr([rig.alice, (bob_two.membership, second)])
    report_id = await rig.file("Bobby#0077", activity=str(activity), confirm=False)
    report = await rig.store.reports.get(report_id)
    assert report is not None and report.target_character_id == second


async def test_private_and_missing_activities_say_so(rig: Rig) -> None:
    private = rig.bungie.add_pgcr([rig.alice, rig.bob], private=True)
    with pytest.raises(InvalidInput, match=r"is private on Bungie\.net"):
        await rig.file("Bob#0042", activity=str(private))
    with pytest.raises(InvalidInput, match=r"Bungie\.net has no activity `123456789`"):
        await rig.file("Bob#0042", activity="123456789")


async def test_unlinked_reporter_is_asked_to_link(rig: Rig) -> None:
    with pytest.raises(UserFacingError, match="account linking is not set up"):
        await rig.file("Bob#0042", reporter=CAROL)


async def test_reporter_without_bungie_link_cannot_use_an_activity(rig: Rig) -> None:
    await link(rig.store, CAROL, game=str(uuid4()))
    activity = str(rig.bungie.add_pgcr([rig.alice, rig.bob]))
    with pytest.raises(NeedsLink) as refused:
        await rig.file("Bob#0042", reporter=CAROL, activity=activity)
    assert refused.value.providers == ["bungie"]
    # Without the activity it goes to the game backend only.
    report_id = await rig.file(f"<@{BOB}>", reporter=CAROL, confirm=False)
    outcome = await rig.service.confirm(report_id, actor_id=CAROL)
    assert [d.destination for d in outcome.deliveries] == ["sanctions"]


# ---- formats ----------------------------------------------------------------------------

async def test_description_over_the_api_limit_is_refused(rig: Rig) -> None:
    with pytest.raises(InvalidInput, match="5000 characters long; the limit is 4096"):
        await rig.file("Bob#0042", description="x" * 5000)
    report_id = await rig.file("Bob#0042", description="  " + "y" * 4096 + "  ", confirm=False)
    report = await rig.store.reports.get(report_id)
    assert report is not None and report.description == "y" * 4096


@pytest.mark.parametrize("typed", ["99999999999999999999", "not a match id!", "x" * 129])
async def test_malformed_activities_are_refused(rig: Rig, typed: str) -> None:
    with pytest.raises(InvalidInput):
        await rig.file("Bob#0042", activity=typed)


async def test_a_match_id_is_kept_for_the_game_backend(rig: Rig) -> None:
    report_id = await rig.file("Bob#0042", activity="match-7f3a:2", confirm=False)
    report = await rig.store.reports.get(report_id)
    assert report is not None and report.match_id == "match-7f3a:2"
    assert report.activity_id is None


# ---- telling the reporter ------------------------------------------------------------------

async def _deliver(rig: Rig, report_id: int) -> None:
    """What the outbox does on success: record it, then announce it."""
    for row in await rig.store.deliveries.for_report(report_id):
        await rig.store.deliveries.finish(report_id, row.destination, status="sent",
                                          upstream_id="up-1")
    await rig.events.publish(Event(EventKind.DELIVERY_CHANGED, report_id, "sanctions"))


async def test_an_outcome_seen_by_the_live_reply_is_not_dmed_as_well(rig: Rig) -> None:
    notifier = rig.notifier
    report_id = await rig.file(str(uuid4()), confirm=False)
    await rig.service.confirm(report_id, actor_id=ALICE, live_for=600)
    # Recorded but not yet announced when the reply looks: the reply tells it...
    for row in await rig.store.deliveries.for_report(report_id):
        await rig.store.deliveries.finish(report_id, row.destination, status="sent")
    told = await rig.service.wait_outcome(report_id)
    assert told is not None and told.final
    # ...so the announcement that follows must not DM it a second time.
    await rig.events.publish(Event(EventKind.DELIVERY_CHANGED, report_id, "sanctions"))
    await rig.service.close()
    assert notifier.sent == []


async def test_an_outcome_after_the_reply_expired_goes_by_dm_unless_turned_off(
    rig: Rig,
) -> None:
    notifier = rig.notifier
    await rig.service.set_notify_dm(BOB, False)
    report_id = await rig.file(str(uuid4()), confirm=False)
    await rig.service.confirm(report_id, actor_id=ALICE, live_for=0.05)
    assert await rig.service.wait_outcome(report_id) is None  # the token ran out first
    await _deliver(rig, report_id)
    quiet = await rig.file(str(uuid4()), reporter=BOB)
    await _deliver(rig, quiet)
    await rig.service.close()  # lets the DMs under way finish
    [(user, notice)] = notifier.sent
    assert user == ALICE and "delivered (reference `up-1`)" in notice.text
