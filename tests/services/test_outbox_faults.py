"""Delivery under faults: each API failing with 5xx, 429, timeouts and the ambiguous
"received, answer lost" case, and Warden stopped mid-delivery and started again over
the same database. Every report must end delivered exactly once (the stand-ins'
own records show no duplicate) or failed with a reason a moderator can read.

A full Warden runs (``open_app`` in the Discord stand-in); reports are made through
the report service, as the cog makes them, so these tests are about delivery.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.crypto import TokenBox, generate_key
from bot.domain import Delivery, DeliveryStatus, Provider, ReviewMode
from bot.services.delivery.bungie_mode import BUNGIE_MODE_KEY
from bot.services.delivery.outbox import MAY_HAVE_LANDED, NOT_SENT
from bot.services.events import Event, EventKind
from bot.settings import Settings
from bot.store import Database, Store
from bot.store.deliveries import INTERRUPTED
from tests.linking_rig import free_port
from tests.report_rig import ReportWorld, report_world, run_warden, world_settings
from tests.standins.bungie import BungieStandin
from tests.standins.discord import DiscordStandIn
from tests.standins.sanctions import REPORTS_ROUTE, SENT_REPORTS_ROUTE, SanctionsStandin

REPORT_PATH = "/Report/"


pytestmark = pytest.mark.usefixtures("isolated_env")


async def game_only(w: ReportWorld) -> int:
    """A report only the game backend can take (no activity)."""
    return await w.file(w.alice, str(w.bob_game.uuid))


async def bungie_and_game(w: ReportWorld) -> tuple[int, int]:
    activity = w.activity()
    return await w.file(w.alice, "Bob#0042", activity), activity


async def retry_waits(w: ReportWorld, report_id: int, destination: str) -> list[float]:
    return [
        e.details["next_attempt_at"] - e.at
        for e in await w.store.audit.for_report(report_id)
        if e.action == "delivery.retry_scheduled" and e.details["destination"] == destination
    ]


def posts(rh: SanctionsStandin) -> int:
    return len(rh.requests_to(REPORTS_ROUTE, "POST"))


# ---- the game backend ---------------------------------------------------------------

async def test_sanctions_5xx_is_retried_until_delivered_once(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject("unavailable", count=3, path=REPORTS_ROUTE, method="POST")
        report_id = await game_only(w)
        [row] = await w.wait_delivered(report_id)
        assert row.status == "sent" and row.attempts == 2
        assert len(w.sanctions.reports_with_warden_id(str(report_id))) == 1
        assert posts(w.sanctions) == 4
        assert len(await retry_waits(w, report_id, "sanctions")) == 1


async def test_sanctions_429_waits_the_servers_hint(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject("throttle", count=2, retry_after=0.3, path=REPORTS_ROUTE,
                           method="POST")
        report_id = await game_only(w)
        [row] = await w.wait_delivered(report_id)
        assert row.status == "sent"
        [wait] = await retry_waits(w, report_id, "sanctions")
        assert wait == pytest.approx(0.3, abs=0.05)
        assert len(w.sanctions.reports_with_warden_id(str(report_id))) == 1


async def test_sanctions_timeout_before_landing_is_sent_again_once(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject("slow", delay=3.0, path=REPORTS_ROUTE, method="POST")
        report_id = await game_only(w)
        [row] = await w.wait_delivered(report_id)
        assert row.status == "sent"
        # The lost answer was checked for before sending again.
        assert w.sanctions.requests_to(SENT_REPORTS_ROUTE.split("{")[0], "GET")
        assert len(w.sanctions.reports_with_warden_id(str(report_id))) == 1


@pytest.mark.parametrize("fault", ["drop", "slow"])
async def test_sanctions_answer_lost_after_landing_is_not_sent_twice(
    tmp_path: Path, discord_standin: DiscordStandIn, fault: str
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject(fault, path=REPORTS_ROUTE, method="POST", landed=True, delay=3.0)
        report_id = await game_only(w)
        [row] = await w.wait_delivered(report_id)
        [landed] = w.sanctions.reports_with_warden_id(str(report_id))
        assert row.status == "sent" and row.upstream_id == landed["report_id"]
        assert posts(w.sanctions) == 1


async def test_a_lost_answer_that_cannot_be_checked_yet_is_checked_on_the_next_attempt(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject("drop", path=REPORTS_ROUTE, method="POST")
        w.sanctions.inject("unavailable", count=4, path="/sent-reports")
        report_id = await game_only(w)
        [row] = await w.wait_delivered(report_id)
        assert row.status == "sent" and row.attempts >= 2
        assert len(w.sanctions.reports_with_warden_id(str(report_id))) == 1
        assert posts(w.sanctions) == 1
        entries = await w.store.audit.for_report(report_id)
        retry = next(e for e in entries if e.action == "delivery.retry_scheduled")
        assert retry.details["error"].startswith(MAY_HAVE_LANDED)


async def test_sanctions_that_never_recovers_fails_with_a_reason_the_reporter_hears(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject("unavailable", count=1000, path=REPORTS_ROUTE, method="POST")
        report_id = await game_only(w)
        [row] = await w.wait_delivered(report_id)
        assert row.status == "failed" and row.attempts == w.settings.outbox_max_attempts
        assert row.last_error is not None
        assert row.last_error.startswith(f"{NOT_SENT}the game backend is unavailable")
        assert row.last_error.endswith("(gave up after 4 attempts)")
        assert w.sanctions.report_count == 0
        # Nobody was watching in Discord: the reporter gets the outcome by DM.
        dm = await w.discord.wait_for_dm(w.alice, lambda m: "could not be delivered" in m.text)
        assert "gave up after 4 attempts" in dm.text and dm.pings.nobody


async def test_a_refused_player_token_falls_back_to_the_service_token(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.sanctions.inject("expired", path=REPORTS_ROUTE, method="POST")
        report_id = await game_only(w)
        [row] = await w.wait_delivered(report_id)
        assert row.status == "sent"
        first, second = w.sanctions.requests_to(REPORTS_ROUTE, "POST")
        assert "source_player_uuid" not in first.json
        assert second.json["source_player_uuid"] == str(w.alice_game.uuid)
        [stored] = w.sanctions.reports
        assert stored["source_player_uuid"] == str(w.alice_game.uuid)


async def test_reporter_without_a_usable_game_token_reports_through_the_service_token(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        link = await w.store.links.get(w.alice.user.id, Provider.GAME)
        assert link is not None and link.tokens is not None
        await w.store.links.mark_broken(w.alice.user.id, Provider.GAME, reason="revoked",
                                        expected_refresh_token=link.tokens.refresh_token)
        report_id = await game_only(w)
        await w.wait_delivered(report_id)
        [request] = w.sanctions.requests_to(REPORTS_ROUTE, "POST")
        assert request.json["source_player_uuid"] == str(w.alice_game.uuid)


# ---- Bungie.net ----------------------------------------------------------------------

async def test_bungie_5xx_is_retried_until_filed_once(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.bungie.inject("server_error", count=3, path=REPORT_PATH)
        report_id, activity = await bungie_and_game(w)
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        assert rows["bungie"].status == "sent"
        assert [r.activity_id for r in w.bungie.reports] == [activity]


async def test_bungie_throttle_waits_at_least_the_throttle_seconds(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.bungie.inject("throttle_429", count=2, path=REPORT_PATH, throttle_seconds=1)
        report_id, _ = await bungie_and_game(w)
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        assert rows["bungie"].status == "sent"
        [wait] = await retry_waits(w, report_id, "bungie")
        assert wait == pytest.approx(1.0, abs=0.05)
        assert w.bungie.report_count == 1


@pytest.mark.parametrize("fault", ["drop", "slow"])
@pytest.mark.parametrize("landed", [True, False])
async def test_bungie_answer_lost_is_sent_once_more_and_arrives_once(
    tmp_path: Path, discord_standin: DiscordStandIn, fault: str, landed: bool
) -> None:
    """A lost answer is re-sent once; Bungie refuses the repeat of one that landed
    (1403), which counts as delivered. Either way Bungie holds exactly one report."""
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.bungie.inject(fault, path=REPORT_PATH, landed=landed, delay=3.0)
        report_id, _ = await bungie_and_game(w)
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        assert rows["bungie"].status == "sent"
        assert w.bungie.report_count == 1
        assert len(w.bungie.requests_to(REPORT_PATH, "POST")) == 2
        audit = await w.store.audit.for_report(report_id)
        assert [e.details["destination"] for e in audit if e.action == "delivery.resent"] == [
            "bungie"]
        [sent] = [e for e in audit if e.action == "delivery.sent"
                  and e.details["destination"] == "bungie"]
        assert sent.details.get("already_reported", False) is landed
        assert rows["sanctions"].status == "sent"  # the other destination is unaffected


async def test_bungie_resend_answer_lost_too_is_not_sent_a_third_time(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        w.bungie.inject("drop", count=2, path=REPORT_PATH, landed=False)
        report_id, _ = await bungie_and_game(w)
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        bungie = rows["bungie"]
        assert bungie.status == "failed" and bungie.last_error is not None
        assert bungie.last_error.startswith(MAY_HAVE_LANDED)
        assert len(w.bungie.requests_to(REPORT_PATH, "POST")) == 2


async def test_bungie_answer_lost_is_never_filed_again_when_resend_is_off(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, bungie_resend_ambiguous=False) as w:
        await w.link_everyone()
        w.bungie.inject("drop", path=REPORT_PATH, landed=True)
        report_id, _ = await bungie_and_game(w)
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        bungie = rows["bungie"]
        assert bungie.status == "failed" and bungie.last_error is not None
        assert bungie.last_error.startswith(MAY_HAVE_LANDED)
        assert "not filed again, to avoid a duplicate" in bungie.last_error
        assert w.bungie.report_count == 1
        assert len(w.bungie.requests_to(REPORT_PATH, "POST")) == 1


async def test_bungie_resend_a_moderator_confirmed_is_sent_even_with_resend_off(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, bungie_resend_ambiguous=False) as w:
        await w.link_everyone()
        w.bungie.inject("drop", path=REPORT_PATH, landed=False)
        report_id, _ = await bungie_and_game(w)
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        assert rows["bungie"].status == "failed" and w.bungie.report_count == 0
        assert await w.store.deliveries.requeue_failed(report_id, "bungie", actor_id=7,
                                                       confirm_resend=True)
        await w.bot.services.events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id))
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        assert rows["bungie"].status == "sent" and w.bungie.report_count == 1


async def test_bungie_without_the_report_scope_hands_off_and_remembers(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin, grant_bnet_write=False) as w:
        await w.link_everyone()
        report_id, activity = await bungie_and_game(w)
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        url = (f"https://www.bungie.net/en/PGCR/Report/{activity}/"
               f"?characterId={w.bob_bungie.character_id}")
        assert rows["bungie"].status == "handed_off" and rows["bungie"].handoff_url == url
        dm = await w.discord.wait_for_dm(w.alice, lambda m: "file it on Bungie.net" in m.text)
        assert url in [c.get("url") for row in dm.components for c in row.get("components", [])]
        assert (await w.store.kv.get(BUNGIE_MODE_KEY))["mode"] == "handoff"
        audit = await w.store.audit.between(0, 2**40)
        assert [e.action for e in audit].count("bungie.report_mode_changed") == 1

        # From now on Bungie is not even asked.
        asked = len(w.bungie.requests_to(REPORT_PATH, "POST"))
        second = await w.file(w.alice, "Bob#0042", w.activity())
        rows = {r.destination: r for r in await w.wait_delivered(second)}
        assert rows["bungie"].status == "handed_off"
        assert len(w.bungie.requests_to(REPORT_PATH, "POST")) == asked


# ---- stopped mid-delivery -----------------------------------------------------------

@pytest.mark.parametrize("landed", [True, False])
async def test_restart_mid_delivery_never_duplicates(
    tmp_path: Path, discord_standin: DiscordStandIn, landed: bool
) -> None:
    """The first Warden stops while both report requests hang (the sanctions one may
    already have created the report); a second Warden over the same database finishes
    the work without a duplicate anywhere."""
    port, key = free_port(), generate_key()
    async with BungieStandin() as bungie, SanctionsStandin() as rh:
        settings = world_settings(tmp_path, discord_standin, bungie, rh, port, key,
                                  http_read_timeout=30.0)
        accounts = (bungie.add_account("Alice", 1111), bungie.add_account("Bob", 42))
        players = (rh.add_player("AliceInGame"), rh.add_player("BobInGame"))
        rh.inject("slow", path=REPORTS_ROUTE, method="POST", delay=20.0, landed=landed)
        bungie.inject("slow", path=REPORT_PATH, delay=20.0, landed=landed)

        async with run_warden(settings, discord_standin) as bot:
            w = ReportWorld(discord_standin, bungie, rh, bot, settings,
                            TokenBox(settings.token_keys()), *accounts, *players)
            await w.set_guild(review_mode=ReviewMode.AUTO, short_count=0)
            await w.link_everyone()
            report_id, _ = await bungie_and_game(w)
            await discord_standin.wait_until(
                lambda: len(rh.requests_to(REPORTS_ROUTE, "POST")) == 1
                and len(bungie.requests_to(REPORT_PATH, "POST")) == 1,
                description="both report requests in flight")
            if landed:
                await discord_standin.wait_until(lambda: rh.report_count == 1,
                                                 description="the report landed upstream")
        # Stopped with both attempts in flight: the rows say so.
        rows_before = {r.destination: r for r in await _rows(settings, report_id)}
        assert {r.status for r in rows_before.values()} == {"in_flight"}

        async with run_warden(settings, discord_standin) as bot:
            w2 = ReportWorld(discord_standin, bungie, rh, bot, settings, w.box,
                             *accounts, *players)
            rows = {r.destination: r for r in await w2.wait_delivered(report_id)}
            audit = [e.action for e in await w2.store.audit.for_report(report_id)]

        sanctions = rows["sanctions"]
        assert sanctions.status == "sent"
        [stored] = rh.reports_with_warden_id(str(report_id))
        assert sanctions.upstream_id == stored["report_id"]
        assert len(rh.requests_to(REPORTS_ROUTE, "POST")) == (1 if landed else 2)

        # Bungie cannot be asked whether the first attempt landed: it is sent once more,
        # and refused (1403, counted as delivered) if it had.
        assert rows["bungie"].status == "sent"
        assert len(bungie.requests_to(REPORT_PATH, "POST")) == 2
        assert bungie.report_count == 1
        assert "delivery.recovered" not in audit  # recovery is audited installation-wide
        assert audit.count("delivery.sent") == 2 and audit.count("delivery.resent") == 1
        assert INTERRUPTED.startswith("interrupted:")


async def _rows(settings: Settings, report_id: int) -> list[Delivery]:
    """The rows as the stopped Warden left them, read straight from the file."""
    db = await Database.open(settings.database_path)
    try:
        return await Store(db).deliveries.for_report(report_id)
    finally:
        await db.close()


async def test_many_reports_under_mixed_faults_end_exactly_once_or_failed_with_a_reason(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        rng = random.Random(20)
        for _ in range(14):
            w.sanctions.inject(rng.choice(["unavailable", "throttle", "drop", "slow",
                                           "server_error", "html"]),
                               path=REPORTS_ROUTE, method="POST", retry_after=0.05,
                               delay=1.5, landed=rng.random() < 0.5)
        for _ in range(4):
            w.sanctions.inject("unavailable", path="/sent-reports")
        for _ in range(10):
            w.bungie.inject(rng.choice(["server_error", "maintenance", "drop", "slow", "html"]),
                            path=REPORT_PATH, delay=1.5, landed=rng.random() < 0.5)
        filed = [await bungie_and_game(w) for _ in range(10)]
        for report_id, activity in filed:
            rows = {r.destination: r for r in await w.wait_delivered(report_id, within=30)}
            upstream = w.sanctions.reports_with_warden_id(str(report_id))
            sanctions = rows["sanctions"]
            if sanctions.status == "sent":
                assert [u["report_id"] for u in upstream] == [sanctions.upstream_id]
            else:
                assert sanctions.status == "failed" and sanctions.last_error
                assert len(upstream) <= 1
                assert sanctions.last_error.startswith((NOT_SENT, MAY_HAVE_LANDED))
                if sanctions.last_error.startswith(NOT_SENT):
                    assert upstream == []
            bungie = rows["bungie"]
            at_bungie = [r for r in w.bungie.reports if r.activity_id == activity]
            if bungie.status == "sent":
                assert len(at_bungie) == 1
            else:
                assert bungie.status == "failed" and bungie.last_error
                assert bungie.last_error.startswith((NOT_SENT, MAY_HAVE_LANDED))
                assert len(at_bungie) <= 1
        statuses = [r.status for rid, _ in filed for r in await w.store.deliveries.for_report(rid)]
        # Most get through despite the faults.
        assert statuses.count(DeliveryStatus.SENT) >= len(filed)
