"""Hostile input from the internet, at Warden's web server (issue 12): crafted paths for
the access log, junk one-time secrets at every OAuth step, hostile Discord names on the
confirmation page, forwarded requests to the operator routes, and evidence URLs that do
not point at Discord's CDN.

Every case ends on one of Warden's own pages (or a 404), writes no audit row, reaches
no provider, and leaves every log line one line long.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.discord_endpoints import is_discord_cdn_url
from bot.domain import Provider
from bot.metrics import WardenMetrics
from bot.services.health import HealthService
from bot.store.kv import WRITE_PROBE_KEY
from bot.web import WebServer
from tests.hostile import corpus
from tests.linking_rig import Rig, free_port, open_rig
from tests.prom_text import link_rejections


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


def one_line_each(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message, message
        assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in message), message
        assert "\u2028" not in message and "\u2029" not in message, message


async def nothing_written_or_sent(rig: Rig) -> None:
    assert [e async for e in rig.store.audit.iterate()] == []
    assert rig.bungie.requests_to("/en/OAuth/Authorize") == []
    assert await rig.store.links.get(1001, Provider.BUNGIE) is None


async def test_crafted_paths_cannot_forge_log_lines(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(base_url=rig.base_url) as http:
        for name, path in corpus.LOG_FORGING_PATHS.items():
            answer = await http.get(path)
            assert answer.status_code == 404, name
            answer = await http.post(path)
            assert answer.status_code in (404, 405), name
    one_line_each(caplog)
    access = [r for r in caplog.records if r.name == "aiohttp.access"]
    assert len(access) == 2 * len(corpus.LOG_FORGING_PATHS)
    assert {r.levelno for r in access} == {logging.DEBUG}


@pytest.mark.parametrize("provider", ["bungie", "game"])
async def test_junk_secrets_at_every_step_are_refused_quietly(
    rig: Rig, caplog: pytest.LogCaptureFixture, provider: str
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(base_url=rig.base_url) as http:
        for name, secret in corpus.ONE_TIME_SECRETS.items():
            start = await http.get(f"/oauth/{provider}/start", params={"t": secret})
            assert start.status_code == 410 and "<form" not in start.text, name
            confirm = await http.post(f"/oauth/{provider}/start", data={"csrf": secret})
            assert confirm.status_code == 400, name
            callback = await http.get(f"/oauth/{provider}/callback",
                                      params={"state": secret, "code": secret})
            assert callback.status_code == 400, name
            assert secret not in callback.text or not secret.strip(), name
    await nothing_written_or_sent(rig)
    one_line_each(caplog)
    refused = sum(
        link_rejections(rig.metrics, stage, reason)
        for stage in ("start", "confirm", "callback")
        for reason in ("start_invalid", "confirm_invalid", "state_invalid", "state_missing")
    )
    assert refused == 3 * len(corpus.ONE_TIME_SECRETS)


async def test_hostile_discord_names_are_shown_as_text_on_the_confirmation_page(
    rig: Rig,
) -> None:
    for name, discord_name in corpus.DISCORD_NAMES.items():
        browser = await rig.browser()
        page = await browser.open(
            await rig.start_url(1001, Provider.BUNGIE, discord_name=discord_name)
        )
        assert page.status_code == 200, name
        # Only Warden's own markup: one form, one hidden field, one button, no link.
        assert page.text.count("<form") == 1 and page.text.count("<input") == 1, name
        assert "<a " not in page.text and "<script" not in page.text and "<img" not in page.text
        assert page.text.count("<button") == 1, name
    assert rig.bungie.requests_to("/en/OAuth/Authorize") == []


async def test_forwarded_requests_never_get_the_detailed_health(tmp_path: Path) -> None:
    async with open_rig(tmp_path) as rig:
        health = HealthService(store=rig.store, metrics=WardenMetrics(), ready=lambda: True)
        web = WebServer(None, host="127.0.0.1", port=free_port(), secure_cookies=False,
                        health=health)
        await web.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}") as http:
                for name, header in corpus.FORWARDING_HEADERS.items():
                    for path in ("/healthz", "/metrics"):
                        answer = await http.get(path, headers=dict([header]))
                        assert answer.status_code == 404, (name, path)
                    live = await http.get("/livez", headers=dict([header]))
                    assert live.json() == {"status": "ok"}, name
            assert await rig.store.kv.get(WRITE_PROBE_KEY) is None
        finally:
            await web.stop()


@pytest.mark.parametrize("name", list(corpus.EVIDENCE_URLS))
def test_evidence_urls_off_discords_cdn_are_never_fetched(name: str) -> None:
    assert not is_discord_cdn_url(corpus.EVIDENCE_URLS[name])
