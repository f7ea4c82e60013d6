"""The input checks: what members type, as the APIs define it."""

from __future__ import annotations

import math
from uuid import UUID

import pytest

from bot.domain import ReportLimits
from bot.errors import InvalidInput
from bot.i18n import localize
from bot.services.reporting.typed_input import (
    ActivityRef,
    clean_description,
    custom_value,
    limit_message,
    parse_activity,
    parse_member,
    parse_uuid,
    shown,
)
from bot.store.reports import LimitHit
from tests.i18n.fake_catalogs import translated


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


@pytest.mark.parametrize(("seconds", "english", "german"), [
    (0.2, "1 second", "1 Sekunde"), (29.5, "30 seconds", "30 Sekunden"),
    (60, "1 minute", "1 Minute"), (61, "1 minute, 1 second", "1 Minute, 1 Sekunde"),
    (3600, "1 hour", "1 Stunde"),
    (3660, "1 hour, 1 minute", "1 Stunde, 1 Minute"), (86400, "1 day", "1 Tag"),
])
def test_limit_waits_round_up_in_the_readers_language(seconds: float, english: str,
                                                      german: str) -> None:
    """The wait is whole units, rounded up (never shorter than it is, never 0), in the
    language the member reads; the time is a Discord timestamp (their own time zone)."""
    limits = ReportLimits(hour_count=5)
    message = limit_message(LimitHit("hour", 1000 + seconds), limits, 1000.0)
    at = f"<t:{math.ceil(1000 + seconds)}:t>"
    assert message == (f"This server allows 5 reports per hour. You can report again in "
                       f"{english} (at {at}).")
    with translated("de", {"This server allows {count} reports per hour. You can report "
                           "again in {wait} (at {at}).":
                           "Dieser Server erlaubt {count} Meldungen pro Stunde. Du kannst "
                           "in {wait} wieder melden (um {at})."}):
        assert localize(message, "de") == (f"Dieser Server erlaubt 5 Meldungen pro Stunde. "
                                           f"Du kannst in {german} wieder melden (um {at}).")


def test_every_limit_says_which_and_when() -> None:
    limits = ReportLimits(short_count=1, short_seconds=30, day_count=20,
                          target_cooldown_hours=24)
    assert limit_message(LimitHit("short", 1030.0), limits, 1000.0) == (
        "This server allows 1 report every 30 seconds. You can report again in 30 seconds "
        "(at <t:1030:t>).")
    assert limit_message(LimitHit("day", 1000.0 + 7200), limits, 1000.0).startswith(
        "This server allows 20 reports per day. You can report again in 2 hours")
    assert limit_message(LimitHit("target_cooldown", 1060.0), limits, 1000.0).startswith(
        "You already reported this player in the last 1 day.")
    assert "One report per player and activity" in limit_message(
        LimitHit("target_activity", None), limits, 1000.0)
