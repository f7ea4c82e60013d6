"""The input checks: what members type, as the APIs define it."""

from __future__ import annotations

from uuid import UUID

import pytest

from bot.errors import InvalidInput
from bot.services.reporting.typed_input import (
    ActivityRef,
    clean_description,
    custom_value,
    duration_text,
    parse_activity,
    parse_member,
    parse_uuid,
    shown,
)


@pytest.mark.parametrize(("typed", "expected"), [
    ("14012345678", ActivityRef(activity_id=14012345678)),
    ("  14012345678 ", ActivityRef(activity_id=14012345678)),
    ("https://destinytracker.com/destiny-2/pgcr/14012345678", ActivityRef(14012345678)),
    ("https://www.bungie.net/en/PGCR/14012345678/?character=1", ActivityRef(14012345678)),
    ("match-7f3a:2", ActivityRef(match_id="match-7f3a:2")),
    ("", ActivityRef()),
    (None, ActivityRef()),
])
def test_activities_and_match_ids(typed: str | None, expected: ActivityRef) -> None:
    assert parse_activity(typed) == expected


@pytest.mark.parametrize("typed", ["0", str(2**63), "two words", "x" * 129, "<@1>"])
def test_bad_activities(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_activity(typed)


def test_uuids_and_members() -> None:
    uuid = UUID("12345678-1234-5678-1234-567812345678")
    assert parse_uuid(str(uuid)) == uuid
    assert parse_uuid(uuid.hex.upper()) == uuid
    assert parse_uuid("Guardian#1234") is None
    assert parse_member("<@123456789012345678>") == 123456789012345678
    assert parse_member("<@!42>") == 42
    assert parse_member("member:42") == 42
    assert parse_member("@everyone") is None


def test_descriptions_follow_the_api_limits() -> None:
    assert clean_description("   ") is None
    assert clean_description(" hi ") == "hi"
    assert clean_description("x" * 4096) == "x" * 4096
    with pytest.raises(InvalidInput, match="4097 characters long; the limit is 4096"):
        clean_description("x" * 4097)
    assert len(custom_value("y" * 5000)) == 4096
    assert custom_value("") == "-"


def test_echoes_are_one_safe_line() -> None:
    assert shown("a`b\n**c**") == "`aˋb **c**`"
    assert shown("x" * 100) == "`" + "x" * 63 + "…`"


@pytest.mark.parametrize(("seconds", "text"), [
    (0.2, "1 second"), (29.5, "30 seconds"), (60, "1 minute"), (61, "2 minutes"),
    (3600, "1 hour"), (3660, "1 hour 1 minute"), (86400, "24 hours"),
])
def test_durations_round_up(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
