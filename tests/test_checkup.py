"""``python -m bot check`` asks each configured API whether Warden's credentials work."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.checkup import run_checkup
from tests.standins.bungie import BungieStandin
from tests.standins.sanctions import SanctionsStandin
from tests.support import clean_env


def configure(monkeypatch: pytest.MonkeyPatch, bungie: BungieStandin, api_key: str,
              sanctions: SanctionsStandin) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t" * 30)
    monkeypatch.setenv("BUNGIE_API_KEY", api_key)
    monkeypatch.setenv("BUNGIE_API_BASE_URL", bungie.api_base_url)
    monkeypatch.setenv("BUNGIE_STATS_BASE_URL", bungie.stats_base_url)
    monkeypatch.setenv("SANCTIONS_API_BASE_URL", sanctions.base_url)
    monkeypatch.setenv("SANCTIONS_CLIENT_ID", sanctions.client_id)
    monkeypatch.setenv("SANCTIONS_CLIENT_SECRET", sanctions.client_secret)
    monkeypatch.setenv("API_RETRY_ATTEMPTS", "1")


async def test_all_good_when_both_apis_accept_warden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, tmp_path)
    async with BungieStandin() as bungie, SanctionsStandin() as sanctions:
        configure(monkeypatch, bungie, bungie.api_key, sanctions)
        out = io.StringIO()
        code = await run_checkup(out=out)
    text = out.getvalue()
    assert code == 0, text
    assert "Bungie.net: API key accepted" in text
    assert "report reasons: loaded from the live manifest" in text
    assert "service token: obtained" in text


async def test_refused_key_and_missing_permissions_are_named_with_fixes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, tmp_path)
    async with BungieStandin() as bungie, SanctionsStandin(
        service_permissions=["sanction:report:create:self"]
    ) as sanctions:
        configure(monkeypatch, bungie, "wrong-key", sanctions)
        out = io.StringIO()
        code = await run_checkup(out=out)
    text = out.getvalue()
    assert code == 2
    assert "API key refused" in text and "BUNGIE_API_KEY" in text
    assert "report on behalf of players" in text and "NO" in text
    assert "wrong-key" not in text
