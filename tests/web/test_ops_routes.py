"""``/healthz`` and ``/metrics`` on a real Warden in the stand-ins, as an operator's
monitoring sees them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from bot.errors import NotAllowed
from bot.metrics import content_type
from tests.prom_text import Family, parse
from tests.report_rig import ReportWorld, report_world
from tests.standins.discord import DiscordStandIn
from tests.standins.sanctions import REPORTS_ROUTE

pytestmark = pytest.mark.usefixtures("isolated_env")


@pytest.fixture
async def world(tmp_path: Path, discord_standin: DiscordStandIn) -> AsyncIterator[ReportWorld]:
    async with report_world(tmp_path, discord_standin) as w:
        await w.link_everyone()
        yield w


def http_to(w: ReportWorld) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{w.settings.web_port}", timeout=10)


async def metrics(http: httpx.AsyncClient) -> dict[str, Family]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type()
    return parse(response.text)


async def test_healthz_is_ok_and_tells_when_each_destination_last_delivered(
    world: ReportWorld,
) -> None:
    w = world
    async with http_to(w) as http:
        before = await http.get("/healthz")
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("application/json")
        assert before.json() == {
            "status": "ok", "ready": True, "database_writable": True, "database_error": None,
            "delivery_backlog": 0, "last_success": {"bungie": None, "sanctions": None},
            "shards": [{"id": 0, "connected": True}],
        }

        report_id = await w.file(w.alice, "Bob#0042", activity=w.activity())
        await w.wait_delivered(report_id)
        after = (await http.get("/healthz")).json()

    assert after["status"] == "ok" and after["delivery_backlog"] == 0
    for destination in ("bungie", "sanctions"):
        at = datetime.fromisoformat(after["last_success"][destination])
        assert abs(at.timestamp() - time.time()) < 60
    # The write probe really writes: the health check leaves its mark in the database.
    assert await w.store.kv.get("health.write_probe") is not None


async def test_healthz_counts_a_delivery_waiting_as_backlog(world: ReportWorld) -> None:
    w = world
    await w.outbox.stop()  # nothing sends: the accepted report's deliveries wait
    await w.file(w.alice, "Bob#0042", activity=w.activity())
    async with http_to(w) as http:
        health = await http.get("/healthz")
        families = await metrics(http)
    # A backlog is reported, but it is no reason to restart Warden: still healthy.
    assert health.status_code == 200
    assert health.json()["delivery_backlog"] == 2
    assert families["warden_delivery_backlog"].value() == 2


async def test_healthz_is_503_when_the_database_refuses_writes(world: ReportWorld) -> None:
    w = world
    async with http_to(w) as http:
        # SQLite's own switch: every write on the bot's connection now fails.
        await w.store.db.writer.execute_fetchall("PRAGMA query_only = ON")
        broken = await http.get("/healthz")
        await w.store.db.writer.execute_fetchall("PRAGMA query_only = OFF")
        healed = await http.get("/healthz")
    assert broken.status_code == 503
    body = broken.json()
    assert body["status"] == "unhealthy" and body["database_writable"] is False
    assert "readonly" in body["database_error"]
    assert body["ready"] is True  # still connected to Discord: it is the database
    assert healed.status_code == 200


async def test_healthz_is_503_while_shutting_down(world: ReportWorld) -> None:
    w = world
    async with http_to(w) as http:
        assert (await metrics(http))["warden_ready"].value() == 1
        w.bot.draining = True
        health = await http.get("/healthz")
        families = await metrics(http)
        w.bot.draining = False
    assert health.status_code == 503
    assert health.json()["ready"] is False and health.json()["database_writable"] is True
    assert families["warden_ready"].value() == 0


async def test_metrics_count_reports_deliveries_retries_and_api_errors(
    world: ReportWorld,
) -> None:
    w = world
    # The sanctions API is down for two requests: the client's own retry (2 attempts)
    # gives up, so the outbox schedules a retry, which then succeeds.
    w.sanctions.inject("unavailable", count=2, path=REPORTS_ROUTE, method="POST")
    activity = w.activity()
    report_id = await w.file(w.alice, "Bob#0042", activity=activity)
    rows = await w.wait_delivered(report_id)
    assert {r.status for r in rows} == {"sent"}
    with pytest.raises(NotAllowed):  # the same player for the same activity: a limit
        await w.file(w.alice, "Bob#0042", activity=activity)

    async with http_to(w) as http:
        families = await metrics(http)

    reports = families["warden_reports_total"]
    assert reports.value(reason="cheating", outcome="drafted") == 1
    assert reports.value(reason="cheating", outcome="accepted") == 1
    assert reports.value(reason="cheating", outcome="limited") == 1
    deliveries = families["warden_deliveries_total"]
    assert deliveries.value(destination="bungie", outcome="sent") == 1
    assert deliveries.value(destination="sanctions", outcome="sent") == 1
    assert families["warden_delivery_retries_total"].value(destination="sanctions") == 1
    assert families["warden_delivery_retries_total"].value(destination="bungie") is None
    # Every failed attempt, labelled by the upstream's code or else the HTTP status.
    errors = families["warden_api_errors_total"]
    assert errors.value(destination="sanctions", code="http_503") == 2
    attempts = families["warden_delivery_attempt_seconds"]
    assert attempts.value("warden_delivery_attempt_seconds_count", destination="sanctions") == 2
    assert attempts.value("warden_delivery_attempt_seconds_count", destination="bungie") == 1
    latency = families["warden_delivery_latency_seconds"]
    assert latency.value("warden_delivery_latency_seconds_count", destination="sanctions") == 1
    assert families["warden_delivery_backlog"].value() == 0
    last = families["warden_delivery_last_success_timestamp_seconds"]
    assert abs((last.value(destination="sanctions") or 0) - time.time()) < 60
    assert families["warden_ready"].value() == 1
