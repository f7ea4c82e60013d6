"""What the internet may see of the operator routes (issue 12, item 10), and what the
access log makes of hostile paths (item 9).

``/livez`` is the public liveness answer: no database, no details. ``/healthz`` (backlog,
last successes, database error text, a write probe per call) and ``/metrics`` answer
only requests that did not come through a reverse proxy.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.metrics import WardenMetrics
from bot.services.health import HealthService
from bot.store import Database, Store
from bot.store.kv import WRITE_PROBE_KEY
from bot.web import WebServer
from tests.linking_rig import free_port


@dataclass
class Ops:
    store: Store
    http: httpx.AsyncClient


@pytest.fixture
async def ops(tmp_path: Path) -> AsyncIterator[Ops]:
    db = await Database.open(tmp_path / "warden.db")
    store = Store(db)
    health = HealthService(store=store, metrics=WardenMetrics(), ready=lambda: True,
                           destinations=("bungie",))
    web = WebServer(None, host="127.0.0.1", port=free_port(), secure_cookies=False,
                    health=health)
    await web.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}") as http:
            yield Ops(store, http)
    finally:
        await web.stop()
        await db.close()


async def test_livez_answers_ok_without_touching_the_database(ops: Ops) -> None:
    for _ in range(3):
        answer = await ops.http.get("/livez", headers={"X-Forwarded-For": "203.0.113.9"})
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert await ops.store.kv.get(WRITE_PROBE_KEY) is None  # no write probe ran


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP",
                                    "X-Forwarded-Host"])
async def test_healthz_and_metrics_through_a_proxy_are_not_found(ops: Ops, header: str) -> None:
    value = "for=203.0.113.9" if header == "Forwarded" else "203.0.113.9"
    for path in ("/healthz", "/metrics"):
        answer = await ops.http.get(path, headers={header: value})
        assert answer.status_code == 404, path
        assert "delivery_backlog" not in answer.text and "warden_" not in answer.text
    assert await ops.store.kv.get(WRITE_PROBE_KEY) is None


async def test_healthz_and_metrics_answer_monitoring_on_the_host(ops: Ops) -> None:
    health = await ops.http.get("/healthz")
    assert health.status_code == 200 and health.json()["delivery_backlog"] == 0
    assert await ops.store.kv.get(WRITE_PROBE_KEY) is not None
    assert "warden_ready 1" in (await ops.http.get("/metrics")).text


async def test_a_crafted_path_cannot_forge_a_log_line(
    ops: Ops, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.access")
    await ops.http.get("/x%0a[CRITICAL] warden: database wiped%0d%1b[31m")
    [line] = [r for r in caplog.records if r.name == "aiohttp.access"]
    message = line.getMessage()
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert "/x\\x0a[CRITICAL] warden: database wiped\\x0d\\x1b[31m" in message


async def test_unknown_paths_are_logged_at_debug_only(
    ops: Ops, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.access")
    for path in ("/wp-login.php", "/.env", "/admin"):
        assert (await ops.http.get(path)).status_code == 404
    assert (await ops.http.post("/livez")).status_code == 405
    levels = {r.levelno for r in caplog.records if r.name == "aiohttp.access"}
    assert levels == {logging.DEBUG}
