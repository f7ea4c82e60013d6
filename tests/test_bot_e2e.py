"""The whole bot against the Discord stand-in: it logs in, becomes ready, answers a
command, and ``python -m bot sync`` registers exactly what ``--dry-run`` prints."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import open_app
from bot.settings import load_settings
from tests.standins.discord import DiscordStandIn, run_bot
from tests.support import clean_env

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = {"id", "application_id", "version", "guild_id"}


def _stable(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE and v is not None}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return sorted((strip(c) for c in commands), key=lambda c: (c["type"], c["name"]))


def _subset(expected: object, actual: object) -> bool:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _subset(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, int) and isinstance(actual, str):
        return str(expected) == actual  # Discord echoes permission bitfields as strings
    return expected == actual


async def _cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_sync_registers_exactly_the_dry_run_payload(
    discord_standin: DiscordStandIn, tmp_path: Path
) -> None:
    guild_id = str(discord_standin.guild.id)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DATABASE_PATH": str(tmp_path / "w.db"),
    }
    code, dry, err = await _cli("sync", "--dry-run", "--guild", guild_id, env=env, cwd=tmp_path)
    assert code == 0, err
    env |= {
        "DISCORD_TOKEN": "standin-token-abcdefghijklmnopqrstuvwxyz",
        "DISCORD_API_BASE_URL": discord_standin.api_base_url,
        "DISCORD_GATEWAY_URL": discord_standin.gateway_url,
    }
    code, out, err = await _cli("sync", "--guild", guild_id, env=env, cwd=tmp_path)
    assert code == 0, err
    assert "synced" in out and "standin-token" not in out + err
    registered = discord_standin.commands(discord_standin.guild.id)
    assert registered is not None
    sent, stored = _stable(json.loads(dry)), _stable(registered)
    assert [(c["type"], c["name"]) for c in stored] == [(c["type"], c["name"]) for c in sent]
    for expected, actual in zip(sent, stored, strict=True):
        # Discord fills in defaults (e.g. integration_types); what we sent must be kept.
        assert _subset(expected, actual), (expected, actual)
    assert discord_standin.sync_count == 1


async def test_bot_becomes_ready_and_answers_about(
    discord_standin: DiscordStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env(monkeypatch, tmp_path)
    settings = load_settings(require_token=False, database_path=tmp_path / "w.db",
                             web_port=0)
    async with open_app(settings, guild_ready_timeout=0.05) as bot, run_bot(
        bot, discord_standin
    ):
        assert bot.is_ready()
        assert [g.id for g in bot.guilds] == [discord_standin.guild.id]
        handle = await discord_standin.slash(discord_standin.guild.reporter, "about")
        reply = await handle.wait_final()
        assert reply.ephemeral
        assert "Report players with `/report`" in reply.text
        assert reply.pings.nobody
    discord_standin.assert_no_unknown_routes()
