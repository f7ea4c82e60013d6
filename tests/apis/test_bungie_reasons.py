"""Warden's ten reasons -> Bungie report (category, reason) hashes."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator

import pytest

from bot.apis.bungie.client import BungieClient
from bot.apis.bungie.reasons import (
    DEFAULT_REASON_MAP,
    OTHER_REASON_HASH,
    REPORT_CATEGORY_ENTITY,
    ReasonMapError,
    ReasonTable,
    ReasonTarget,
    ReportCategory,
    load_reason_table,
    parse_reason_map,
    resolve_reason_map,
    snapshot_categories,
    snapshot_table,
)
from bot.apis.http import build_http_client
from bot.apis.retry import RetryPolicy
from bot.domain import Reason
from tests.standins.bungie import BungieStandin, bungie_client_for

CHEATING, ABUSIVE_CHAT, GRIEFING, INACTIVITY = 1851805954, 1225860615, 2813366390, 2425050023


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def setup() -> AsyncIterator[tuple[BungieStandin, BungieClient]]:
    async with BungieStandin(manifest_version="236192.25.08.13.2000-2") as bungie, \
            build_http_client(connect_timeout=2, read_timeout=2, user_agent="t") as http:
        client = bungie_client_for(
            bungie, http, policy=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0),
            sleep=no_sleep)
        yield bungie, client


def test_snapshot_has_nine_categories_each_with_other() -> None:
    categories = snapshot_categories()
    assert len(categories) == 9
    for category in categories:
        other = category.other()
        assert other is not None and other.hash == OTHER_REASON_HASH


def test_every_reason_is_mapped_by_name() -> None:
    table = snapshot_table()
    assert set(table.entries) == set(Reason)
    names = {r: (e.category_name, e.reason_name) for r, e in table.entries.items()}
    assert names[Reason.CHEATING] == ("Cheating", "Hacking")
    assert names[Reason.AFK] == ("Inactivity", "AFK")
    assert names[Reason.HARASSMENT] == ("Abusive Chat", "Harassment")
    assert names[Reason.HATE_SPEECH] == ("Abusive Chat", "Other")
    assert names[Reason.INTENTIONAL_FEEDING] == ("Griefing", "Sabotage")
    assert table[Reason.CHEATING].category_hash == CHEATING
    assert table[Reason.CHEATING].reason_hash == 2352608786
    assert table[Reason.AFK].reason_hash == 1310746887
    assert all(e.exact for e in table.entries.values())
    assert table.source == "snapshot" and table.manifest_version is None


def test_each_reason_hash_belongs_to_its_category() -> None:
    categories = {c.hash: c for c in snapshot_categories()}
    for entry in snapshot_table().entries.values():
        assert entry.reason_hash in {r.hash for r in categories[entry.category_hash].reasons}


def test_json_round_trip() -> None:
    table = snapshot_table({Reason.OTHER: ReasonTarget("Spam", None)})
    again = ReasonTable.from_json(table.to_json())
    assert again == table
    assert again.with_overrides(None)[Reason.OTHER].category_name == "Griefing"


def test_from_json_rejects_damaged_cache() -> None:
    with pytest.raises(ReasonMapError):
        ReasonTable.from_json("{}")
    with pytest.raises(ReasonMapError):
        ReasonTable.from_json("not json")


# ---- operator override ----------------------------------------------------------------------

def test_parse_json_override() -> None:
    parsed = parse_reason_map('{"cheating": "Cheating/Other", "AFK": "Quitting"}')
    assert parsed == {Reason.CHEATING: ReasonTarget("Cheating", "Other"),
                      Reason.AFK: ReasonTarget("Quitting", None)}


def test_parse_pairs_override() -> None:
    parsed = parse_reason_map("cheating = Cheating/Network Manipulation; teaming=Exploiting/"
                              "Exploiting Game")
    assert parsed == {
        Reason.CHEATING: ReasonTarget("Cheating", "Network Manipulation"),
        Reason.TEAMING: ReasonTarget("Exploiting", "Exploiting Game"),
    }
    assert parse_reason_map(None) == {} and parse_reason_map("  ") == {}
    assert parse_reason_map({"afk": "Inactivity/AFK"}) == {
        Reason.AFK: ReasonTarget("Inactivity", "AFK")}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('{"cheating": ', "not valid JSON"),
        ("[1, 2]", "not 'reason=Category/Reason'"),
        ('{"hacking": "Cheating/Other"}', "unknown Warden reason 'hacking'"),
        ('{"cheating": 5}', "needs a 'Category/Reason' string"),
        ('{"cheating": "/Other"}', "has no category"),
        ("cheating", "not 'reason=Category/Reason'"),
        ("cheating=Cheating;cheating=Spam", "given twice"),
    ],
)
def test_parse_errors_are_clear(raw: str, fragment: str) -> None:
    with pytest.raises(ReasonMapError) as info:
        parse_reason_map(raw)
    assert "BUNGIE_REASON_MAP" in str(info.value)
    assert fragment in str(info.value)


def test_override_is_applied_case_insensitively() -> None:
    table = snapshot_table(parse_reason_map('{"cheating": "cheating/network  manipulation"}'))
    assert table[Reason.CHEATING].reason_name == "Network Manipulation"
    assert table[Reason.CHEATING].reason_hash == 2532403339


def test_override_naming_an_unknown_category_fails_clearly() -> None:
    with pytest.raises(ReasonMapError) as info:
        snapshot_table({Reason.CHEATING: ReasonTarget("Hacks", "Other")})
    assert "'Hacks'" in str(info.value) and "Abusive Chat" in str(info.value)


def test_override_naming_an_unknown_reason_fails_clearly() -> None:
    with pytest.raises(ReasonMapError) as info:
        snapshot_table({Reason.CHEATING: ReasonTarget("Cheating", "Aimbot")})
    assert "'Aimbot'" in str(info.value) and "Hacking" in str(info.value)


def test_default_reason_missing_falls_back_to_other(caplog: pytest.LogCaptureFixture) -> None:
    renamed = [
        ReportCategory(c.hash, c.name, c.description, c.index,
                       tuple(r for r in c.reasons if r.name != "Hacking"))
        for c in snapshot_categories()
    ]
    with caplog.at_level(logging.WARNING):
        table = resolve_reason_map(renamed)
    entry = table[Reason.CHEATING]
    assert (entry.category_hash, entry.reason_hash, entry.exact) == (
        CHEATING, OTHER_REASON_HASH, False)
    assert "Hacking" in caplog.text and table.notes


def test_defaults_name_real_snapshot_entries() -> None:
    categories = {c.name: c for c in snapshot_categories()}
    for target in DEFAULT_REASON_MAP.values():
        assert target.category in categories
        assert target.reason is None or categories[target.category].reason_named(target.reason)


# ---- loading from Bungie ------------------------------------------------------------------

async def test_live_table_with_manifest_version(
    setup: tuple[BungieStandin, BungieClient]
) -> None:
    bungie, client = setup
    table = await load_reason_table(client)
    assert table.source == "live"
    assert table.manifest_version == "236192.25.08.13.2000-2"
    assert table.entries == snapshot_table().entries
    looked_up = bungie.requests_to(f"/Manifest/{REPORT_CATEGORY_ENTITY}/")
    assert len(looked_up) == 9


async def test_live_table_follows_renumbered_reasons(
    setup: tuple[BungieStandin, BungieClient]
) -> None:
    bungie, client = setup
    key = (REPORT_CATEGORY_ENTITY, INACTIVITY)
    definition = copy.deepcopy(bungie.manifest_entities[key])
    definition["reasons"]["99"] = {**definition["reasons"].pop("1310746887"), "reasonHash": 99}
    bungie.manifest_entities[key] = definition
    table = await load_reason_table(client, manifest_version="v2")
    assert table[Reason.AFK].reason_hash == 99
    assert table.manifest_version == "v2"
    # The caller already knew the version, so it is not fetched again.
    assert not [r for r in bungie.requests if r.path.endswith("/Destiny2/Manifest/")]


async def test_falls_back_to_snapshot_when_bungie_is_down(
    setup: tuple[BungieStandin, BungieClient], caplog: pytest.LogCaptureFixture
) -> None:
    bungie, client = setup
    bungie.inject("maintenance", count=100)
    with caplog.at_level(logging.WARNING):
        table = await load_reason_table(client)
    assert table.source == "snapshot" and table.manifest_version is None
    assert table.entries == snapshot_table().entries
    assert "snapshot" in caplog.text


async def test_a_removed_category_is_skipped(
    setup: tuple[BungieStandin, BungieClient]
) -> None:
    bungie, client = setup
    del bungie.manifest_entities[(REPORT_CATEGORY_ENTITY, 3542520966)]  # Spam: unused
    table = await load_reason_table(client)
    assert table.source == "live"
    assert len(table.categories) == 8


async def test_live_table_missing_a_used_category_uses_the_snapshot(
    setup: tuple[BungieStandin, BungieClient]
) -> None:
    bungie, client = setup
    del bungie.manifest_entities[(REPORT_CATEGORY_ENTITY, GRIEFING)]
    table = await load_reason_table(client)
    assert table.source == "snapshot"
    assert table[Reason.OTHER].category_hash == GRIEFING


async def test_a_bad_override_is_raised_not_hidden(
    setup: tuple[BungieStandin, BungieClient]
) -> None:
    _, client = setup
    with pytest.raises(ReasonMapError):
        await load_reason_table(client, overrides={Reason.AFK: ReasonTarget("Idle", None)})
