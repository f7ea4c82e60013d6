"""Finding players in a PGCR, Bungie names, and the hand-off link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.apis.bungie.models import Pgcr
from bot.apis.bungie.pgcr import (
    DEFAULT_HANDOFF_TEMPLATE,
    character_id_of,
    find_entry,
    handoff_url,
    has_player,
    parse_bungie_name,
)
from bot.settings import Settings


def entry(mid: int, cid: int, name: str, code: int | None) -> dict[str, Any]:
    # Ids as strings, the way Bungie sends them.
    return {
        "characterId": str(cid),
        "player": {"destinyUserInfo": {
            "membershipId": str(mid), "membershipType": 3, "displayName": name,
            "bungieGlobalDisplayName": name, "bungieGlobalDisplayNameCode": code,
        }},
    }


PGCR = Pgcr.model_validate({
    "period": "2025-01-02T03:04:05Z",
    "activityDetails": {"instanceId": "14000000001", "mode": 84, "directorActivityHash": 7,
                        "referenceId": 7},
    "entries": [
        entry(4611686018400000001, 2305843009300000001, "Alice", 1234),
        entry(4611686018400000002, 2305843009300000002, "Bob", 42),
        entry(4611686018400000003, 2305843009300000003, "Twin", 1),
        entry(4611686018400000004, 2305843009300000004, "Twin", 2),
    ],
})


def test_ids_arrive_as_ints() -> None:
    assert PGCR.activity_id == 14000000001
    assert PGCR.period == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert PGCR.entries[0].character_id == 2305843009300000001
    assert PGCR.entries[0].membership_id == 4611686018400000001


def test_find_by_membership_id() -> None:
    found = find_entry(PGCR, membership_id=4611686018400000002)
    assert found is not None and found.character_id == 2305843009300000002
    assert find_entry(PGCR, membership_id=1) is None
    assert has_player(PGCR, 4611686018400000001)
    assert not has_player(PGCR, 5)
    assert character_id_of(PGCR, 4611686018400000001) == 2305843009300000001
    assert character_id_of(PGCR, 5) is None


def test_find_by_bungie_name() -> None:
    found = find_entry(PGCR, bungie_name="bob", code=42)
    assert found is not None and found.bungie_name == "Bob#0042"
    assert find_entry(PGCR, bungie_name="Bob", code=43) is None
    assert find_entry(PGCR, bungie_name="Bob") is not None  # unique without its code
    assert find_entry(PGCR, bungie_name="Twin") is None  # ambiguous without its code
    twin = find_entry(PGCR, bungie_name="Twin", code=2)
    assert twin is not None and twin.membership_id == 4611686018400000004
    assert find_entry(PGCR) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Guardian#1234", ("Guardian", 1234)),
        ("Guardian#0042", ("Guardian", 42)),
        ("  Space  Name # 7 ", ("Space Name", 7)),
        ("ÜnicodeGuy#9999", ("ÜnicodeGuy", 9999)),
    ],
)
def test_parse_bungie_name(text: str, expected: tuple[str, int]) -> None:
    assert parse_bungie_name(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "needed"),
        ("Guardian", "has no #code"),
        ("Guardian#", "not a Bungie name"),
        ("#1234", "not a Bungie name"),
        ("Guardian#12345", "not a Bungie name"),
        ("Guardian#12a4", "not a Bungie name"),
        ("Gu#ard#1234", "not a Bungie name"),
    ],
)
def test_parse_bungie_name_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_bungie_name(text)
    assert fragment in str(info.value)
    assert "Guardian#1234" in str(info.value) or fragment == "needed"


def test_handoff_url() -> None:
    assert handoff_url(DEFAULT_HANDOFF_TEMPLATE, 14000000001, 2305843009300000002) == (
        "https://www.bungie.net/en/PGCR/Report/14000000001/?characterId=2305843009300000002")
    default = Settings.model_fields["bungie_handoff_url_template"].default
    assert default == DEFAULT_HANDOFF_TEMPLATE
    with pytest.raises(ValueError) as info:
        handoff_url("https://x/{activity}/", 1, 2)
    assert "{activity_id}" in str(info.value)
