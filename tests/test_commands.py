"""The command tree as members see it: unique names, valid shapes, the ten reasons."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.app import command_payload
from bot.domain import Reason
from bot.runtime import open_app
from bot.settings import load_settings


@pytest.fixture
async def payload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(require_token=False, database_path=tmp_path / "w.db")
    async with open_app(settings, start_background=False) as bot:
        await bot.setup_hook()
        yield await command_payload(bot)


async def test_no_two_commands_share_a_name(payload) -> None:
    # Discord keys commands by (type, name): a clash silently replaces one of them.
    counts = Counter((c["type"], c["name"]) for c in payload)
    clashes = [key for key, n in counts.items() if n > 1]
    assert clashes == []


async def test_names_and_descriptions_fit_discord_limits(payload) -> None:
    def walk(options):
        for option in options or []:
            yield option
            yield from walk(option.get("options"))

    for command in payload:
        if command["type"] == 1:
            assert 1 <= len(command["name"]) <= 32 and command["name"] == command["name"].lower()
            assert 1 <= len(command["description"]) <= 100
        for option in walk(command.get("options")):
            assert 1 <= len(option["name"]) <= 32 and option["name"] == option["name"].lower()
            assert 1 <= len(option["description"]) <= 100
            assert len(option.get("choices") or []) <= 25
            assert not (option.get("choices") and option.get("autocomplete"))


def test_reasons_are_exactly_the_sanctions_api_ten_in_order() -> None:
    assert [r.value for r in Reason] == [
        "cheating", "hate_speech", "harassment", "real_life_threat", "teaming",
        "intentional_feeding", "stream_sniping", "afk", "didnt_play_assigned_role", "other",
    ]
    assert Reason.HATE_SPEECH.label == "Hate speech"
    assert Reason.DIDNT_PLAY_ASSIGNED_ROLE.label == "Didn't play assigned role"
    assert len({r.label for r in Reason}) == 10


def test_reasons_match_the_published_sanctions_spec() -> None:
    import json

    spec = Path(__file__).resolve().parents[1].parent / "shared" / "specs" / (
        "rallyhere-openapi-subset.json"
    )
    if not spec.exists():
        pytest.skip(f"sanctions spec not found at {spec} (../shared is absent)")
    schemas = json.loads(spec.read_text())["components"]["schemas"]
    assert [r.value for r in Reason] == schemas["ReportReason"]["enum"]
