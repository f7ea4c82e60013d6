"""``deploy/Dockerfile`` and ``deploy/warden.service`` match what the code does: the
image's settings bind the web server where the published port reaches it, its
HEALTHCHECK reads ``/healthz`` correctly, and both stop Warden with SIGTERM and give it
the time its graceful stop needs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from bot.metrics import WardenMetrics
from bot.services.health import HealthService
from bot.settings import Settings, load_settings
from bot.store import Database, Store
from bot.web import WebServer

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()
UNIT = (ROOT / "deploy" / "warden.service").read_text()


pytestmark = pytest.mark.usefixtures("isolated_env")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def one(name: str) -> str:
    [value] = [rest for word, rest in instructions() if word == name]
    return value


def image_env() -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", one("ENV")))


def test_the_image_binds_the_web_server_where_the_published_port_reaches_it() -> None:
    settings = load_settings(require_token=False, **{k.lower(): v for k, v in
                                                     image_env().items() if k.isupper()})
    assert settings.web_host == "0.0.0.0"  # noqa: S104 - inside the container, on purpose
    assert str(settings.web_port) == one("EXPOSE")
    volume = json.loads(one("VOLUME"))[0]
    assert settings.database_path.parent == Path(volume)
    assert json.loads(one("CMD")) == ["python", "-m", "bot", "run"]
    assert one("STOPSIGNAL") == "SIGTERM"


def test_both_give_the_graceful_stop_more_time_than_it_needs() -> None:
    grace = Settings().outbox_shutdown_grace_seconds
    # Grace, then outcome DMs and review posts (5 s each at most), then closing.
    needed = grace + 5 + 5 + 5
    stop_timeout = re.search(r"--stop-timeout (\d+)", DOCKERFILE)
    assert stop_timeout is not None and int(stop_timeout.group(1)) >= needed
    unit = dict(re.findall(r"^(\w+)=(.*)$", UNIT, re.MULTILINE))
    assert unit["KillSignal"] == "SIGTERM"
    assert int(unit["TimeoutStopSec"]) >= needed
    assert unit["ExecStart"].endswith(" -m bot run")
    assert unit["ExecStart"].startswith(unit["WorkingDirectory"] + "/.venv/bin/python")


async def test_the_image_healthcheck_passes_only_when_healthz_says_healthy(
    tmp_path: Path,
) -> None:
    command = one("HEALTHCHECK").split(" CMD ", 1)[1]
    db = await Database.open(tmp_path / "warden.db")
    serving = [True]
    health = HealthService(store=Store(db), metrics=WardenMetrics(), ready=lambda: serving[0])
    web = WebServer(None, host="127.0.0.1", port=0, secure_cookies=False, health=health)
    await web.start()
    try:
        async def healthcheck() -> int:
            # The image has only `python` on PATH: point it at this interpreter.
            env = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
                   "WEB_PORT": str(web.port)}
            proc = await asyncio.create_subprocess_shell(
                command, env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            return await asyncio.wait_for(proc.wait(), timeout=30)

        assert await healthcheck() == 0
        serving[0] = False  # starting, reconnecting or shutting down: 503
        assert await healthcheck() != 0
    finally:
        await web.stop()
        await db.close()


def test_compose_runs_two_processes_on_one_postgresql_with_half_the_shards_each() -> None:
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    services = re.findall(r"^  (warden-\w+):\n((?:    .*\n|\n)+)", compose, re.MULTILINE)
    assert [name for name, _ in services] == ["warden-a", "warden-b"]
    counts, shards, urls = set(), [], set()
    for _, body in services:
        env = dict(re.findall(r"^      (\w+): \"?([^\"\n]+)\"?$", body, re.MULTILINE))
        counts.add(env["SHARD_COUNT"])
        shards += [int(s) for s in env["SHARD_IDS"].split(",")]
        urls.add(env["DATABASE_URL"])
        settings = load_settings(require_token=False, database_url=env["DATABASE_URL"],
                                 shard_count=env["SHARD_COUNT"], shard_ids=env["SHARD_IDS"])
        assert settings.database_url is not None and settings.shard_list() is not None
    [count] = counts
    assert sorted(shards) == list(range(int(count)))  # every shard exactly once
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql://")
    assert "pg_isready" in compose  # the database is healthy before migrate runs
    assert "service_completed_successfully" in compose  # migrate runs before both
    assert "stop_grace_period: 30s" in compose
