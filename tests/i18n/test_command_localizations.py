"""The command tree Discord gets (and ``sync --dry-run`` prints) carries each catalog's
descriptions and choice names, and every translation of them fits Discord's limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import command_payload
from bot.i18n import LANGUAGES
from bot.i18n.catalogs import translations
from bot.runtime import open_app
from bot.settings import load_settings
from tests.i18n.fake_catalogs import translated

Payload = list[dict[str, Any]]


async def _payload(tmp_path: Path) -> Payload:
    settings = load_settings(require_token=False, database_path=tmp_path / "w.db")
    async with open_app(settings, start_background=False, ephemeral_database=True) as bot:
        await bot.setup_hook()
        return await command_payload(bot)


def _walk(options: list[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    for option in options or []:
        yield option
        yield from _walk(option.get("options"))


def _fields(payload: Payload) -> Iterator[str]:
    """Every English description and choice name (the catalog ids of command fields)."""
    for command in payload:
        if command.get("description"):
            yield command["description"]
        for option in _walk(command.get("options")):
            yield option["description"]
            for choice in option.get("choices") or []:
                yield choice["name"]


@pytest.fixture
async def english(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Payload]:
    monkeypatch.chdir(tmp_path)
    yield await _payload(tmp_path)


async def test_the_payload_carries_the_catalogs_localisations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    german = {"Configure Warden for this server": "Warden für diesen Server einrichten",
              "approve (moderators approve first)": "freigeben (Moderatoren zuerst)"}
    with translated("de", german):
        payload = await _payload(tmp_path)
    [warden] = [c for c in payload if c["name"] == "warden"]
    assert warden["description_localizations"]["de"] == "Warden für diesen Server einrichten"
    [mode] = [o for o in _walk(warden["options"]) if o["name"] == "mode"]
    [approve] = [c for c in mode["choices"] if c["value"] == "approve"]
    assert approve["name_localizations"]["de"] == "freigeben (Moderatoren zuerst)"


@pytest.mark.parametrize("language", LANGUAGES[1:], ids=lambda lang: lang.catalog)
async def test_every_translated_command_field_fits_discords_limits(
    english: Payload, language: Any
) -> None:
    catalog = translations(language)
    too_long = {
        source: catalog[source]
        for source in set(_fields(english))
        if catalog.get(source) and not 1 <= len(catalog[source]) <= 100
    }
    assert too_long == {}, "Discord takes 1-100 characters for descriptions and choice names"
